"""arm64 artifacts, cross-compiled and run under qemu-user: the same model
compiled for x86-64 and for arm64 CPUs with and without dotprod/i8mm gives
the same outputs, and both match onnxruntime."""
import shutil
import subprocess

import numpy as np
import onnxruntime as ort
import pytest

from conftest import ROOT
from qcc.models import llama

pytestmark = pytest.mark.skipif(
    not (shutil.which("aarch64-linux-gnu-gcc") and shutil.which("qemu-aarch64")),
    reason="aarch64 cross toolchain and qemu-user are installed by scripts/setup.sh")

SYSROOT = "/usr/aarch64-linux-gnu"


def _run_raw(exe, feeds, order, workdir, prefix_cmd=()):
    args = [str(workdir)]
    for i, name in enumerate(order):
        arr = np.ascontiguousarray(feeds[name])
        path = workdir / f"in{i}.bin"
        arr.tofile(path)
        args += [str(path), str(arr.ndim), *map(str, arr.shape)]
    res = subprocess.run([*prefix_cmd, str(exe), *args], check=True, capture_output=True, text=True)
    outs = []
    for line in res.stdout.splitlines():
        idx, *shape = map(int, line.split())
        outs.append(np.fromfile(workdir / f"out{idx}.bin", np.float32).reshape(shape))
    return outs


def run_on_arm64(qcc_bin, src, out, name, flags, cpu, feeds):
    """Compiles `src` for arm64 `cpu` into `out` as `name` (lib<name>.a),
    links the raw runner against it and runs it under qemu on `feeds` (in
    their order): the outputs."""
    subprocess.run([str(qcc_bin), str(src), "-o", str(out / name), f"--name={name}", *flags,
                    "--target=arm64", f"--cpu={cpu}"], check=True, capture_output=True)
    exe = out / f"run_{name}"
    subprocess.run(["aarch64-linux-gnu-gcc", "-std=c99", "-O2", f"-DMODEL={name}", f"-I{out}",
                    str(ROOT / "test/e2e/raw_runner.c"), str(out / f"lib{name}.a"), "-lm",
                    "-o", str(exe)], check=True)
    return _run_raw(exe, feeds, list(feeds), out, ["qemu-aarch64", "-cpu", "max", "-L", SYSROOT])


def _artifact(qcc_bin, src, out, *target):
    subprocess.run([str(qcc_bin), str(src), "-o", str(out / "llama"), "--name=llama", *target],
                   check=True)
    return out


@pytest.mark.parametrize("cpu", ["generic", "neoverse-n1", "neoverse-v1"])
def test_arm64_matches_x86_and_onnxruntime(qcc_bin, tmp_path, cpu):
    cfg = llama.SIZES["small"]
    src = tmp_path / "llama.onnx"
    llama.build(str(src), cfg)
    rng = np.random.default_rng(8)
    feeds = llama.feeds(cfg, rng.integers(0, cfg.vocab, (2, 6)), llama.empty_past(cfg, 2))
    order = list(feeds)

    x86 = _artifact(qcc_bin, src, tmp_path / "x86")
    x86_exe = tmp_path / "run_x86"
    subprocess.run(["clang-19", "-std=c99", "-DMODEL=llama", f"-I{x86}", str(ROOT / "test/e2e/raw_runner.c"),
                    str(x86 / "libllama.a"), "-lm", "-fuse-ld=lld", "-o", str(x86_exe)], check=True)
    (tmp_path / "x86out").mkdir()
    got_x86 = _run_raw(x86_exe, feeds, order, tmp_path / "x86out")

    got_arm = run_on_arm64(qcc_bin, src, tmp_path / "arm", "llama", [], cpu, feeds)

    want = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, feeds)
    assert len(got_arm) == len(got_x86) == len(want)
    for a, x, w in zip(got_arm, got_x86, want):
        np.testing.assert_allclose(a, x, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(a, w, rtol=1e-4, atol=1e-4)
