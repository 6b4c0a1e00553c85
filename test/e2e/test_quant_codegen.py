"""Quantized ONNX models (onnxruntime's MatMulNBits, QDQ, DynamicQuantizeLinear
+ MatMulInteger) compiled by qcc, against onnxruntime and the numpy reference
of qcc's arithmetic (python/qcc/quant_ref.py)."""
import pathlib
import re
import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from compiled import CompiledModel
from conftest import op_counts
from qcc import quant_ref


def ort_run(path, feeds):
    # Graph optimizations off: onnxruntime's fused QDQ kernels round
    # differently from the ONNX operators' definitions, which qcc follows.
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def save(path, nodes, inputs, outputs, inits, ms=False):
    opsets = [h.make_opsetid("", 21)] + ([h.make_opsetid("com.microsoft", 1)] if ms else [])
    onnx.save(h.make_model(h.make_graph(nodes, "q", inputs, outputs, inits), opset_imports=opsets,
                           ir_version=10), str(path))


def matmul_nbits(path, rng, k, n, bits, block, zero_points, accuracy_level):
    """A MatMulNBits layer with random weights in onnxruntime's packed
    format; returns the logical weight, scales [k_blocks, N] and zero points."""
    kb = -(-k // block)
    hi = (1 << bits) - 1
    q = rng.integers(0, hi + 1, size=(n, kb * block)).astype(np.uint8)
    q[:, k:] = 0
    scales = (rng.random((n, kb)) * 0.02 + 0.005).astype(np.float32)
    zp = rng.integers(0, hi + 1, size=(n, kb)).astype(np.uint8) if zero_points else None
    per_byte = 8 // bits
    packed = np.zeros((n, kb * block // per_byte), np.uint8)
    for j in range(per_byte):
        packed |= (q[:, j::per_byte] << (bits * j)).astype(np.uint8)
    inits = [nh.from_array(packed.reshape(n, kb, -1), "B"), nh.from_array(scales.reshape(-1), "S")]
    ins = ["A", "B", "S"]
    if zero_points:
        zrow = -(-kb * bits // 8)
        zpk = np.zeros((n, zrow), np.uint8)
        for b in range(kb):
            zpk[:, b // per_byte] |= (zp[:, b] << (bits * (b % per_byte))).astype(np.uint8)
        inits.append(nh.from_array(zpk.reshape(-1), "Z"))
        ins.append("Z")
    node = h.make_node("MatMulNBits", ins, ["Y"], domain="com.microsoft", K=k, N=n, bits=bits,
                       block_size=block, accuracy_level=accuracy_level)
    save(path, [node], [h.make_tensor_value_info("A", T.FLOAT, ["b", "s", k])],
         [h.make_tensor_value_info("Y", T.FLOAT, None)], inits, ms=True)
    center = 1 << (bits - 1)
    wq = q[:, :k].T.astype(np.int32)
    if zp is None:
        return wq - center, scales.T, None
    return wq, scales.T, zp.T.astype(np.int32)


@pytest.mark.parametrize("bits,zero_points", [(4, False), (4, True), (8, True)])
def test_matmulnbits_weight_only_matches_onnxruntime(qcc_bin, tmp_path, bits, zero_points):
    # K = 80 is not a multiple of the block: the last block is padded.
    rng = np.random.default_rng(bits + zero_points)
    path = tmp_path / "nbits.onnx"
    wq, s, zp = matmul_nbits(path, rng, 80, 48, bits, 32, zero_points, 0)
    x = rng.standard_normal((2, 3, 80)).astype(np.float32)
    got = CompiledModel(qcc_bin, path, tmp_path)({"A": x})[0]
    np.testing.assert_allclose(got, ort_run(path, {"A": x})[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got, quant_ref.qlinear(x, wq, s, zp, group=32), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("zero_points", [False, True])
def test_matmulnbits_int8_activations(qcc_bin, tmp_path, zero_points):
    """accuracy_level 4: activations quantized to int8 per row (qcc) or per
    block (onnxruntime): equal to qcc's reference up to float rounding, close
    to onnxruntime's."""
    rng = np.random.default_rng(7)
    path = tmp_path / "nbits4.onnx"
    wq, s, zp = matmul_nbits(path, rng, 80, 48, 4, 32, zero_points, 4)
    x = rng.standard_normal((1, 5, 80)).astype(np.float32)
    x[0, 2] = 0.0  # an all-zero row takes scale 1
    got = CompiledModel(qcc_bin, path, tmp_path)({"A": x})[0]
    ref = quant_ref.qlinear(x, wq, s, zp, group=32, act_bits=8)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    want = ort_run(path, {"A": x})[0]
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 2e-2
    assert np.all(got[0, 2] == 0)


@pytest.mark.parametrize("accuracy_level", [0, 4])
def test_matmulnbits_f16_scales(qcc_bin, tmp_path, accuracy_level):
    """--scale-type=f16 on a model that brings its weights quantized: the
    scales are rounded to f16 (qcc-f16-scales), so the layer equals the
    reference on those rounded scales, from the decode kernels (M = 1) and
    the prefill ones (M = 40), and no longer the f32 one. A scale f16 cannot
    hold is refused, naming it."""
    rng = np.random.default_rng(17)
    path = tmp_path / "nbits.onnx"
    wq, s, zp = matmul_nbits(path, rng, 200, 48, 4, 32, True, accuracy_level)
    s16 = s.astype(np.float16).astype(np.float32)
    assert np.any(s16 != s)
    act = 8 if accuracy_level == 4 else None
    half = CompiledModel(qcc_bin, path, tmp_path, extra_args=["--scale-type=f16"])
    full = CompiledModel(qcc_bin, path, tmp_path)
    for m in (1, 40):
        x = rng.standard_normal((1, m, 200)).astype(np.float32)
        got = half({"A": x})[0]
        np.testing.assert_allclose(got, quant_ref.qlinear(x, wq, s16, zp, group=32, act_bits=act),
                                   rtol=1e-5, atol=1e-6, err_msg=f"M={m}")
        assert not np.array_equal(got, full({"A": x})[0]), f"M={m}"

    model = onnx.load(str(path))
    sc = next(t for t in model.graph.initializer if t.name == "S")
    tiny = nh.to_array(sc).copy()
    tiny[3] = 1e-6
    sc.CopyFrom(nh.from_array(tiny, "S"))
    model.graph.node[0].name = "lin"
    bad = tmp_path / "tiny.onnx"
    onnx.save(model, str(bad))
    r = subprocess.run([str(qcc_bin), str(bad), "-o", str(tmp_path / "tiny"), "--scale-type=f16"],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "layer 'lin': weight scale 1.000000e-06 is outside f16's normal range" in r.stderr, \
        r.stderr


@pytest.mark.parametrize("weight_bits", [7, 8])
def test_dynamic_quantize_matmul_integer(qcc_bin, tmp_path, weight_bits):
    """DynamicQuantizeLinear feeding MatMulInteger with a per-column weight
    zero point: every integer output exact. onnxruntime's u8 x s8 kernel
    saturates pairs of products in 16 bits (why its quantizer reduces the
    weight range to 7 bits), so it is the peer only for 7-bit weights; qcc
    accumulates exactly and matches the ONNX definition for full int8."""
    rng = np.random.default_rng(3)
    lim = 1 << (weight_bits - 1)
    w = rng.integers(-lim, lim, size=(24, 16)).astype(np.int8)
    wzp = rng.integers(-5, 6, size=(16,)).astype(np.int8)
    nodes = [h.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
             h.make_node("MatMulInteger", ["xq", "w", "xz", "wzp"], ["acc"])]
    path = tmp_path / "dq.onnx"
    save(path, nodes, [h.make_tensor_value_info("x", T.FLOAT, ["m", 24])],
         [h.make_tensor_value_info(n, t, None) for n, t in
          (("xq", T.UINT8), ("xs", T.FLOAT), ("xz", T.UINT8), ("acc", T.INT32))],
         [nh.from_array(w, "w"), nh.from_array(wzp, "wzp")])
    for x in (rng.standard_normal((5, 24)).astype(np.float32) * 3,
              np.abs(rng.standard_normal((2, 24))).astype(np.float32),  # min > 0
              np.zeros((1, 24), np.float32)):  # empty range
        got = CompiledModel(qcc_bin, path, tmp_path)({"x": x})
        want = ort_run(path, {"x": x})
        for g, wv in zip(got[:3], want[:3]):
            np.testing.assert_array_equal(g, wv)
        exact = (got[0].astype(np.int64) - int(got[2])) @ (w.astype(np.int64) - wzp)
        np.testing.assert_array_equal(got[3], exact)
        if weight_bits == 7:
            np.testing.assert_array_equal(got[3], want[3])


@pytest.mark.parametrize("layout", ["matmul", "gemm_transb"])
def test_qdq_linear_matches_onnxruntime(qcc_bin, tmp_path, layout):
    """A QDQ-format linear layer (int8 weight per output channel, uint8
    activations per tensor) as onnxruntime's quantizer writes it, as a
    MatMul of a [K, N] weight or a Gemm of an [N, K] weight with transB: in
    both the integer activations and weights reach the int8 kernel."""
    rng = np.random.default_rng(5)
    w = rng.integers(-127, 128, size=(32, 8)).astype(np.int8)
    ws = (rng.random(8) * 0.01 + 0.001).astype(np.float32)
    if layout == "matmul":
        nodes = [h.make_node("DequantizeLinear", ["w", "ws"], ["wd"], axis=1),
                 h.make_node("MatMul", ["xd", "wd"], ["y"])]
        stored = w
    else:
        nodes = [h.make_node("DequantizeLinear", ["w", "ws"], ["wd"], axis=0),
                 h.make_node("Gemm", ["xd", "wd"], ["y"], transB=1)]
        stored = np.ascontiguousarray(w.T)
    nodes = [h.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             h.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"])] + nodes
    path = tmp_path / "qdq.onnx"
    save(path, nodes, [h.make_tensor_value_info("x", T.FLOAT, ["m", 32])],
         [h.make_tensor_value_info("y", T.FLOAT, None)],
         [nh.from_array(stored, "w"), nh.from_array(ws, "ws"),
          nh.from_array(np.array(0.02, np.float32), "xs"),
          nh.from_array(np.array(128, np.uint8), "xz")])
    llvm = subprocess.run([str(qcc_bin), str(path), "--emit=llvm-dialect"], capture_output=True,
                          text=True, check=True).stdout
    # Integer activations and weights: the int8 kernel's integer matmul.
    assert "qcc_rt_qmatmul" in llvm
    x = rng.standard_normal((4, 32)).astype(np.float32) * 2
    x[0, :4] = [100.0, -100.0, 0.01, 0.03]  # saturates; rounds half to even
    got = CompiledModel(qcc_bin, path, tmp_path)({"x": x})[0]
    np.testing.assert_allclose(got, ort_run(path, {"x": x})[0], rtol=1e-5, atol=1e-5)
    xd = quant_ref.dequantize(quant_ref.quantize(x, 0.02, 128, 8, False), 0.02, 128)
    np.testing.assert_allclose(got, xd @ quant_ref.dequantize(w, ws), rtol=1e-5, atol=1e-5)


def test_qdq_requantize_matches_reference_and_onnxruntime(qcc_bin, tmp_path):
    """u8 QDQ data movement and a concat of two scales: the integers flow
    through reshape / transpose / concat (qcc-propagate-scales), and every
    change of scale is an integer requantize, exact against the numpy
    reference and equal to onnxruntime's float requantization up to a
    1-step tie difference."""
    f = lambda v: np.array(v, np.float32)  # noqa: E731
    u = lambda v: np.array(v, np.uint8)  # noqa: E731
    nodes = [h.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             h.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             h.make_node("Reshape", ["xd", "shape"], ["r"]),
             h.make_node("QuantizeLinear", ["r", "xs", "xz"], ["rq"]),
             h.make_node("DequantizeLinear", ["rq", "xs", "xz"], ["rd"]),
             h.make_node("Transpose", ["rd"], ["t"], perm=[0, 2, 1]),
             h.make_node("QuantizeLinear", ["t", "ts", "tz"], ["tq"]),
             h.make_node("DequantizeLinear", ["tq", "ts", "tz"], ["out_t"]),
             h.make_node("QuantizeLinear", ["y", "ys", "yz"], ["yq"]),
             h.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["yd"]),
             h.make_node("Concat", ["xd", "yd"], ["c"], axis=1),
             h.make_node("QuantizeLinear", ["c", "cs", "cz"], ["cq"]),
             h.make_node("DequantizeLinear", ["cq", "cs", "cz"], ["out_c"])]
    inits = [nh.from_array(f(0.05), "xs"), nh.from_array(u(128), "xz"),
             nh.from_array(f(0.13), "ts"), nh.from_array(u(100), "tz"),
             nh.from_array(f(0.02), "ys"), nh.from_array(u(30), "yz"),
             nh.from_array(f(0.07), "cs"), nh.from_array(u(120), "cz"),
             nh.from_array(np.array([-1, 2, 3], np.int64), "shape")]
    path = tmp_path / "qdq_moves.onnx"
    save(path, nodes, [h.make_tensor_value_info(n, T.FLOAT, ["m", 6]) for n in ("x", "y")],
         [h.make_tensor_value_info(n, T.FLOAT, None) for n in ("out_t", "out_c")], inits)

    text = subprocess.run([str(qcc_bin), str(path), "--emit=mlir", "--print-weights"], check=True,
                          capture_output=True, text=True).stdout
    opt = pathlib.Path(qcc_bin).parent / "qcc-opt"
    moved = subprocess.run([str(opt), "--pass-pipeline=builtin.module(cse,func.func(qcc-propagate-scales))"],
                           input=text, check=True, capture_output=True, text=True).stdout
    assert op_counts(moved)["qcc.requantize"] == 3  # x -> t, x -> c, y -> c
    assert "qcc.quantize" in moved  # only those of the inputs remain
    assert op_counts(moved)["qcc.quantize"] == 2
    assert re.search(r"qcc\.transpose .*tensor<\?x3x2xi8>", moved)
    assert re.search(r"qcc\.concat .*tensor<\?x12xi8>", moved)

    rng = np.random.default_rng(11)
    x = (rng.standard_normal((64, 6)) * 3).astype(np.float32)
    y = (rng.standard_normal((64, 6)) * 2).astype(np.float32)
    got_t, got_c = CompiledModel(qcc_bin, path, tmp_path)({"x": x, "y": y})

    qx = quant_ref.quantize(x, 0.05, 128, 8, False)
    qy = quant_ref.quantize(y, 0.02, 30, 8, False)
    qt = quant_ref.requantize(qx.reshape(-1, 2, 3).transpose(0, 2, 1), 0.05, 128, 0.13, 100, 8, False)
    qc = np.concatenate([quant_ref.requantize(qx, 0.05, 128, 0.07, 120, 8, False),
                         quant_ref.requantize(qy, 0.02, 30, 0.07, 120, 8, False)], axis=1)
    np.testing.assert_array_equal(got_t, quant_ref.dequantize(qt, 0.13, 100))
    np.testing.assert_array_equal(got_c, quant_ref.dequantize(qc, 0.07, 120))
    want_t, want_c = ort_run(path, {"x": x, "y": y})
    for got, want, step in [(got_t, want_t, 0.13), (got_c, want_c, 0.07)]:
        assert np.abs(got - want).max() <= step * 1.001
        assert np.mean(got == want) > 0.99
