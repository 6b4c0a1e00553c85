"""Calibration (--calib) and GPTQ: the float model runs on every sample
through qcc's own CPU path; the statistics feed GPTQ and the per-layer output
SQNR of the report."""
import json
import subprocess

import numpy as np
import pytest

from compiled import CompiledModel
from qcc.models import minilm
from test_quantize import SENTENCES, two_layer_model

CALIB_SENTENCES = [
    "The weather was pleasant for a walk by the river.", "He fixed the bicycle's chain.",
    "Neural networks learn from examples.", "The museum opens at nine in the morning.",
    "A dog chased the ball across the park.", "They argued about the best pizza in town.",
    "The train to Berlin was delayed by an hour.", "Fresh bread smells wonderful.",
    "The committee approved the new budget.", "Stars are visible far from city lights.",
    "She practices the violin every evening.", "The recipe needs two eggs and some flour.",
    "Rain is expected over the weekend.", "The software update fixed several bugs.",
    "Children played in the snow all day.", "The lecture covered linear algebra.",
]


def write_npz_samples(directory, sentences):
    directory.mkdir()
    tok = minilm.Tokenizer()
    for i, s in enumerate(sentences):
        ids, mask = tok.batch([s])
        np.savez(directory / f"sample{i:03d}.npz", input_ids=ids, attention_mask=mask,
                 token_type_ids=np.zeros_like(ids))


def cosines(emb, ref):
    return np.sum(emb * ref, -1) / (np.linalg.norm(emb, axis=-1) * np.linalg.norm(ref, axis=-1))


def test_minilm_gptq_beats_rtn(qcc_bin, tmp_path):
    """On every MiniLM linear, GPTQ's layer-output SQNR over the calibration
    inputs is above round-to-nearest's for the same scheme; the embeddings
    of held-out sentences move less."""
    path = tmp_path / "minilm.onnx"
    minilm.build(str(path))
    calib = tmp_path / "calib"
    write_npz_samples(calib, CALIB_SENTENCES)
    ids, mask = minilm.Tokenizer().batch(SENTENCES)
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    ref = CompiledModel(qcc_bin, path, tmp_path)(feeds)[1]
    scheme = ["--w4a16", "--group=128", "--asym"]
    results = {}
    for algo in ("rtn", "gptq"):
        report = tmp_path / f"{algo}.json"
        flags = scheme + [f"--algo={algo}", f"--calib={calib}", f"--report={report}"]
        emb = CompiledModel(qcc_bin, path, tmp_path, extra_args=flags)(feeds)[1]
        layers = json.loads(report.read_text())["layers"]
        results[algo] = ({l["layer"]: l["output_sqnr_db"] for l in layers}, cosines(emb, ref))
    rtn, gptq = results["rtn"][0], results["gptq"][0]
    assert rtn.keys() == gptq.keys() and len(rtn) == 36
    worse = [name for name in rtn if gptq[name] <= rtn[name]]
    print(f"MiniLM w4a16 g128 asym output SQNR dB: rtn mean {np.mean(list(rtn.values())):.2f}, "
          f"gptq mean {np.mean(list(gptq.values())):.2f}; cosine rtn "
          f"{results['rtn'][1].mean():.5f}, gptq {results['gptq'][1].mean():.5f}")
    assert not worse, worse
    assert results["gptq"][1].mean() > results["rtn"][1].mean()


def test_calibration_formats(qcc_bin, tmp_path):
    """Sample directories of .npy files and a list file give the same
    statistics as .npz samples."""
    rng = np.random.default_rng(8)
    path = tmp_path / "two.onnx"
    two_layer_model(path, rng)
    xs = [rng.standard_normal((4, 64)).astype(np.float32) for _ in range(3)]
    npz = tmp_path / "npz"
    npz.mkdir()
    dirs = tmp_path / "dirs"
    for i, x in enumerate(xs):
        np.savez(npz / f"s{i}.npz", x=x)
        (dirs / f"s{i}").mkdir(parents=True)
        np.save(dirs / f"s{i}" / "x.npy", x)
    (tmp_path / "list.txt").write_text("".join(f"dirs/s{i}\n" for i in range(3)))
    reports = []
    for calib in (npz, dirs, tmp_path / "list.txt"):
        report = tmp_path / "r.json"
        proc = subprocess.run([str(qcc_bin), str(path), "--w4a8", "--algo=gptq", f"--calib={calib}",
                               f"--report={report}", "-o", str(tmp_path / "m")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert "calibrated on 3 samples" in proc.stdout
        reports.append(json.loads(report.read_text())["layers"])
    assert reports[0] == reports[1] == reports[2]
    assert all(l["output_sqnr_db"] > 10 for l in reports[0])


@pytest.mark.parametrize("setup,message", [
    ("empty", "has no samples"),
    ("dtype", "input 'x': got float64 of rank 2, the model takes float32 of rank 2"),
    ("missing", "has no array for input 'x'"),
    ("extra", "has an array 'y' that is not a model input"),
    ("compressed", "is compressed; write calibration samples with numpy.savez"),
    ("notnpy", "is not a .npy file"),
])
def test_calibration_errors(qcc_bin, tmp_path, setup, message):
    path = tmp_path / "two.onnx"
    two_layer_model(path, np.random.default_rng(0))
    calib = tmp_path / "calib"
    calib.mkdir()
    x = np.ones((2, 64), np.float32)
    if setup == "dtype":
        np.savez(calib / "a.npz", x=x.astype(np.float64))
    elif setup == "missing":
        np.savez(calib / "a.npz", z=x)
    elif setup == "extra":
        np.savez(calib / "a.npz", x=x, y=x)
    elif setup == "compressed":
        np.savez_compressed(calib / "a.npz", x=x)
    elif setup == "notnpy":
        (calib / "a").mkdir()
        (calib / "a" / "x.npy").write_text("hello")
    proc = subprocess.run([str(qcc_bin), str(path), "--w8a8", f"--calib={calib}", "-o",
                           str(tmp_path / "m")], capture_output=True, text=True)
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr


def test_gptq_needs_calibration(qcc_bin, tmp_path):
    path = tmp_path / "two.onnx"
    two_layer_model(path, np.random.default_rng(0))
    proc = subprocess.run([str(qcc_bin), str(path), "--w4a8", "--algo=gptq", "-o",
                           str(tmp_path / "m")], capture_output=True, text=True)
    assert proc.returncode == 1 and "--algo=gptq needs calibration data (--calib)" in proc.stderr
