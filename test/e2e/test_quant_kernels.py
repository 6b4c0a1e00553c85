"""The quantized-linear kernels on packed weights (qcc-pack-weights +
qcc_rt_qlinear): the AVX2 kernels and the portable scalar kernel against the
numpy reference of each scheme, on shapes with K and N remainders and M from
1 to 128. With int8 activations the integer part is exact and the float
epilogue runs in the reference's order, so results are bit-identical; weight-
only layers agree to float rounding."""
import shutil
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from compiled import CompiledModel
from conftest import ROOT
from qcc import quant_ref


def linear_model(path, w, b, rank=2):
    dims = ["m", w.shape[0]] if rank == 2 else ["b", "s", w.shape[0]]
    nodes = [h.make_node("MatMul", ["x", "w"], ["xw"], name="proj"),
             h.make_node("Add", ["xw", "b"], ["h"], name="proj_bias"),
             # Not the model's output: a linear producing one keeps 8 bits.
             h.make_node("Relu", ["h"], ["y"], name="act")]
    g = h.make_graph(nodes, "lin", [h.make_tensor_value_info("x", T.FLOAT, dims)],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [nh.from_array(w, "w"), nh.from_array(b, "b")])
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), str(path))


def random_linear(tmp_path, rng, k, n):
    """A random [k, n] linear layer with bias (then Relu) saved as ONNX:
    (path, w, b)."""
    w = (rng.standard_normal((k, n)) * 0.1).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    path = tmp_path / f"lin{k}x{n}.onnx"
    linear_model(path, w, b)
    return path, w, b


# flags, bits, group, asym, int8 activations
SCHEMES = [
    (["--w4a8", "--group=32"], 4, 32, False, True),
    (["--w4a8", "--group=32", "--asym"], 4, 32, True, True),
    (["--w4a8", "--group=128"], 4, 128, False, True),
    (["--w4a8", "--group=per-channel", "--asym"], 4, None, True, True),
    (["--w8a8"], 8, None, False, True),
    (["--w8a8", "--group=64"], 8, 64, False, True),
    (["--w8a8", "--asym"], 8, None, True, True),
    (["--w8a16", "--group=32", "--asym"], 8, 32, True, False),
    (["--w4a16", "--group=64", "--asym"], 4, 64, True, False),
    (["--w4a16", "--group=32"], 4, 32, False, False),
    (["--w8a16"], 8, None, False, False),
]
# K = 200 and 80 leave a short last group; N = 13 and 44 a partial tile of 8
# columns. K = 256 takes the vector row quantization, the others the scalar.
SHAPES = [(256, 64), (200, 13), (80, 44)]
ROWS = [1, 3, 17, 128]


@pytest.mark.parametrize("flags,bits,group,asym,act", SCHEMES, ids=[" ".join(s[0]) for s in SCHEMES])
def test_kernels_match_reference(qcc_bin, tmp_path, flags, bits, group, asym, act):
    rng = np.random.default_rng(5)
    for k, n in SHAPES:
        w = (rng.standard_normal((k, n)) * 0.1).astype(np.float32)
        w[:, 2] = 0.0  # an all-zero column
        b = rng.standard_normal(n).astype(np.float32)
        path = tmp_path / f"lin{k}x{n}.onnx"
        linear_model(path, w, b)
        q, s, zp = quant_ref.quantize_weight(w, bits, group, asym, "rtn")
        # The AVX2 kernels and the scalar kernel targets without them run.
        avx2 = CompiledModel(qcc_bin, path, tmp_path, extra_args=[*flags, "--cpu=haswell"])
        scalar = CompiledModel(qcc_bin, path, tmp_path, extra_args=[*flags, "--cpu=x86-64"])
        # Row 0 is the same for every M: whatever kernel path the row count
        # picks, it must come out identical.
        row = rng.standard_normal(k).astype(np.float32)
        for m in ROWS:
            x = rng.standard_normal((m, k)).astype(np.float32)
            x[0] = row
            x[-1, :] = 0.0 if m > 1 else x[-1]  # an all-zero row takes scale 1
            ref = np.maximum(quant_ref.qlinear(x, q, s, zp, group=group,
                                               act_bits=8 if act else None, bias=b), 0)
            got_avx2 = avx2({"x": x})[0]
            got_scalar = scalar({"x": x})[0]
            where = f"K={k} N={n} M={m}"
            if m == 1:
                row0 = got_avx2[0].copy()
            np.testing.assert_array_equal(got_avx2[0], row0, err_msg=where)
            if act:
                np.testing.assert_array_equal(got_avx2, ref, err_msg=where)
                np.testing.assert_array_equal(got_scalar, ref, err_msg=where)
            else:
                np.testing.assert_allclose(got_avx2, ref, rtol=1e-5, atol=1e-5, err_msg=where)
                np.testing.assert_allclose(got_scalar, ref, rtol=1e-5, atol=1e-5, err_msg=where)


@pytest.mark.parametrize("flags,bits,group,asym,act", [SCHEMES[1], SCHEMES[4], SCHEMES[6]],
                         ids=[" ".join(SCHEMES[i][0]) for i in (1, 4, 6)])
def test_f16_scales(qcc_bin, tmp_path, flags, bits, group, asym, act):
    """--scale-type=f16: scales rounded to f16 and packed as f16 (half the
    scale bytes); the kernels give the reference's results for those scales."""
    rng = np.random.default_rng(6)
    k, n = 200, 44
    path, w, b = random_linear(tmp_path, rng, k, n)
    q, s, zp = quant_ref.quantize_weight(w, bits, group, asym, "rtn")
    s16 = np.asarray(s, np.float32).astype(np.float16).astype(np.float32)
    assert not np.array_equal(s16, s)
    x = rng.standard_normal((17, k)).astype(np.float32)
    ref = np.maximum(quant_ref.qlinear(x, q, s16, zp, group=group, act_bits=8 if act else None,
                                       bias=b), 0)
    for cpu in ("haswell", "x86-64"):
        got = CompiledModel(qcc_bin, path, tmp_path,
                            extra_args=[*flags, "--scale-type=f16", f"--cpu={cpu}"])({"x": x})[0]
        if act:
            np.testing.assert_array_equal(got, ref, err_msg=cpu)
        else:
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5, err_msg=cpu)

@pytest.mark.skipif(
    not (shutil.which("aarch64-linux-gnu-gcc") and shutil.which("qemu-aarch64")),
    reason="aarch64 cross toolchain and qemu-user are installed by scripts/setup.sh")
@pytest.mark.parametrize("cpu", ["generic", "neoverse-n1"])
def test_arm64_kernels_match_x86(qcc_bin, tmp_path, cpu):
    """The NEON kernels (sdot on neoverse-n1, widening multiplies without
    dotprod) under qemu give the same bits as the x86-64 AVX2 kernels and
    the reference, for int4 and int8 weights (with and without zero points)
    with int8 activations and f32 or f16 scales."""
    from test_arm64 import SYSROOT, _run_raw
    rng = np.random.default_rng(9)
    k, n = 200, 44
    for flags, bits, group, asym in [(["--w4a8", "--group=32", "--asym"], 4, 32, True),
                                     (["--w4a8", "--scale-type=f16"], 4, 32, False),
                                     (["--w8a8"], 8, None, False),
                                     (["--w8a8", "--asym"], 8, None, True)]:
        path, w, b = random_linear(tmp_path, rng, k, n)
        x = rng.standard_normal((17, k)).astype(np.float32)
        q, s, zp = quant_ref.quantize_weight(w, bits, group, asym, "rtn")
        if "--scale-type=f16" in flags:
            s = np.asarray(s, np.float32).astype(np.float16).astype(np.float32)
        ref = np.maximum(quant_ref.qlinear(x, q, s, zp, group=group, act_bits=8, bias=b), 0)
        x86 = CompiledModel(qcc_bin, path, tmp_path, extra_args=[*flags, "--cpu=haswell"])({"x": x})[0]
        out = tmp_path / f"arm_{bits}"
        subprocess.run([str(qcc_bin), str(path), "-o", str(out / "lin"), "--name=lin", *flags,
                        "--target=arm64", f"--cpu={cpu}"], check=True, capture_output=True)
        exe = out / "run"
        subprocess.run(["aarch64-linux-gnu-gcc", "-std=c99", "-O2", "-DMODEL=lin", f"-I{out}",
                        str(ROOT / "test/e2e/raw_runner.c"), str(out / "liblin.a"), "-lm",
                        "-o", str(exe)], check=True)
        (got,) = _run_raw(exe, {"x": x}, ["x"], out, ["qemu-aarch64", "-cpu", "max", "-L", SYSROOT])
        np.testing.assert_array_equal(got, ref, err_msg=" ".join(flags))
        np.testing.assert_array_equal(got, x86, err_msg=" ".join(flags))
