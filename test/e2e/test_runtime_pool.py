"""The runtime's thread pool on its own: pool_stress.c runs thousands of
parallel regions against context.c, with more threads than cores and
pauses that put the workers to sleep, and checks that each index runs
exactly once and that no call returns before its chunks are done;
pool_affinity.c checks where the workers may run."""
import subprocess

import pytest

from conftest import ROOT

SRC = ROOT / "runtime" / "src"


@pytest.mark.parametrize("sanitizer, regions", [(None, 40000), ("thread", 4000)])
def test_thread_pool_runs_every_chunk_once(tmp_path, sanitizer, regions):
    exe = tmp_path / "pool"
    flags = [f"-fsanitize={sanitizer}", "-g"] if sanitizer else []
    subprocess.run(["clang-19", "-std=gnu99", "-O2", "-Wall", "-Wextra", "-Werror", *flags,
                    f"-I{SRC}", ROOT / "test/e2e/pool_stress.c", SRC / "context.c", "-pthread",
                    "-o", exe], check=True)
    proc = subprocess.run([exe, str(regions)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == f"ok {regions}"
    assert "WARNING: ThreadSanitizer" not in proc.stderr


def test_workers_are_pinned_only_when_threads_fit(tmp_path):
    exe = tmp_path / "affinity"
    subprocess.run(["clang-19", "-std=gnu99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{SRC}",
                    ROOT / "test/e2e/pool_affinity.c", SRC / "context.c", "-pthread", "-o", exe],
                   check=True)
    proc = subprocess.run([exe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok "), proc.stdout
    # Restricted to one CPU, two threads oversubscribe it: no pinning, and
    # every worker still runs.
    proc = subprocess.run(["taskset", "-c", "0", exe], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "ok 0 2"
