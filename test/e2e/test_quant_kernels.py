"""The quantized-linear kernels on packed weights (qcc-pack-weights +
qcc_rt_qlinear): the AVX2 kernels and the portable scalar kernel against the
numpy reference of each scheme, on shapes with K and N remainders and M from
1 to 128. With int8 activations the integer part is exact and the float
epilogue runs in the reference's order, so results are bit-identical; weight-
only layers agree to float rounding."""
import ctypes
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
ROWS = [1, 3, 12, 17, 128]


def host_has(*flags):
    """Whether this machine's CPU has every /proc/cpuinfo flag in flags."""
    try:
        with open("/proc/cpuinfo") as f:
            have = next((l.split(":", 1)[1].split() for l in f if l.startswith("flags")), [])
    except OSError:
        return False
    return all(flag in have for flag in flags)


# The x86-64 kernel variants: AMX tiles for blocks of rows on top of the
# AVX-512 VNNI kernels (sapphirerapids), those alone (icelake-server), AVX2,
# and the portable scalar kernel of targets without any. A variant runs
# only where this machine has its instructions.
VNNI_FLAGS = ("avx512_vnni", "avx512bw", "avx512vl")
NO_VNNI = pytest.mark.skipif(not host_has(*VNNI_FLAGS), reason="this CPU has no AVX-512 VNNI")
NO_AMX = pytest.mark.skipif(not host_has("amx_int8", "amx_tile", *VNNI_FLAGS),
                            reason="this CPU has no AMX-INT8")
X86_CPUS = [pytest.param("sapphirerapids", marks=NO_AMX),
            pytest.param("icelake-server", marks=NO_VNNI), "haswell", "x86-64"]
# The same for tests that loop over the variants themselves.
X86_CPUS_HERE = (["sapphirerapids"] if host_has("amx_int8", "amx_tile", *VNNI_FLAGS) else []) + \
    (["icelake-server"] if host_has(*VNNI_FLAGS) else []) + ["haswell", "x86-64"]


@pytest.mark.parametrize("cpu", X86_CPUS)
@pytest.mark.parametrize("flags,bits,group,asym,act", SCHEMES, ids=[" ".join(s[0]) for s in SCHEMES])
def test_kernels_match_reference(qcc_bin, tmp_path, flags, bits, group, asym, act, cpu):
    if cpu == "sapphirerapids" and not act:
        pytest.skip("float rows take the VNNI kernels there, tested as icelake-server")
    rng = np.random.default_rng(5)
    for k, n in SHAPES:
        w = (rng.standard_normal((k, n)) * 0.1).astype(np.float32)
        w[:, 2] = 0.0  # an all-zero column
        b = rng.standard_normal(n).astype(np.float32)
        path = tmp_path / f"lin{k}x{n}.onnx"
        linear_model(path, w, b)
        q, s, zp = quant_ref.quantize_weight(w, bits, group, asym, "rtn")
        model = CompiledModel(qcc_bin, path, tmp_path, extra_args=[*flags, f"--cpu={cpu}"])
        # Row 0 is the same for every M: whatever kernel path the row count
        # picks, it must come out identical.
        row = rng.standard_normal(k).astype(np.float32)
        for m in ROWS:
            x = rng.standard_normal((m, k)).astype(np.float32)
            x[0] = row
            x[-1, :] = 0.0 if m > 1 else x[-1]  # an all-zero row takes scale 1
            ref = np.maximum(quant_ref.qlinear(x, q, s, zp, group=group,
                                               act_bits=8 if act else None, bias=b), 0)
            got = model({"x": x})[0]
            where = f"K={k} N={n} M={m}"
            if m == 1:
                row0 = got[0].copy()
            np.testing.assert_array_equal(got[0], row0, err_msg=where)
            if act:
                np.testing.assert_array_equal(got, ref, err_msg=where)
            else:
                np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5, err_msg=where)


@pytest.mark.parametrize("flags,bits,group,asym,act", [SCHEMES[i] for i in (1, 4, 8)],
                         ids=[" ".join(SCHEMES[i][0]) for i in (1, 4, 8)])
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
    for cpu in X86_CPUS_HERE:
        got = CompiledModel(qcc_bin, path, tmp_path,
                            extra_args=[*flags, "--scale-type=f16", f"--cpu={cpu}"])({"x": x})[0]
        if act:
            np.testing.assert_array_equal(got, ref, err_msg=cpu)
        else:
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5, err_msg=cpu)

@pytest.mark.skipif(
    not (shutil.which("aarch64-linux-gnu-gcc") and shutil.which("qemu-aarch64")),
    reason="aarch64 cross toolchain and qemu-user are installed by scripts/setup.sh")
@pytest.mark.parametrize("cpu,instruction", [("generic", "smull"), ("neoverse-n1", "sdot"),
                                             ("neoverse-v1", "smmla")])
def test_arm64_kernels_match_x86(qcc_bin, tmp_path, cpu, instruction):
    """The NEON kernels (smmla on neoverse-v1, sdot on neoverse-n1, widening
    multiplies without dotprod or i8mm) under qemu give the same bits as
    the x86-64 AVX2 kernels, for
    int4 and int8 weights (with and without zero points) with f32 or f16
    scales: with int8 activations also the reference's bits, weight-only
    layers (dequantized in registers, fused multiply-adds in K order on
    both) the reference to float rounding."""
    from test_arm64 import run_on_arm64
    rng = np.random.default_rng(9)
    k, n = 200, 44
    for i, (flags, bits, group, asym, act) in enumerate([
            (["--w4a8", "--group=32", "--asym"], 4, 32, True, True),
            (["--w4a8", "--scale-type=f16"], 4, 32, False, True),
            (["--w8a8"], 8, None, False, True),
            (["--w8a8", "--asym"], 8, None, True, True),
            (["--w4a16", "--group=32", "--asym"], 4, 32, True, False),
            (["--w4a16", "--group=64", "--scale-type=f16"], 4, 64, False, False),
            (["--w8a16", "--asym"], 8, None, True, False)]):
        path, w, b = random_linear(tmp_path, rng, k, n)
        # 17 rows end on a block of 1 row, 19 on one of 3 (smmla's spare row).
        x = rng.standard_normal((17 + 2 * (i % 2), k)).astype(np.float32)
        q, s, zp = quant_ref.quantize_weight(w, bits, group, asym, "rtn")
        if "--scale-type=f16" in flags:
            s = np.asarray(s, np.float32).astype(np.float16).astype(np.float32)
        ref = np.maximum(quant_ref.qlinear(x, q, s, zp, group=group,
                                           act_bits=8 if act else None, bias=b), 0)
        x86 = CompiledModel(qcc_bin, path, tmp_path, extra_args=[*flags, "--cpu=haswell"])({"x": x})[0]
        out = tmp_path / f"arm_{bits}"
        (got,) = run_on_arm64(qcc_bin, path, out, "lin", flags, cpu, {"x": x})
        if act:
            dis = subprocess.run(["aarch64-linux-gnu-objdump", "-d", str(out / "liblin.a")],
                                 check=True, capture_output=True, text=True).stdout
            assert f"\t{instruction}" in dis, f"{cpu} should run the {instruction} kernel"
            np.testing.assert_array_equal(got, ref, err_msg=" ".join(flags))
        else:
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5, err_msg=" ".join(flags))
        np.testing.assert_array_equal(got, x86, err_msg=" ".join(flags))
    # An integer matmul (u8 lhs, scalar zero point, s8 weight with per-column
    # zero points): the int32 kernel gives the ONNX definition's values.
    w = rng.integers(-127, 128, size=(k, n)).astype(np.int8)
    wzp = rng.integers(-3, 4, size=n).astype(np.int8)
    w = np.clip(w.astype(np.int64) + wzp, -128, 127).astype(np.int8)
    path = tmp_path / "mmi.onnx"
    integer_matmul_model(path, T.UINT8, ["m", k], [], w, wzp)
    a = rng.integers(0, 256, size=(19, k)).astype(np.uint8)
    az = np.array(131, np.uint8)
    (got,) = run_on_arm64(qcc_bin, path, tmp_path / "arm_mmi", "mmi", [], cpu,
                          {"a": a, "az": az})
    np.testing.assert_array_equal(got.view(np.int32), integer_matmul_ref(a, az, w, wzp))


def _run_capi(workdir, name, x, threads):
    """Runs artifact `name` through its C API with an instance of `threads`
    threads (the thread pool and per-thread scratch the kernels use)."""
    lib = ctypes.CDLL(str(workdir / f"lib{name}.so"))
    fn = lambda n: getattr(lib, f"{name}_{n}")
    inst = ctypes.c_void_p()
    assert fn("create")(ctypes.byref(inst)) == 0
    try:
        assert fn("set_num_threads")(inst, threads) == 0
        shape = np.array(x.shape, np.int64)
        assert fn("run")(inst, (ctypes.c_void_p * 1)(x.ctypes.data),
                         (ctypes.c_void_p * 1)(shape.ctypes.data)) == 0
        data, dims = ctypes.c_void_p(), ctypes.c_void_p()
        assert fn("output")(inst, 0, ctypes.byref(data), ctypes.byref(dims)) == 0
        out_shape = np.ctypeslib.as_array(ctypes.cast(dims, ctypes.POINTER(ctypes.c_int64)),
                                          shape=(x.ndim,))
        return np.ctypeslib.as_array(ctypes.cast(data, ctypes.POINTER(ctypes.c_float)),
                                     shape=tuple(out_shape)).copy()
    finally:
        fn("destroy")(inst)


@pytest.mark.parametrize("flags,bits,group,asym,act", [SCHEMES[i] for i in (1, 7, 8)],
                         ids=[" ".join(SCHEMES[i][0]) for i in (1, 7, 8)])
def test_threads_give_the_same_bits(qcc_bin, tmp_path, flags, bits, group, asym, act):
    """Through the C API with 2 threads (tiles split over the pool, panels in
    per-thread scratch) the results are those of one thread, bit for bit."""
    rng = np.random.default_rng(10)
    path, w, b = random_linear(tmp_path, rng, 200, 300)
    subprocess.run([str(qcc_bin), str(path), "-o", str(tmp_path / "lin"), "--name=lin", *flags],
                   check=True, capture_output=True)
    x = rng.standard_normal((37, 200)).astype(np.float32)
    one = _run_capi(tmp_path, "lin", x, 1)
    np.testing.assert_array_equal(_run_capi(tmp_path, "lin", x, 2), one)
    q, s, zp = quant_ref.quantize_weight(w, bits, group, asym, "rtn")
    ref = np.maximum(quant_ref.qlinear(x, q, s, zp, group=group, act_bits=8 if act else None,
                                       bias=b), 0)
    np.testing.assert_allclose(one, ref, rtol=1e-5, atol=1e-5)


def test_vector_input(qcc_bin, tmp_path):
    """A 1-D input (ONNX MatMul of a vector) is one row for the kernel."""
    rng = np.random.default_rng(1)
    w = (rng.standard_normal((80, 48)) * 0.1).astype(np.float32)
    g = h.make_graph([h.make_node("MatMul", ["x", "w"], ["xw"]), h.make_node("Relu", ["xw"], ["y"])],
                     "v", [h.make_tensor_value_info("x", T.FLOAT, [80])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], [nh.from_array(w, "w")])
    path = tmp_path / "v.onnx"
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), str(path))
    x = rng.standard_normal(80).astype(np.float32)
    got = CompiledModel(qcc_bin, path, tmp_path, extra_args=["--w4a8"])({"x": x})[0]
    q, s, zp = quant_ref.quantize_weight(w, 4, 32, False, "rtn")
    np.testing.assert_array_equal(
        got, np.maximum(quant_ref.qlinear(x[None], q, s, zp, group=32, act_bits=8)[0], 0))


@pytest.mark.parametrize("flags,group,asym", [(["--w4a8", "--group=32", "--asym"], 32, True),
                                              (["--w4a8", "--group=128"], 128, False)],
                         ids=["g32 asym", "g128"])
@pytest.mark.parametrize("cpu", ["haswell", pytest.param("icelake-server", marks=NO_VNNI),
                                 pytest.param("sapphirerapids", marks=NO_AMX)])
def test_int4_sums_at_their_bound(qcc_bin, tmp_path, flags, group, asym, cpu):
    """The AVX2 int4 kernel sums 32 K-steps in int16 before widening; with
    the stored nibbles at 15 against activations at +-127 a lane reaches
    16 * 15 * 127 = 30480, just inside int16. Bit-exact against the
    reference, so a lane that wrapped would show. The VNNI kernels take the
    same extremes as a + 128 against centered weights."""
    k, n = 256, 16
    w = np.ones((k, n), np.float32)
    w[:, 1::2] = -1.0  # odd columns at the other end of the range
    w[0, :] = np.where(np.arange(n) % 2 == 0, -1.0, 1.0)  # asym: the group's other end
    w[:, 4:8] *= np.linspace(0.5, 1.0, k, dtype=np.float32)[:, None]
    b = np.zeros(n, np.float32)
    path = tmp_path / "bound.onnx"
    linear_model(path, w, b)
    q, s, zp = quant_ref.quantize_weight(w, 4, group, asym, "rtn")
    nib = q.astype(np.int32) - (0 if asym else -8)
    assert nib.max() == 15
    x = np.stack([np.ones(k), -np.ones(k), np.where(np.arange(k) % 2 == 0, 1.0, -1.0)]
                 ).astype(np.float32)
    x = np.repeat(x, 3, axis=0)
    model = CompiledModel(qcc_bin, path, tmp_path, extra_args=[*flags, f"--cpu={cpu}"])
    # 3 rows: the VNNI decode kernel; 9: two row blocks and a remainder;
    # 18: AMX.
    for rows in (x[::3], x, np.repeat(x, 2, axis=0)):
        ref = np.maximum(quant_ref.qlinear(rows, q, s, zp, group=group, act_bits=8, bias=b), 0)
        assert (ref > 0).any()
        np.testing.assert_array_equal(model({"x": rows})[0], ref)


@pytest.mark.parametrize("cpu", ["haswell", pytest.param("icelake-server", marks=NO_VNNI),
                                 pytest.param("sapphirerapids", marks=NO_AMX)])
def test_int4_panel_sums_at_their_bound(qcc_bin, tmp_path, cpu):
    """From 24 rows the AVX2 int4 kernel takes the rows as a + 128 against
    centered weights. Tiles whose |w| <= 8 sum 8 chunks in int16: a lane of
    16 products 255 * -8 is -32640. Wider tiles sum 4: 8 products of
    255 * +-15 are +-30600. Bit-exact against the reference."""
    k, n = 256, 16
    w = -np.ones((k, n), np.float32)
    w[2::32, :8] = 0.875  # every group: zero point 8, centered -8 and one 7
    w[:, 8:] = np.linspace(0.5, 1.0, k, dtype=np.float32)[:, None]  # zero point 0, up to 15
    w[:, 12:] *= -1  # zero point 15, down to -15
    path = tmp_path / "bound.onnx"
    linear_model(path, w, np.zeros(n, np.float32))
    q, s, zp = quant_ref.quantize_weight(w, 4, 32, True, "rtn")
    centered = q - np.repeat(zp, 32, axis=0)
    assert centered[:, :8].min() == -8 and centered[:, 8:].max() == 15
    x = np.repeat(np.stack([np.ones(k), -np.ones(k)]).astype(np.float32), 13, axis=0)
    got = CompiledModel(qcc_bin, path, tmp_path,
                        extra_args=["--w4a8", "--group=32", "--asym", f"--cpu={cpu}"])({"x": x})[0]
    ref = np.maximum(quant_ref.qlinear(x, q, s, zp, group=32, act_bits=8), 0)
    assert (ref > 0).any()
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("cpu,amx,vnni", [("sapphirerapids", True, True),
                                          ("icelake-server", False, True),
                                          ("znver4", False, True), ("haswell", False, False)])
def test_vnni_kernels_are_linked_for_vnni_cpus(qcc_bin, tmp_path, cpu, amx, vnni):
    """CPUs with AVX-512 VNNI get the 16-column kernels (vpdpbusd on zmm
    registers in the artifact), those with AMX-INT8 the tile kernels too
    (tdpbusd); AVX2 CPUs neither. Compiling needs no such CPU here."""
    rng = np.random.default_rng(13)
    path, _, _ = random_linear(tmp_path, rng, 64, 32)
    out = tmp_path / cpu
    subprocess.run([str(qcc_bin), str(path), "-o", str(out / "lin"), "--name=lin", "--w4a8",
                    f"--cpu={cpu}"], check=True, capture_output=True)
    dis = subprocess.run(["llvm-objdump-19", "-d", str(out / "lin.o")], check=True,
                         capture_output=True, text=True).stdout.splitlines()
    assert any("vpdpbusd" in l and "zmm" in l for l in dis) == vnni
    assert any("tdpbusd" in l for l in dis) == amx


@pytest.mark.parametrize("cpu", [pytest.param("icelake-server", marks=NO_VNNI),
                                 pytest.param("sapphirerapids", marks=NO_AMX)])
def test_vnni_int8_weights_far_from_their_zero_point(qcc_bin, tmp_path, cpu):
    """Asymmetric per-column int8 weights of one sign: q - zp spans [0, 255],
    outside int8. The decode kernel and the whole-K prefill kernels (VNNI and
    AMX) take q and zp apart, the zero point coming off in int32; they give
    the reference's bits, tile 0 as the mixed-sign tiles."""
    rng = np.random.default_rng(12)
    k, n = 128, 40
    w = (rng.standard_normal((k, n)) * 0.1).astype(np.float32)
    w[:, :16] = np.abs(w[:, :16]) + 0.01  # tile 0: every column one-signed
    b = rng.standard_normal(n).astype(np.float32)
    path = tmp_path / "far.onnx"
    linear_model(path, w, b)
    q, s, zp = quant_ref.quantize_weight(w, 8, None, True, "rtn")
    assert (q.astype(np.int32) - zp.astype(np.int32)).max() > 127
    model = CompiledModel(qcc_bin, path, tmp_path, extra_args=["--w8a8", "--asym", f"--cpu={cpu}"])
    for m in (1, 4, 17):
        x = rng.standard_normal((m, k)).astype(np.float32)
        ref = np.maximum(quant_ref.qlinear(x, q, s, zp, group=None, act_bits=8, bias=b), 0)
        np.testing.assert_array_equal(model({"x": x})[0], ref, err_msg=f"M={m}")
    # Weight-only: the float decode kernel dequantizes q - zp in registers,
    # the float panel hands the tile to the scalar code; both sum in K order,
    # so a row comes out with the same bits from either.
    model = CompiledModel(qcc_bin, path, tmp_path, extra_args=["--w8a16", "--asym", f"--cpu={cpu}"])
    row = rng.standard_normal(k).astype(np.float32)
    for m in (1, 4, 17):
        x = rng.standard_normal((m, k)).astype(np.float32)
        x[0] = row
        ref = np.maximum(quant_ref.qlinear(x, q, s, zp, group=None, act_bits=None, bias=b), 0)
        got = model({"x": x})[0]
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5, err_msg=f"w8a16 M={m}")
        if m == 1:
            row0 = got[0].copy()
        np.testing.assert_array_equal(got[0], row0, err_msg=f"w8a16 M={m}")


@pytest.mark.parametrize("cpu", X86_CPUS)
def test_float_rows_over_k_chunks(qcc_bin, tmp_path, cpu):
    """Weight-only rows past the decode kernels with K = 2200 in groups of
    32: the VNNI float panel takes K in chunks (1024, 1024, 152 K-steps)
    with the rows' sums kept between them, so each row keeps the bits the
    decode kernel gives it alone; rows 12 at a time leave a block of 5."""
    rng = np.random.default_rng(14)
    k, n = 2200, 40
    path, w, b = random_linear(tmp_path, rng, k, n)
    q, s, zp = quant_ref.quantize_weight(w, 4, 32, True, "rtn")
    model = CompiledModel(qcc_bin, path, tmp_path,
                          extra_args=["--w4a16", "--group=32", "--asym", f"--cpu={cpu}"])
    for m in (17, 29):
        x = rng.standard_normal((m, k)).astype(np.float32)
        ref = np.maximum(quant_ref.qlinear(x, q, s, zp, group=32, act_bits=None, bias=b), 0)
        got = model({"x": x})[0]
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5, err_msg=f"M={m}")
        one_by_one = np.concatenate([model({"x": x[i:i + 1]})[0] for i in range(m)])
        np.testing.assert_array_equal(got, one_by_one, err_msg=f"M={m}")


@pytest.mark.parametrize("cpu", X86_CPUS)
def test_grouped_int8_rows_over_k_chunks(qcc_bin, tmp_path, cpu):
    """4-bit weights with int8 rows past the decode kernels, K = 4192: the
    VNNI panel kernel takes K in chunks (2048, 2048, 96 K-steps), the float
    sums kept between them, in groups of 32 (its unrolled path) and of 64
    (its general one, with a short last group); rows 4 at a time leave blocks
    of 1 to 3 and N = 40 a part tile. The reference's bits, and a row the
    same bits as alone."""
    rng = np.random.default_rng(16)
    k, n = 4192, 40
    path, w, b = random_linear(tmp_path, rng, k, n)
    xs = {m: rng.standard_normal((m, k)).astype(np.float32) for m in (5, 18, 39)}
    for group, asym in ((32, True), (64, False)):
        q, s, zp = quant_ref.quantize_weight(w, 4, group, asym, "rtn")
        flags = ["--w4a8", f"--group={group}"] + (["--asym"] if asym else [])
        model = CompiledModel(qcc_bin, path, tmp_path, extra_args=[*flags, f"--cpu={cpu}"])
        for m, x in xs.items():
            ref = np.maximum(quant_ref.qlinear(x, q, s, zp, group=group, act_bits=8, bias=b), 0)
            got = model({"x": x})[0]
            np.testing.assert_array_equal(got, ref, err_msg=f"{flags} M={m}")
            np.testing.assert_array_equal(got[m - 1], model({"x": x[m - 1:]})[0][0],
                                          err_msg=f"{flags} M={m}")


@pytest.mark.parametrize("cpu", X86_CPUS)
def test_int8_rows_over_k_chunks(qcc_bin, tmp_path, cpu):
    """Rows of K = 9000 (not a multiple of 64): at 128 rows (2 passes) and
    255 rows (3, padded to 256) the AMX kernels take K in chunks, the int32
    sums kept between the passes; 8-bit weights (symmetric and asymmetric)
    and integer matmuls still give the reference's bits, and a row the
    same bits as alone."""
    rng = np.random.default_rng(15)
    k, n = 9000, 40
    path, w, b = random_linear(tmp_path, rng, k, n)
    xs = {m: rng.standard_normal((m, k)).astype(np.float32) for m in (128, 255)}
    for asym in (False, True):
        q, s, zp = quant_ref.quantize_weight(w, 8, None, asym, "rtn")
        flags = ["--w8a8"] + (["--asym"] if asym else [])
        model = CompiledModel(qcc_bin, path, tmp_path, extra_args=[*flags, f"--cpu={cpu}"])
        for m, x in xs.items():
            ref = np.maximum(quant_ref.qlinear(x, q, s, zp, group=None, act_bits=8, bias=b), 0)
            got = model({"x": x})[0]
            np.testing.assert_array_equal(got, ref, err_msg=f"{flags} M={m}")
            np.testing.assert_array_equal(got[5], model({"x": x[5:6]})[0][0], err_msg=f"{flags} M={m}")
    wi = rng.integers(-127, 128, size=(k, n)).astype(np.int8)
    wzp = rng.integers(-3, 4, size=n).astype(np.int8)
    wi = np.clip(wi.astype(np.int64) + wzp, -128, 127).astype(np.int8)
    mpath = tmp_path / "mmi.onnx"
    integer_matmul_model(mpath, T.UINT8, ["m", k], [], wi, wzp)
    model = CompiledModel(qcc_bin, mpath, tmp_path, extra_args=[f"--cpu={cpu}"])
    for m in xs:
        a = rng.integers(0, 256, size=(m, k)).astype(np.uint8)
        az = np.array(rng.integers(0, 256), np.uint8)
        np.testing.assert_array_equal(model({"a": a, "az": az})[0], integer_matmul_ref(a, az, wi, wzp),
                                      err_msg=f"MatMulInteger M={m}")


def test_int8_rows_with_a_short_last_group(qcc_bin, tmp_path):
    """K = 96 in groups of 64: the vector row quantization stops at K and
    the panel kernel zeroes the weights past it."""
    rng = np.random.default_rng(11)
    k, n = 96, 24
    w = (rng.standard_normal((k, n)) * 0.1).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    path = tmp_path / "short.onnx"
    linear_model(path, w, b)
    q, s, zp = quant_ref.quantize_weight(w, 4, 64, False, "rtn")
    model = CompiledModel(qcc_bin, path, tmp_path, extra_args=["--w4a8", "--group=64", "--cpu=haswell"])
    for m in (3, 26):
        x = rng.standard_normal((m, k)).astype(np.float32)
        ref = np.maximum(quant_ref.qlinear(x, q, s, zp, group=64, act_bits=8, bias=b), 0)
        np.testing.assert_array_equal(model({"x": x})[0], ref, err_msg=f"M={m}")


def residual_model(path, w, b):
    """z = skip + (x @ w + b): a layer feeding a skip connection."""
    k, n = w.shape
    nodes = [h.make_node("MatMul", ["x", "w"], ["xw"], name="proj"),
             h.make_node("Add", ["xw", "b"], ["h"], name="proj_bias"),
             h.make_node("Add", ["skip", "h"], ["z"], name="residual")]
    g = h.make_graph(nodes, "res", [h.make_tensor_value_info("x", T.FLOAT, ["m", k]),
                                    h.make_tensor_value_info("skip", T.FLOAT, ["m", n])],
                     [h.make_tensor_value_info("z", T.FLOAT, None)],
                     [nh.from_array(w, "w"), nh.from_array(b, "b")])
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), str(path))


def test_residual_runs_in_the_kernel_epilogue(qcc_bin, tmp_path):
    """The skip connection's add goes into the kernels (qcc-fuse-residual:
    no float add is left in the model's code) and is added after the bias,
    as the separate add would be: with int8 activations the bits of the
    reference plus the skip, on the AVX2 kernels (rows of 4, the pair and
    panel kernels), the scalar kernel, the reference lowering of a layer
    the kernels do not take (groups of 4), and the arm64 i8mm kernel."""
    rng = np.random.default_rng(12)
    k, n = 200, 44
    w = (rng.standard_normal((k, n)) * 0.1).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    path = tmp_path / "res.onnx"
    residual_model(path, w, b)
    llvm = subprocess.run([str(qcc_bin), str(path), "--w4a8", "--emit=llvm-dialect"],
                          check=True, capture_output=True, text=True).stdout
    assert "llvm.call @qcc_rt_qlinear(" in llvm and "llvm.fadd" not in llvm
    for flags, bits, group, cpu, rows in [
            (["--w4a8", "--group=32", "--asym"], 4, 32, "haswell", (3, 26)),
            (["--w8a8"], 8, None, "haswell", (5,)),
            (["--w4a8", "--group=32"], 4, 32, "x86-64", (3,)),
            (["--w4a8", "--group=4"], 4, 4, "haswell", (3,)),
            (["--w4a16", "--group=32"], 4, 32, "haswell", (3,))]:
        asym = "--asym" in flags
        act = "--w4a16" not in flags
        q, s, zp = quant_ref.quantize_weight(w, bits, group, asym, "rtn")
        model = CompiledModel(qcc_bin, path, tmp_path, extra_args=[*flags, f"--cpu={cpu}"])
        for m in rows:
            x = rng.standard_normal((m, k)).astype(np.float32)
            skip = rng.standard_normal((m, n)).astype(np.float32)
            ref = quant_ref.qlinear(x, q, s, zp, group=group, act_bits=8 if act else None,
                                    bias=b) + skip
            got = model({"x": x, "skip": skip})[0]
            msg = f"{' '.join(flags)} {cpu} M={m}"
            if act:
                np.testing.assert_array_equal(got, ref, err_msg=msg)
            else:
                np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5, err_msg=msg)
    if not (shutil.which("aarch64-linux-gnu-gcc") and shutil.which("qemu-aarch64")):
        return
    from test_arm64 import run_on_arm64
    q, s, zp = quant_ref.quantize_weight(w, 4, 32, False, "rtn")
    x = rng.standard_normal((7, k)).astype(np.float32)
    skip = rng.standard_normal((7, n)).astype(np.float32)
    (got,) = run_on_arm64(qcc_bin, path, tmp_path / "arm", "res", ["--w4a8"], "neoverse-v1",
                          {"x": x, "skip": skip})
    ref = quant_ref.qlinear(x, q, s, zp, group=32, act_bits=8, bias=b) + skip
    np.testing.assert_array_equal(got, ref)


# Integer matmuls (ONNX MatMulInteger) on packed weights -------------------

def integer_matmul_model(path, a_type, a_dims, zp_dims, w, wzp):
    """MatMulInteger of input a (with zero point input az when zp_dims is
    not None) and the constant weight w (zero point wzp, if any)."""
    inputs = [h.make_tensor_value_info("a", a_type, a_dims)]
    ins = ["a", "w", ""]
    inits = [nh.from_array(w, "w")]
    if zp_dims is not None:
        inputs.append(h.make_tensor_value_info("az", a_type, zp_dims))
        ins[2] = "az"
    if wzp is not None:
        inits.append(nh.from_array(wzp, "wzp"))
        ins.append("wzp")
    g = h.make_graph([h.make_node("MatMulInteger", ins, ["y"])], "mmi", inputs,
                     [h.make_tensor_value_info("y", T.INT32, None)], inits)
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), str(path))


def integer_matmul_ref(a, az, w, wzp):
    """The ONNX definition in int64, wrapped to int32."""
    a = a.astype(np.int64) - (0 if az is None else np.asarray(az, np.int64).reshape(-1, 1))
    wc = w.astype(np.int64) - (0 if wzp is None else wzp.astype(np.int64))
    return (a @ wc).astype(np.int32)


def uses_qmatmul_kernel(qcc_bin, path):
    llvm = subprocess.run([str(qcc_bin), str(path), "--emit=llvm-dialect"], capture_output=True,
                          text=True, check=True).stdout
    return "qcc_rt_qmatmul" in llvm


# lhs type, zero point ("scalar", "row" or None), weight type, weight zero
# point ("column", "tensor" or None)
INTEGER_CASES = [
    (T.UINT8, "scalar", np.int8, None),
    (T.UINT8, "scalar", np.int8, "column"),
    (T.INT8, None, np.int8, "tensor"),
    (T.INT8, "row", np.int8, None),
    (T.UINT8, "row", np.uint8, "column"),
]


@pytest.mark.parametrize("a_type,azp,w_type,wzp_kind", INTEGER_CASES,
                         ids=[f"{T.DataType.Name(c[0])}-{c[1]}-{c[2].__name__}-{c[3]}"
                              for c in INTEGER_CASES])
def test_integer_matmul_kernels_match_reference(qcc_bin, tmp_path, a_type, azp, w_type, wzp_kind):
    """MatMulInteger with a constant weight runs on the int8 kernels (AVX2
    and scalar) and gives the ONNX definition's int32 values exactly, on
    shapes with K and N remainders, M from 1 to 128, lhs values at both
    ends of their range."""
    rng = np.random.default_rng(11)
    np_a = np.uint8 if a_type == T.UINT8 else np.int8
    info = np.iinfo(np_a)
    for k, n in SHAPES:
        # Weights whose centered values span [-127, 127], the kernels' range.
        if w_type == np.uint8:
            wzp = rng.integers(100, 156, size=n).astype(np.uint8)
            w = np.clip(wzp.astype(np.int64) + rng.integers(-127, 128, size=(k, n)), 0, 255)
        else:
            wzp = {"column": rng.integers(-3, 4, size=n), "tensor": np.array(2),
                   None: None}[wzp_kind]
            w = rng.integers(-127, 128, size=(k, n)) + (0 if wzp is None else wzp)
            w = np.clip(w, -128, 127)
            wzp = None if wzp is None else wzp.astype(np.int8)
        w = w.astype(w_type)
        w[:, 1] = wzp[1] if wzp is not None and wzp.ndim else (wzp if wzp is not None else 0)
        # A per-row zero point needs the row count in the model: one model
        # per M (fewer of them); otherwise one for all.
        for ms in ([[1], [17], [128]] if azp == "row" else [ROWS]):
            path = tmp_path / f"mmi{k}x{n}.onnx"
            dims = [ms[0], k] if azp == "row" else ["m", k]
            zp_dims = {"scalar": [], "row": [ms[0]], None: None}[azp]
            integer_matmul_model(path, a_type, dims, zp_dims, w, wzp)
            assert uses_qmatmul_kernel(qcc_bin, path)
            models = {cpu: CompiledModel(qcc_bin, path, tmp_path, extra_args=[f"--cpu={cpu}"])
                      for cpu in X86_CPUS_HERE}
            for m in ms:
                a = rng.integers(info.min, info.max + 1, size=(m, k)).astype(np_a)
                a[0, :2] = [info.min, info.max]
                feeds, az = {"a": a}, None
                if azp is not None:
                    az = rng.integers(info.min, info.max + 1, size=[m][:len(zp_dims)]).astype(np_a)
                    feeds["az"] = az
                ref = integer_matmul_ref(a, az, w, wzp)
                for cpu, model in models.items():
                    np.testing.assert_array_equal(model(feeds)[0], ref,
                                                  err_msg=f"K={k} N={n} M={m} {cpu}")


def test_integer_matmul_outside_the_kernels_range(qcc_bin, tmp_path):
    """A weight of -128 (no zero point) is outside what the kernels take:
    that layer keeps the reference lowering, and both are exact; a rank-3
    lhs collapses its leading dims into rows."""
    rng = np.random.default_rng(12)
    w = rng.integers(-127, 128, size=(40, 24)).astype(np.int8)
    w[3, 5] = -128
    path = tmp_path / "wide.onnx"
    integer_matmul_model(path, T.UINT8, ["b", "s", 40], [], w, None)
    assert not uses_qmatmul_kernel(qcc_bin, path)
    a = rng.integers(0, 256, size=(2, 3, 40)).astype(np.uint8)
    az = np.array(77, np.uint8)
    got = CompiledModel(qcc_bin, path, tmp_path)({"a": a, "az": az})[0]
    np.testing.assert_array_equal(got, integer_matmul_ref(a.reshape(6, 40), az, w, None).reshape(2, 3, 24))
    w[3, 5] = -127
    integer_matmul_model(path, T.UINT8, ["b", "s", 40], [], w, None)
    assert uses_qmatmul_kernel(qcc_bin, path)
    got = CompiledModel(qcc_bin, path, tmp_path)({"a": a, "az": az})[0]
    np.testing.assert_array_equal(got, integer_matmul_ref(a.reshape(6, 40), az, w, None).reshape(2, 3, 24))


def scaled_integer_matmul_model(path, w, scale):
    """MatMulInteger of a u8 input (scalar zero point input az) and the
    constant s8 weight w, cast to f32 and multiplied by the constant scale."""
    k, n = w.shape
    nodes = [h.make_node("MatMulInteger", ["a", "w", "az"], ["acc"]),
             h.make_node("Cast", ["acc"], ["accf"], to=T.FLOAT),
             h.make_node("Mul", ["accf", "s"], ["y"])]
    g = h.make_graph(nodes, "mmis", [h.make_tensor_value_info("a", T.UINT8, ["m", k]),
                                     h.make_tensor_value_info("az", T.UINT8, [])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [nh.from_array(w, "w"), nh.from_array(scale, "s")])
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), str(path))


@pytest.mark.parametrize("per_column", [True, False], ids=["column-scales", "one-scale"])
def test_integer_matmul_scaled_in_the_epilogue(qcc_bin, tmp_path, per_column):
    """MatMulInteger, Cast and Mul by constant scales run as one kernel call
    that scales the sums in its epilogue (every x86 variant here), and give
    float32(sum) * scale, the bits of the separate ops, on shapes with K and
    N remainders and M from 1 to 128; a weight outside the kernels' range
    takes the reference lowering of the same op, with the same bits."""
    rng = np.random.default_rng(14)
    for k, n in SHAPES:
        w = rng.integers(-127, 128, size=(k, n)).astype(np.int8)
        scale = ((rng.random(n if per_column else ()) + 0.5) * 1e-3).astype(np.float32)
        path = tmp_path / f"mmis{k}x{n}.onnx"
        scaled_integer_matmul_model(path, w, scale)
        llvm = subprocess.run([str(qcc_bin), str(path), "--emit=llvm-dialect"],
                              capture_output=True, text=True, check=True).stdout
        assert "qcc_rt_qmatmul_scaled" in llvm
        models = {cpu: CompiledModel(qcc_bin, path, tmp_path, extra_args=[f"--cpu={cpu}"])
                  for cpu in X86_CPUS_HERE}
        for m in ROWS:
            a = rng.integers(0, 256, size=(m, k)).astype(np.uint8)
            az = np.array(rng.integers(0, 256), np.uint8)
            ref = integer_matmul_ref(a, az, w, None).astype(np.float32) * scale
            for cpu, model in models.items():
                np.testing.assert_array_equal(model({"a": a, "az": az})[0], ref,
                                              err_msg=f"K={k} N={n} M={m} {cpu}")
    w[0, 0] = -128
    scaled_integer_matmul_model(path, w, scale)
    assert not uses_qmatmul_kernel(qcc_bin, path)
    a = rng.integers(0, 256, size=(5, k)).astype(np.uint8)
    az = np.array(9, np.uint8)
    ref = integer_matmul_ref(a, az, w, None).astype(np.float32) * scale
    np.testing.assert_array_equal(CompiledModel(qcc_bin, path, tmp_path)({"a": a, "az": az})[0], ref)


def test_dynamic_int8_graph_threads_give_the_same_bits(qcc_bin, tmp_path):
    """onnxruntime's dynamic int8 graph (DynamicQuantizeLinear, MatMulInteger
    on a constant s8 weight, scale multiply) through the C API: the integer
    matmul runs on the kernel, with 2 threads as with 1, and the result is
    the ONNX definition's."""
    rng = np.random.default_rng(13)
    k, n = 200, 300
    w = rng.integers(-127, 128, size=(k, n)).astype(np.int8)
    ws = (rng.random(n) * 0.01 + 0.001).astype(np.float32)
    nodes = [h.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
             h.make_node("MatMulInteger", ["xq", "w", "xz"], ["acc"]),
             h.make_node("Cast", ["acc"], ["accf"], to=T.FLOAT),
             h.make_node("Mul", ["xs", "ws"], ["sc"]),
             h.make_node("Mul", ["accf", "sc"], ["y"])]
    g = h.make_graph(nodes, "dyn", [h.make_tensor_value_info("x", T.FLOAT, ["m", k])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [nh.from_array(w, "w"), nh.from_array(ws, "ws")])
    path = tmp_path / "dyn.onnx"
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), str(path))
    assert uses_qmatmul_kernel(qcc_bin, path)
    subprocess.run([str(qcc_bin), str(path), "-o", str(tmp_path / "dyn"), "--name=dyn"],
                   check=True, capture_output=True)
    x = rng.standard_normal((37, k)).astype(np.float32)
    one = _run_capi(tmp_path, "dyn", x, 1)
    np.testing.assert_array_equal(_run_capi(tmp_path, "dyn", x, 2), one)
    xq, xs, xz = quant_ref.dynamic_quantize(x)
    ref = ((xq - xz) @ w.astype(np.float64)) * (xs * ws)
    np.testing.assert_allclose(one, ref, rtol=1e-5, atol=1e-6)


def test_dynamic_quantize_runs_in_the_runtime(qcc_bin, tmp_path):
    """DynamicQuantizeLinear on its own: the runtime's threaded vector code
    (every x86 variant here: AVX2 vectors on haswell and up, scalar code on
    x86-64) gives the definition's q, scale and zero point, bit for bit, on
    sizes with vector remainders and ranges of either sign, all zeros or a
    single value."""
    nodes = [h.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "z"])]
    g = h.make_graph(nodes, "dql", [h.make_tensor_value_info("x", T.FLOAT, ["m", "k"])],
                     [h.make_tensor_value_info(n, t, None)
                      for n, t in (("q", T.UINT8), ("s", T.FLOAT), ("z", T.UINT8))])
    path = tmp_path / "dql.onnx"
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), str(path))
    llvm = subprocess.run([str(qcc_bin), str(path), "--emit=llvm-dialect"],
                          capture_output=True, text=True, check=True).stdout
    assert "qcc_rt_dynamic_quantize_u8" in llvm
    models = {cpu: CompiledModel(qcc_bin, path, tmp_path, extra_args=[f"--cpu={cpu}"])
              for cpu in X86_CPUS_HERE}
    rng = np.random.default_rng(21)
    cases = [rng.standard_normal((m, k)).astype(np.float32) * 3
             for m, k in ((1, 1), (1, 15), (3, 17), (5, 33), (128, 4096), (7, 3001))]
    cases += [np.abs(cases[3]) + 0.5, -np.abs(cases[3]) - 0.5, np.zeros((4, 9), np.float32),
              np.full((2, 40), 1.75, np.float32), np.full((2, 40), -0.0, np.float32)]
    for x in cases:
        q, s, z = quant_ref.dynamic_quantize(x)
        for cpu, model in models.items():
            got = model({"x": x})
            msg = f"{x.shape} {cpu}"
            np.testing.assert_array_equal(got[1], s, err_msg=msg)
            np.testing.assert_array_equal(got[2], z, err_msg=msg)
            np.testing.assert_array_equal(got[0], q, err_msg=msg)


@pytest.mark.skipif(
    not (shutil.which("aarch64-linux-gnu-gcc") and shutil.which("qemu-aarch64")),
    reason="aarch64 cross toolchain and qemu-user are installed by scripts/setup.sh")
def test_dynamic_quantize_on_arm64(qcc_bin, tmp_path):
    """The runtime's DynamicQuantizeLinear on arm64 (its portable loop,
    under qemu), seen through a DequantizeLinear of its outputs: (q - zero
    point) * scale, the definition's bits."""
    from test_arm64 import run_on_arm64
    nodes = [h.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "z"]),
             h.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])]
    g = h.make_graph(nodes, "dqdq", [h.make_tensor_value_info("x", T.FLOAT, ["m", "k"])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)])
    path = tmp_path / "dqdq.onnx"
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), str(path))
    rng = np.random.default_rng(22)
    for i, x in enumerate([rng.standard_normal((37, 301)).astype(np.float32),
                           np.abs(rng.standard_normal((3, 17)).astype(np.float32))]):
        q, s, z = quant_ref.dynamic_quantize(x)
        ref = quant_ref.dequantize(q, s, z)
        (got,) = run_on_arm64(qcc_bin, path, tmp_path / f"arm{i}", "dqdq", [], "generic",
                              {"x": x})
        np.testing.assert_array_equal(got, ref, err_msg=str(x.shape))
