"""Shared fixtures: where the built tools are."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("QCC_BUILD", ROOT / "build")).resolve()


@pytest.fixture(scope="session")
def qcc_bin():
    path = BUILD / "bin" / "qcc"
    assert path.exists(), f"{path} not built; run scripts/setup.sh"
    return path


def run_qcc(qcc_bin, *args, check=True):
    proc = subprocess.run([str(qcc_bin), *map(str, args)], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"qcc {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc


def op_counts(mlir_text):
    """Occurrences of each qcc op in printed IR."""
    import collections
    import re
    return collections.Counter(re.findall(r"= (qcc\.[a-z_]+)\b", mlir_text)
                               + re.findall(r"^\s+(qcc\.[a-z_]+)\b", mlir_text, re.M))


def import_model(qcc_bin, path, *extra):
    return run_qcc(qcc_bin, path, "--emit=mlir", *extra).stdout
