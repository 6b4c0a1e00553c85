"""The artifact qcc writes, used the way an app uses it: C and C++ programs
compiled against its header and linked with its libraries."""
import json
import pathlib
import subprocess

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper as h

from conftest import ROOT
from qcc.models import llama, minilm

CFLAGS = ["-Wall", "-Wextra", "-Werror"]


def build_artifact(qcc_bin, onnx_path, out_dir, name):
    subprocess.run([str(qcc_bin), str(onnx_path), "-o", str(out_dir / name), f"--name={name}"],
                   check=True)
    return out_dir


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True, **kw)


def test_artifact_files_and_manifest(qcc_bin, tmp_path):
    cfg = llama.SIZES["tiny"]
    src = tmp_path / "llama.onnx"
    llama.build(str(src), cfg)
    out = build_artifact(qcc_bin, src, tmp_path / "art", "llama")
    for f in ("llama.o", "libllama.a", "libllama.so", "llama.h", "llama.json"):
        assert (out / f).stat().st_size > 0, f
    manifest = json.loads((out / "llama.json").read_text())
    assert manifest["name"] == "llama"
    assert [i["name"] for i in manifest["inputs"]][:3] == ["input_ids", "attention_mask", "position_ids"]
    assert manifest["inputs"][0] == {"name": "input_ids", "dtype": "int64", "shape": ["batch", "seq"]}
    assert manifest["outputs"][0]["shape"] == ["batch", "seq", cfg.vocab]
    assert len(manifest["source"]["sha256"]) == 64
    # Only the model's prefix and libc/pthread symbols cross the boundary.
    undefined = run(["nm", "-u", out / "llama.o"]).stdout.split()
    pthread = {"pthread_" + f for f in ("create", "join", "mutex_init", "mutex_destroy",
                                        "mutex_lock", "mutex_unlock", "cond_init",
                                        "cond_destroy", "cond_wait", "cond_broadcast",
                                        "cond_signal")}
    assert set(u for u in undefined if u != "U") <= {
        "malloc", "calloc", "free", "memcpy", "memset", "memmove", "strcmp", "vsnprintf",
        "get_nprocs", "sched_getaffinity", "sched_setaffinity"} | pthread
    defined = [l.split()[-1] for l in run(["nm", "-g", "--defined-only", out / "llama.o"]).stdout.splitlines()]
    assert all(s.startswith(("llama_", "_mlir_ciface_llama_")) for s in defined), defined


def ort_greedy(path, cfg, prompt, steps):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ids, past, out = np.array([prompt], np.int64), llama.empty_past(cfg, 1), []
    for _ in range(steps):
        res = sess.run(None, llama.feeds(cfg, ids, past))
        tok = int(res[0][0, -1].argmax())
        out.append(tok)
        past = [(res[1 + 2 * i], res[2 + 2 * i]) for i in range(cfg.layers)]
        ids = np.array([[tok]], np.int64)
    return out


def test_c_example_generates_like_onnxruntime(qcc_bin, tmp_path):
    cfg = llama.SIZES["small"]
    src = tmp_path / "llama.onnx"
    llama.build(str(src), cfg)
    out = build_artifact(qcc_bin, src, tmp_path / "art", "llama")
    exe = tmp_path / "generate"
    run(["clang-19", "-std=c99", *CFLAGS, ROOT / "examples/c/generate.c", f"-I{out}",
         out / "libllama.a", "-lm", "-fuse-ld=lld", "-o", exe])
    prompt = [5, 17, 42, 7, 300]
    got = [int(t) for t in run([exe, *prompt]).stdout.split()]
    assert got == ort_greedy(src, cfg, prompt, 8)


def test_cpp_example_embeds_like_onnxruntime(qcc_bin, tmp_path):
    src = tmp_path / "minilm.onnx"
    minilm.build(str(src))
    out = build_artifact(qcc_bin, src, tmp_path / "art", "minilm")
    exe = tmp_path / "embed"
    run(["clang++-19", "-std=c++17", *CFLAGS, ROOT / "examples/cpp/embed.cpp", f"-I{out}",
         out / "libminilm.so", f"-Wl,-rpath,{out}", "-fuse-ld=lld", "-o", exe])
    tok = minilm.Tokenizer()
    sentences = ["A man is playing a guitar.", "Someone plays music.", "The market fell."]
    ids = [tok.encode(s) for s in sentences]
    lines = run([exe, *[" ".join(map(str, i)) for i in ids]]).stdout.splitlines()
    sess = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    embs = []
    for i in ids:
        a = np.array([i], np.int64)
        embs.append(sess.run(None, {"input_ids": a, "attention_mask": np.ones_like(a),
                                    "token_type_ids": np.zeros_like(a)})[1][0])
    norms = [float(l.split()[2]) for l in lines if l.startswith("norm")]
    coss = {(int(l.split()[1]), int(l.split()[2])): float(l.split()[3]) for l in lines if l.startswith("cos")}
    assert norms == pytest.approx([1.0] * 3, abs=1e-5)
    for (i, j), c in coss.items():
        assert c == pytest.approx(float(embs[i] @ embs[j]), abs=1e-4)


def _pair_model(path):
    nodes = [h.make_node("Add", ["a", "b"], ["y"])]
    vis = [h.make_tensor_value_info(n, T.FLOAT, ["n", 8]) for n in "ab"]
    m = h.make_model(h.make_graph(nodes, "pair", vis, [h.make_tensor_value_info("y", T.FLOAT, None)]),
                     opset_imports=[h.make_opsetid("", 20)])
    onnx.save(m, path)


def test_c_api_validates_arguments(qcc_bin, tmp_path):
    _pair_model(tmp_path / "pair.onnx")
    out = build_artifact(qcc_bin, tmp_path / "pair.onnx", tmp_path / "art", "pair")
    exe = tmp_path / "checks"
    # Built with ASan/UBSan/LSan: the runtime must not leak or misbehave on
    # any of these calls.
    run(["clang-19", "-std=c99", *CFLAGS, "-fsanitize=address,undefined", "-g",
         ROOT / "test/e2e/capi_checks.c", f"-I{out}", out / "libpair.a", "-fuse-ld=lld", "-o", exe])
    lines = dict(l.split(": ", 1) for l in run([exe]).stdout.splitlines() if ": " in l)
    text = run([exe]).stdout
    assert lines["ok"] == "0 ok"
    assert "shape 2 8 first 100 last 115" in text
    assert lines["symbolic mismatch"].startswith("1 input 1 ('b') dim 0 is 3 but dim 'n' is 2 in input 0 ('a')")
    assert lines["static dim"] == "1 input 1 ('b'): dim 1 must be 8, got 7"
    assert lines["negative dim"] == "1 input 0 ('a'): dim 0 is -1, out of range"
    assert lines["null data"] == "1 input 1 ('b'): data is NULL"
    assert lines["null inputs"] == "1 inputs and input_shapes must not be NULL"
    assert lines["small buffer"] == "1 output 0 ('y') needs 64 bytes, buffer holds 8"
    assert lines["run_into"] == "0 ok" and "into 100 115" in text
    assert lines["threads 0"] == "1 thread count must be at least 1, got 0"
    assert "bad index null -1" in text and "dim name n -1" in text


def test_outputs_own_their_buffers(qcc_bin, tmp_path):
    """Outputs that are a constant, an input passed through, or one buffer
    exposed twice come back right on every run; with ASan/LSan, the
    results the API adopts and those it copies are each freed once."""
    c = np.arange(6, dtype=np.float32).reshape(2, 3)
    nodes = [h.make_node("Identity", ["c"], ["y"]), h.make_node("Identity", ["x"], ["z"]),
             h.make_node("Add", ["x", "x"], ["w"]), h.make_node("Identity", ["w"], ["w2"])]
    outs = [h.make_tensor_value_info(n, T.FLOAT, [2, 3]) for n in ("y", "z", "w", "w2")]
    g = h.make_graph(nodes, "outs", [h.make_tensor_value_info("x", T.FLOAT, [2, 3])], outs,
                     [onnx.numpy_helper.from_array(c, "c")])
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), tmp_path / "outs.onnx")
    out = build_artifact(qcc_bin, tmp_path / "outs.onnx", tmp_path / "art", "outs")
    exe = tmp_path / "outs"
    run(["clang-19", "-std=c99", *CFLAGS, "-fsanitize=address,undefined", "-g",
         ROOT / "test/e2e/output_buffers.c", f"-I{out}", out / "libouts.a", "-fuse-ld=lld", "-o", exe])
    got = {}
    for line in run([exe]).stdout.splitlines():
        head, values = line.split(":")
        got[head] = [float(v) for v in values.split()]
    for r in range(3):
        x = np.arange(6, dtype=np.float32) + 10 * r
        assert got[f"run {r} out 0"] == c.ravel().tolist()
        assert got[f"run {r} out 1"] == x.tolist()
        assert got[f"run {r} out 2"] == (x + x).tolist()
        assert got[f"run {r} out 3"] == (x + x).tolist()


def test_two_models_link_into_one_program(qcc_bin, tmp_path):
    _pair_model(tmp_path / "pair.onnx")
    a = build_artifact(qcc_bin, tmp_path / "pair.onnx", tmp_path / "a", "first")
    b = build_artifact(qcc_bin, tmp_path / "pair.onnx", tmp_path / "b", "second")
    exe = tmp_path / "two"
    run(["clang-19", "-std=c99", *CFLAGS, ROOT / "test/e2e/two_models.c", f"-I{a}", f"-I{b}",
         a / "libfirst.a", b / "libsecond.a", "-fuse-ld=lld", "-o", exe])
    assert run([exe]).stdout.strip() == "a y"


def test_bad_model_name_is_refused(qcc_bin, tmp_path):
    _pair_model(tmp_path / "pair.onnx")
    proc = subprocess.run([str(qcc_bin), str(tmp_path / "pair.onnx"), "-o", str(tmp_path / "x"),
                           "--name=9lives"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "--name '9lives' is not a C identifier" in proc.stderr


def test_qcc_run(qcc_bin, tmp_path):
    cfg = llama.SIZES["tiny"]
    src = tmp_path / "llama.onnx"
    llama.build(str(src), cfg)
    out = build_artifact(qcc_bin, src, tmp_path / "art", "tiny")
    feeds = llama.feeds(cfg, np.array([[3, 1, 4, 1, 5]], np.int64), llama.empty_past(cfg, 1))
    args = []
    for k, v in feeds.items():
        np.save(tmp_path / f"{k}.npy", v)
        args += ["--input", f"{k}={tmp_path / f'{k}.npy'}"]
    qcc_run = qcc_bin.parent / "qcc-run"
    res = run([qcc_run, out / "libtiny.so", *args, "--output-dir", tmp_path / "outs", "--bench", "3"])
    assert "bench: 3 runs, median" in res.stdout
    assert f"output logits: [1, 5, {cfg.vocab}]" in res.stdout
    want = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, feeds)
    np.testing.assert_allclose(np.load(tmp_path / "outs" / "logits.npy"), want[0], rtol=1e-4, atol=1e-4)
    # Bad invocations fail with a message.
    bad = subprocess.run([str(qcc_run), str(out / "libtiny.so"), *args[:2]], capture_output=True, text=True)
    assert bad.returncode == 1 and "missing --input for model input 'attention_mask'" in bad.stderr
    bad = subprocess.run([str(qcc_run), str(out / "libtiny.so"), *args, "--input", f"nope={src}"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "is not a .npy file" in bad.stderr


@pytest.mark.parametrize("installed", [False, True])
def test_cmake_qcc_add_model(qcc_bin, tmp_path, installed):
    """An app's CMake build compiles the model with qcc_add_model and links
    it, from qcc's build tree and from an installed qcc."""
    build = qcc_bin.parent.parent
    if installed:
        prefix = tmp_path / "prefix"
        run(["cmake", "--install", build, "--prefix", prefix])
        qcc_dir = prefix / "lib" / "cmake" / "qcc"
        assert (prefix / "bin" / "qcc").exists()
    else:
        qcc_dir = build / "lib" / "cmake" / "qcc"
    cfg = llama.SIZES["tiny"]
    src = tmp_path / "llama.onnx"
    llama.build(str(src), cfg)
    app = tmp_path / "app"
    run(["cmake", "-G", "Ninja", "-S", ROOT / "examples" / "cmake", "-B", app,
         f"-Dqcc_DIR={qcc_dir}", f"-DMODEL={src}", "-DCMAKE_C_COMPILER=clang-19",
         "-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld"])
    run(["cmake", "--build", app])
    got = [int(t) for t in run([app / "generate", 9, 8, 7]).stdout.split()]
    assert got == ort_greedy(src, cfg, [9, 8, 7], 8)


def test_thread_count_does_not_change_results(qcc_bin, tmp_path):
    """Matmuls split across threads, both kernel regimes (few rows and
    packed), odd sizes and a batched product: outputs are bit-identical for
    1, 2 and 3 threads and match onnxruntime."""
    rng = np.random.default_rng(7)
    w1 = rng.standard_normal((300, 130)).astype(np.float32)
    w2 = rng.standard_normal((130, 67)).astype(np.float32)
    nodes = [h.make_node("MatMul", ["x", "w1"], ["a"]), h.make_node("Relu", ["a"], ["b"]),
             h.make_node("MatMul", ["b", "w2"], ["y"]),
             h.make_node("MatMul", ["p", "q"], ["z"])]
    graph = h.make_graph(
        nodes, "mm", [h.make_tensor_value_info("x", T.FLOAT, ["m", 300]),
                      h.make_tensor_value_info("p", T.FLOAT, [3, "m", 19]),
                      h.make_tensor_value_info("q", T.FLOAT, [3, 19, 23])],
        [h.make_tensor_value_info("y", T.FLOAT, None), h.make_tensor_value_info("z", T.FLOAT, None)],
        [onnx.numpy_helper.from_array(w1, "w1"), onnx.numpy_helper.from_array(w2, "w2")])
    src = tmp_path / "mm.onnx"
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), src)
    out = build_artifact(qcc_bin, src, tmp_path / "art", "mm")
    sess = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    qcc_run = qcc_bin.parent / "qcc-run"
    for m in (1, 3, 37):
        feeds = {"x": rng.standard_normal((m, 300)).astype(np.float32),
                 "p": rng.standard_normal((3, m, 19)).astype(np.float32),
                 "q": rng.standard_normal((3, 19, 23)).astype(np.float32)}
        args = []
        for k, v in feeds.items():
            np.save(tmp_path / f"{k}.npy", v)
            args += ["--input", f"{k}={tmp_path / f'{k}.npy'}"]
        got = {}
        for threads in (1, 2, 3):
            d = tmp_path / f"outs{m}_{threads}"
            run([qcc_run, out / "libmm.so", *args, "--output-dir", d, "--num-threads", threads])
            got[threads] = [np.load(d / "y.npy"), np.load(d / "z.npy")]
        for threads in (2, 3):
            for g, w in zip(got[threads], got[1]):
                assert np.array_equal(g, w), (m, threads)
        want = sess.run(None, feeds)
        for g, w in zip(got[1], want):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-3)


def test_double_to_half_cast_needs_no_compiler_rt(qcc_bin, tmp_path):
    """The lld-linked library has no compiler-rt: a double -> float16 cast
    must not call __truncdfhf2. It converts through float, as onnxruntime
    does."""
    nodes = [h.make_node("Cast", ["x"], ["y"], to=T.FLOAT16)]
    graph = h.make_graph(nodes, "cast", [h.make_tensor_value_info("x", T.DOUBLE, [5])],
                         [h.make_tensor_value_info("y", T.FLOAT16, [5])])
    src = tmp_path / "cast.onnx"
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), src)
    out = build_artifact(qcc_bin, src, tmp_path / "art", "cast")
    undefined = run(["nm", "-u", out / "libcast.so"]).stdout
    assert "__truncdfhf2" not in undefined
    x = np.array([1.0, -2.5, 65504.0, 1e-6, 0.1], np.float64)
    np.save(tmp_path / "x.npy", x)
    run([qcc_bin.parent / "qcc-run", out / "libcast.so", "--input", f"x={tmp_path / 'x.npy'}",
         "--output-dir", tmp_path / "outs"])
    want = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert np.array_equal(np.load(tmp_path / "outs" / "y.npy"), want)


def test_outputs_sharing_a_buffer(qcc_bin, tmp_path):
    """One tensor returned as several outputs: every output is copied out
    before the shared buffer is freed. (4 MB, so malloc maps it and a read
    after free faults instead of passing by luck.)"""
    nodes = [h.make_node("Relu", ["x"], ["y"]), h.make_node("Identity", ["y"], ["z"]),
             h.make_node("Identity", ["y"], ["w"])]
    g = h.make_graph(nodes, "shared", [h.make_tensor_value_info("x", T.FLOAT, [1024, 1024])],
                     [h.make_tensor_value_info(n, T.FLOAT, None) for n in "yzw"])
    src = tmp_path / "shared.onnx"
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), str(src))
    out = build_artifact(qcc_bin, src, tmp_path / "art", "shared")
    x = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    run([qcc_bin.parent / "qcc-run", out / "libshared.so", "--input", f"x={tmp_path / 'x.npy'}",
         "--output-dir", tmp_path / "outs", "--bench", "2"])
    for n in "yzw":
        np.testing.assert_array_equal(np.load(tmp_path / "outs" / f"{n}.npy"), np.maximum(x, 0))
