"""Compiled float models against onnxruntime: qcc --emit=obj, linked and run
through the C interface, with the same inputs as an onnxruntime session."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from compiled import CompiledModel
from qcc.models import llama, minilm


def ort_run(path, feeds):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def compare(qcc_bin, tmp_path, path, feeds, rtol=1e-4, atol=1e-5):
    got = CompiledModel(qcc_bin, path, tmp_path)(feeds)
    want = ort_run(path, feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
    return got


def test_mlp(qcc_bin, tmp_path):
    rng = np.random.default_rng(0)
    inits = [nh.from_array(rng.standard_normal((8, 16)).astype(np.float32), "w1"),
             nh.from_array(rng.standard_normal(16).astype(np.float32), "b1"),
             nh.from_array(rng.standard_normal((16, 4)).astype(np.float32), "w2"),
             nh.from_array(np.ones(16, np.float32), "g")]
    nodes = [h.make_node("MatMul", ["x", "w1"], ["a"]), h.make_node("Add", ["a", "b1"], ["b"]),
             h.make_node("LayerNormalization", ["b", "g"], ["c"]), h.make_node("Gelu", ["c"], ["d"]),
             h.make_node("MatMul", ["d", "w2"], ["e"]), h.make_node("Softmax", ["e"], ["y"])]
    m = h.make_model(h.make_graph(nodes, "mlp", [h.make_tensor_value_info("x", T.FLOAT, ["n", 8])],
                                  [h.make_tensor_value_info("y", T.FLOAT, None)], inits),
                     opset_imports=[h.make_opsetid("", 20)])
    path = tmp_path / "mlp.onnx"
    onnx.save(m, path)
    for n in (1, 5):
        compare(qcc_bin, tmp_path, path, {"x": rng.standard_normal((n, 8)).astype(np.float32)})


def test_minilm(qcc_bin, tmp_path):
    path = tmp_path / "minilm.onnx"
    minilm.build(str(path))
    ids, mask = minilm.Tokenizer().batch(["A man is playing a guitar.", "Compilers are fun."])
    compare(qcc_bin, tmp_path, path, {"input_ids": ids, "attention_mask": mask,
                                      "token_type_ids": np.zeros_like(ids)}, rtol=1e-3, atol=2e-4)


def test_llama_prefill_and_decode(qcc_bin, tmp_path):
    cfg = llama.SIZES["tiny"]
    path = tmp_path / "llama.onnx"
    llama.build(str(path), cfg)
    model = CompiledModel(qcc_bin, path, tmp_path)
    rng = np.random.default_rng(3)
    ids = rng.integers(0, cfg.vocab, (1, 7))
    past = llama.empty_past(cfg, 1)
    for step in range(3):
        feeds = llama.feeds(cfg, ids, past)
        got = model(feeds)
        want = ort_run(path, feeds)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-4)
        past = [(got[1 + 2 * i], got[2 + 2 * i]) for i in range(cfg.layers)]
        ids = got[0][:, -1:].argmax(-1)
