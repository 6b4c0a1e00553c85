"""Whole-model tests: the project's model exports are checked against their
numpy reference with onnxruntime, then imported by qcc (op counts, shapes),
as are onnxruntime-quantized variants of them."""
import re
import subprocess

import numpy as np
import onnxruntime as ort
import pytest

from compiled import CompiledModel
from conftest import import_model, op_counts
from qcc.models import llama, minilm

SENTENCES = [
    "A man is playing a guitar on stage.",
    "Someone performs music with a guitar.",
    "The stock market fell sharply today.",
    "Quantized kernels make transformer inference faster on CPUs.",
]


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def signature(mlir_text):
    return re.search(r"func\.func @main\((.*)\) -> \((.*)\) \{", mlir_text).groups()


@pytest.fixture(scope="module")
def minilm_weights():
    return minilm.load_weights()


@pytest.fixture(scope="module")
def minilm_onnx(tmp_path_factory, minilm_weights):
    path = tmp_path_factory.mktemp("minilm") / "minilm.onnx"
    minilm.build(str(path), weights=minilm_weights)
    return path


def test_minilm_export_matches_numpy_reference(minilm_onnx, minilm_weights):
    ids, mask = minilm.Tokenizer().batch(SENTENCES)
    hidden, emb = session(minilm_onnx).run(None, {"input_ids": ids, "attention_mask": mask,
                                                  "token_type_ids": np.zeros_like(ids)})
    ref_hidden, ref_emb = minilm.reference(minilm_weights, ids, mask)
    real = mask.astype(bool)
    np.testing.assert_allclose(hidden[real], ref_hidden[real], atol=2e-4)
    np.testing.assert_allclose(emb, ref_emb, atol=2e-5)
    # The real weights make real embeddings: paraphrases are closer than
    # unrelated sentences.
    sims = emb @ emb.T
    assert sims[0, 1] > 0.5 > sims[0, 2]


def test_minilm_import(qcc_bin, minilm_onnx):
    text = import_model(qcc_bin, minilm_onnx)
    ops = op_counts(text)
    # 6 layers x (4 attention linears + 2 FFN) + 2 attention matmuls each.
    assert ops["qcc.matmul"] == 48
    assert ops["qcc.layer_norm"] == 13  # embeddings + 2 per layer
    assert ops["qcc.softmax"] == 6
    assert ops["qcc.gelu"] == 6  # Erf form fused by qcc-fuse-activations
    assert ops["qcc.gather"] == 3  # word, type and position embeddings
    args, results = signature(text)
    assert args.count("tensor<?x?xi64>") == 3 and 'qcc.dims = ["batch", "seq"]' in args
    assert "tensor<?x?x384xf32>" in results and "tensor<?x384xf32>" in results


def test_minilm_import_external_data(qcc_bin, tmp_path, minilm_weights, minilm_onnx):
    path = tmp_path / "ext.onnx"
    minilm.build(str(path), external_data=True, weights=minilm_weights)
    assert (tmp_path / "ext.onnx.data").stat().st_size > 80_000_000
    assert path.stat().st_size < 1_000_000
    assert op_counts(import_model(qcc_bin, path)) == op_counts(import_model(qcc_bin, minilm_onnx))


def test_minilm_ort_optimized_import(qcc_bin, tmp_path, minilm_onnx):
    """onnxruntime's transformer optimizer rewrites the encoder with
    com.microsoft Attention (one QKV projection, mask_index from the padding
    mask), SkipLayerNormalization and BiasGelu; qcc imports all of them."""
    from onnxruntime.transformers import optimizer
    opt = optimizer.optimize_model(str(minilm_onnx), model_type="bert", num_heads=12,
                                   hidden_size=384, opt_level=0)
    fused = {n.op_type for n in opt.model.graph.node if n.domain == "com.microsoft"}
    assert {"Attention", "SkipLayerNormalization", "BiasGelu"} <= fused
    path = tmp_path / "minilm_opt.onnx"
    opt.save_model_to_file(str(path))
    ops = op_counts(import_model(qcc_bin, path))
    assert ops["qcc.attention"] == 6
    assert ops["qcc.matmul"] == 6 * 4  # fused QKV, output, 2 FFN per layer
    assert ops["qcc.layer_norm"] == 13 and ops["qcc.gelu"] == 6


@pytest.mark.parametrize("size", sorted(llama.SIZES))
def test_llama_export_matches_numpy_reference(tmp_path, size):
    cfg = llama.SIZES[size]
    w = llama.make_weights(cfg)
    path = tmp_path / "llama.onnx"
    llama.build(str(path), cfg, w)
    sess = session(path)
    rng = np.random.default_rng(1)
    ids = rng.integers(0, cfg.vocab, (2, 5))
    past = llama.empty_past(cfg, 2)
    # Prefill, then two single-token decode steps through the KV cache.
    for step in range(3):
        out = sess.run(None, llama.feeds(cfg, ids, past))
        ref_logits, ref_past = llama.reference(cfg, w, ids, past)
        np.testing.assert_allclose(out[0], ref_logits, rtol=1e-4, atol=1e-4)
        past = [(out[1 + 2 * i], out[2 + 2 * i]) for i in range(cfg.layers)]
        for (k, v), (rk, rv) in zip(past, ref_past):
            np.testing.assert_allclose(k, rk, atol=1e-4)
            np.testing.assert_allclose(v, rv, atol=1e-4)
        ids = out[0][:, -1:].argmax(-1)


@pytest.mark.parametrize("size", sorted(llama.SIZES))
def test_llama_import(qcc_bin, tmp_path, size):
    cfg = llama.SIZES[size]
    path = tmp_path / "llama.onnx"
    llama.build(str(path), cfg)
    text = import_model(qcc_bin, path)
    ops = op_counts(text)
    assert ops["qcc.matmul"] == cfg.layers * 9 + 1  # 7 linears + 2 attention, lm_head
    assert ops["qcc.rms_norm"] == 2 * cfg.layers + 1
    assert ops["qcc.silu"] == cfg.layers
    assert ops["qcc.softmax"] == cfg.layers
    assert ops["qcc.concat"] >= 2 * cfg.layers  # KV cache appends
    args, results = signature(text)
    kv = f"tensor<?x{cfg.kv_heads}x?x{cfg.head_dim}xf32>"
    assert args.count(kv) == 2 * cfg.layers
    assert results.count(kv) == 2 * cfg.layers
    assert f"tensor<?x?x{cfg.vocab}xf32>" in results


# onnxruntime-quantized variants --------------------------------------------

class _Calib:
    def __init__(self, batches):
        self.it = iter(batches)

    def get_next(self):
        return next(self.it, None)


def _quantize(kind, src, dst, calib):
    from onnxruntime.quantization import (QuantFormat, QuantType, quantize_dynamic,
                                          quantize_static)
    if kind == "dynamic":
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
    elif kind == "qdq":
        quantize_static(str(src), str(dst), _Calib(calib), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        per_channel=True)
    else:
        import onnx
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
        q = MatMulNBitsQuantizer(onnx.load(str(src)), bits=4, block_size=32, is_symmetric=True,
                                 accuracy_level=4)
        q.process()
        q.model.save_model_to_file(str(dst), use_external_data_format=False)


def _check_quantized(kind, text, weight_matmuls):
    ops = op_counts(text)
    if kind == "dynamic":
        assert ops["qcc.qmatmul"] == weight_matmuls
        assert ops["qcc.dynamic_quantize"] >= 1
    elif kind == "qdq":
        # Every weight of a linear layer arrives as an int8 per-channel dequantize.
        assert len(re.findall(r"qcc\.dequantize <s8, per_axis\(1\)>", text)) == weight_matmuls
        assert ops["qcc.quantize"] >= weight_matmuls
    else:
        assert len(re.findall(r"qcc\.qlinear .*weight_params = #qcc.qparams<s4, per_group\(0, 32\)>",
                              text)) == weight_matmuls


@pytest.mark.parametrize("kind", ["dynamic", "qdq", "nbits"])
def test_minilm_quantized_import(qcc_bin, tmp_path, minilm_onnx, kind):
    ids, mask = minilm.Tokenizer().batch(SENTENCES[:2])
    calib = [{"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}]
    dst = tmp_path / f"minilm_{kind}.onnx"
    _quantize(kind, minilm_onnx, dst, calib)
    _check_quantized(kind, import_model(qcc_bin, dst), weight_matmuls=36)


@pytest.mark.parametrize("kind", ["dynamic", "qdq", "nbits"])
def test_llama_quantized_import(qcc_bin, tmp_path, kind):
    cfg = llama.SIZES["small"]
    src = tmp_path / "llama.onnx"
    llama.build(str(src), cfg)
    ids = np.random.default_rng(2).integers(0, cfg.vocab, (1, 6))
    calib = [llama.feeds(cfg, ids, llama.empty_past(cfg, 1))]
    dst = tmp_path / f"llama_{kind}.onnx"
    _quantize(kind, src, dst, calib)
    _check_quantized(kind, import_model(qcc_bin, dst), weight_matmuls=cfg.layers * 7 + 1)


def _kernel_calls(qcc_bin, path, fn):
    llvm = subprocess.run([str(qcc_bin), str(path), "--emit=llvm-dialect"], capture_output=True,
                          text=True, check=True).stdout
    return len(re.findall(rf"llvm\.call @{fn}\(", llvm))


def _against_onnxruntime(qcc_bin, tmp_path, path, feeds):
    """The MiniLM embeddings of the valid tokens from qcc's artifact and
    from onnxruntime, and their cosines per token."""
    valid = feeds["attention_mask"].astype(bool)
    got = CompiledModel(qcc_bin, path, tmp_path)(feeds)[0][valid]
    want = session(path).run(None, feeds)[0][valid]
    cos = (got * want).sum(-1) / np.linalg.norm(got, axis=-1) / np.linalg.norm(want, axis=-1)
    return got, want, cos


def test_minilm_dynamic_int8_compiles_and_matches_onnxruntime(qcc_bin, tmp_path, minilm_onnx):
    """onnxruntime's dynamically quantized MiniLM (DynamicQuantizeLinear +
    MatMulInteger, s8 weights) compiled as it is: the integer matmuls run on
    the int8 kernel, exact in int32 as the ONNX definition is, so the
    embeddings equal onnxruntime's run of the definition up to float
    summation order elsewhere."""
    ids, mask = minilm.Tokenizer().batch(SENTENCES[:3])
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    dst = tmp_path / "minilm_dynamic.onnx"
    _quantize("dynamic", minilm_onnx, dst, None)
    # Each one scales its sums to f32 in the kernel (qcc-fuse-qmatmul-scale).
    assert _kernel_calls(qcc_bin, dst, "qcc_rt_qmatmul_scaled") == 36
    assert _kernel_calls(qcc_bin, dst, "qcc_rt_qmatmul") == 0
    got, want, cos = _against_onnxruntime(qcc_bin, tmp_path, dst, feeds)
    assert cos.min() > 0.9999
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)


def test_minilm_qdq_compiles_and_matches_onnxruntime(qcc_bin, tmp_path, minilm_onnx):
    """onnxruntime's QDQ MiniLM compiled as it is, without re-quantizing: its
    int8 weights feed qcc's kernels (qcc-fuse-dequantized-linear) and data
    movement runs on the integers (qcc-propagate-scales). On the calibration
    sentences the embeddings equal onnxruntime's run of the ONNX
    definition up to float summation order, which can move a value across a
    rounding boundary of the next quantize."""
    ids, mask = minilm.Tokenizer().batch(SENTENCES[:2])
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    dst = tmp_path / "minilm_qdq.onnx"
    _quantize("qdq", minilm_onnx, dst, [feeds])
    # Every linear layer's u8 x s8 product runs on the int8 kernel, scaled
    # to f32 in its epilogue.
    assert _kernel_calls(qcc_bin, dst, "qcc_rt_qmatmul_scaled") == 36
    got, want, cos = _against_onnxruntime(qcc_bin, tmp_path, dst, feeds)
    assert cos.min() > 0.999
    assert np.mean(np.abs(got - want) < 1e-4) > 0.95
