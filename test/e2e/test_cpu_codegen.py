"""Compiled float models against onnxruntime: qcc artifacts run
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


def _single(tmp_path, nodes, inputs, outputs, inits=(), opset=20, ms=False):
    opsets = [h.make_opsetid("", opset)] + ([h.make_opsetid("com.microsoft", 1)] if ms else [])
    m = h.make_model(h.make_graph(nodes, "t", inputs, outputs, list(inits)), opset_imports=opsets)
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    return path


def test_multihead_attention_causal(qcc_bin, tmp_path):
    rng = np.random.default_rng(4)
    node = h.make_node("MultiHeadAttention", ["q", "k", "v"], ["y"], domain="com.microsoft",
                       num_heads=4, unidirectional=1)
    vis = [h.make_tensor_value_info(n, T.FLOAT, ["b", "s", 32]) for n in "qkv"]
    path = _single(tmp_path, [node], vis, [h.make_tensor_value_info("y", T.FLOAT, None)], ms=True)
    feeds = {n: rng.standard_normal((2, 5, 32)).astype(np.float32) for n in "qkv"}
    compare(qcc_bin, tmp_path, path, feeds)


def test_rotary_embedding(qcc_bin, tmp_path):
    rng = np.random.default_rng(5)
    for interleaved in (0, 1):
        node = h.make_node("RotaryEmbedding", ["x", "cos", "sin", "pos"], ["y"], interleaved=interleaved)
        inits = [nh.from_array(rng.standard_normal((16, 4)).astype(np.float32), "cos"),
                 nh.from_array(rng.standard_normal((16, 4)).astype(np.float32), "sin")]
        path = _single(tmp_path, [node], [h.make_tensor_value_info("x", T.FLOAT, [2, 3, 5, 8]),
                                          h.make_tensor_value_info("pos", T.INT64, [2, 5])],
                       [h.make_tensor_value_info("y", T.FLOAT, None)], inits, opset=23)
        feeds = {"x": rng.standard_normal((2, 3, 5, 8)).astype(np.float32),
                 "pos": rng.integers(0, 16, (2, 5))}
        compare(qcc_bin, tmp_path, path, feeds)


@pytest.mark.parametrize("exclusive,reverse", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_cumsum_trilu(qcc_bin, tmp_path, exclusive, reverse):
    rng = np.random.default_rng(6)
    nodes = [h.make_node("CumSum", ["x", "ax"], ["c"], exclusive=exclusive, reverse=reverse),
             h.make_node("Trilu", ["c", "k"], ["y"], upper=exclusive)]
    path = _single(tmp_path, nodes, [h.make_tensor_value_info("x", T.FLOAT, [3, 6])],
                   [h.make_tensor_value_info("y", T.FLOAT, None)],
                   [nh.from_array(np.int64(1), "ax"), nh.from_array(np.int64(reverse - 1), "k")])
    compare(qcc_bin, tmp_path, path, {"x": rng.standard_normal((3, 6)).astype(np.float32)})


def test_minilm_ort_fused_attention(qcc_bin, tmp_path):
    """The onnxruntime-optimized encoder (com.microsoft Attention with a
    key-length mask_index, SkipLayerNormalization, BiasGelu) computes what
    onnxruntime computes, padding included."""
    from onnxruntime.transformers import optimizer
    src = tmp_path / "minilm.onnx"
    minilm.build(str(src))
    opt = optimizer.optimize_model(str(src), model_type="bert", num_heads=12, hidden_size=384,
                                   opt_level=0)
    path = tmp_path / "minilm_opt.onnx"
    opt.save_model_to_file(str(path))
    ids, mask = minilm.Tokenizer().batch(["A short one.", "A somewhat longer sentence with padding."])
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    got = CompiledModel(qcc_bin, path, tmp_path)(feeds)
    want = ort_run(path, feeds)
    real = mask.astype(bool)
    np.testing.assert_allclose(got[0][real], want[0][real], rtol=1e-3, atol=2e-4)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-3, atol=2e-5)
