"""qcc's own quantization (--w8a8, --w4a8, --w4a16, --w8a16): compiled layers
against the numpy reference of the same arithmetic, the report, and the
accuracy of the real MiniLM encoder against its float model."""
import json
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from compiled import CompiledModel
from qcc import quant_ref
from qcc.models import minilm


def linear_model(path, w, b):
    nodes = [h.make_node("MatMul", ["x", "w"], ["xw"], name="proj"),
             h.make_node("Add", ["xw", "b"], ["h"], name="proj_bias"),
             h.make_node("Relu", ["h"], ["y"], name="act")]
    g = h.make_graph(nodes, "lin", [h.make_tensor_value_info("x", T.FLOAT, ["m", w.shape[0]])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [nh.from_array(w, "w"), nh.from_array(b, "b")])
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), str(path))


# flags, bits, group, asym, algo, int8 activations
CASES = [
    (["--w8a8"], 8, None, False, "rtn", True),
    (["--w8a16"], 8, None, False, "rtn", False),
    (["--w4a8"], 4, 32, False, "rtn", True),
    (["--w4a16", "--group=64", "--asym"], 4, 64, True, "rtn", False),
    (["--w4a8", "--algo=mse", "--asym"], 4, 32, True, "mse", True),
    (["--w4a16", "--group=per-channel", "--algo=mse"], 4, None, False, "mse", False),
]


@pytest.mark.parametrize("flags,bits,group,asym,algo,act", CASES,
                         ids=[" ".join(c[0]) for c in CASES])
def test_quantized_linear_matches_reference(qcc_bin, tmp_path, flags, bits, group, asym, algo, act):
    # K = 80: groups of 32 and 64 leave a shorter last group.
    rng = np.random.default_rng(11)
    w = (rng.standard_normal((80, 48)) * 0.1).astype(np.float32)
    w[:, 3] = 0.0  # an all-zero column takes scale 1
    b = rng.standard_normal(48).astype(np.float32)
    path = tmp_path / "lin.onnx"
    linear_model(path, w, b)
    x = rng.standard_normal((5, 80)).astype(np.float32)
    got = CompiledModel(qcc_bin, path, tmp_path, extra_args=flags)({"x": x})[0]
    q, s, zp = quant_ref.quantize_weight(w, bits, group, asym, algo)
    ref = np.maximum(quant_ref.qlinear(x, q, s, zp, group=group, act_bits=8 if act else None,
                                       bias=b), 0)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    # Quantization is not a no-op, and not far off the float layer.
    flt = np.maximum(x @ w + b, 0)
    assert 0 < quant_ref.sqnr_db(flt, got) < 60
    assert quant_ref.sqnr_db(flt, got) > (30 if bits == 8 else 12)


def test_gemm_with_transposed_weight_is_quantized(qcc_bin, tmp_path):
    """A Gemm with transB (PyTorch's export of nn.Linear on 2-D inputs)
    stores its weight [N, K]; it is quantized like a MatMul's [K, N]."""
    rng = np.random.default_rng(12)
    w = (rng.standard_normal((64, 24)) * 0.1).astype(np.float32)
    b = rng.standard_normal(24).astype(np.float32)
    g = h.make_graph([h.make_node("Gemm", ["x", "wt", "b"], ["y"], transB=1, name="fc")], "gemm",
                     [h.make_tensor_value_info("x", T.FLOAT, ["m", 64])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [nh.from_array(np.ascontiguousarray(w.T), "wt"), nh.from_array(b, "b")])
    path = tmp_path / "gemm.onnx"
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), str(path))
    report = tmp_path / "r.json"
    x = rng.standard_normal((3, 64)).astype(np.float32)
    got = CompiledModel(qcc_bin, path, tmp_path,
                        extra_args=["--w4a8", f"--report={report}"])({"x": x})[0]
    (layer,) = json.loads(report.read_text())["layers"]
    # A model output keeps 8-bit per-column weights (the lm_head rule).
    assert layer["layer"] == "fc" and layer["shape"] == [64, 24]
    q, s, _ = quant_ref.quantize_weight(w, 8, None)
    ref = quant_ref.qlinear(x, q, s, act_bits=8, bias=b)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float16, "bfloat16"])
def test_half_precision_model_is_quantized(qcc_bin, tmp_path, dtype):
    """A model stored in f16 or bf16 (a half-precision export) gets its
    linear layers quantized like an f32 model's: the layer runs on the f32
    kernels between casts, so the result is the f32 reference rounded once;
    calibration probes and the measured error work on it too."""
    rng = np.random.default_rng(13)
    w = (rng.standard_normal((64, 24)) * 0.1).astype(np.float32)
    b = rng.standard_normal(24).astype(np.float32)
    elem = T.FLOAT16 if dtype is np.float16 else T.BFLOAT16

    def bf16_round(a):  # to nearest, ties to even
        u = a.astype(np.float32).view(np.uint32).astype(np.uint64)
        u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16 << 16
        return u.astype(np.uint32).view(np.float32)

    def half(a):
        if dtype is np.float16:
            return nh.from_array(a.astype(np.float16))
        bits = (bf16_round(a).view(np.uint32) >> 16).astype(np.uint16)
        return h.make_tensor("", T.BFLOAT16, a.shape, bits.tobytes(), raw=True)

    rounded = (lambda a: a.astype(np.float16).astype(np.float32)) if dtype is np.float16 \
        else bf16_round
    wi, bi = half(w), half(b)
    wi.name, bi.name = "w", "b"
    nodes = [h.make_node("MatMul", ["x", "w"], ["xw"], name="proj"),
             h.make_node("Add", ["xw", "b"], ["hb"], name="proj_bias"),
             h.make_node("Relu", ["hb"], ["r"], name="act"),
             h.make_node("Cast", ["r"], ["y"], to=T.FLOAT, name="out")]
    g = h.make_graph([h.make_node("Cast", ["x32"], ["x"], to=elem, name="in")] + nodes, "half",
                     [h.make_tensor_value_info("x32", T.FLOAT, ["m", 64])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], [wi, bi])
    path = tmp_path / "half.onnx"
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), str(path))
    calib = tmp_path / "calib"
    calib.mkdir()
    for i in range(3):
        np.savez(calib / f"s{i}.npz", x32=rng.standard_normal((4, 64)).astype(np.float32))
    report = tmp_path / "r.json"
    x = rng.standard_normal((3, 64)).astype(np.float32)
    got = CompiledModel(qcc_bin, path, tmp_path, extra_args=[
        "--w4a8", "--act=dynamic", f"--calib={calib}", f"--report={report}"])({"x32": x})[0]
    rep = json.loads(report.read_text())
    (layer,) = rep["layers"]
    assert layer["layer"] == "proj" and layer["scheme"] == "s4 g32, int8 activations"
    assert layer["measured_sqnr_db"] > 15
    q, s, _ = quant_ref.quantize_weight(rounded(w), 4, 32)
    ref = quant_ref.qlinear(rounded(x), q, s, group=32, act_bits=8, bias=rounded(b))
    np.testing.assert_allclose(got, np.maximum(rounded(ref), 0), rtol=1e-2, atol=1e-2)
    assert quant_ref.sqnr_db(np.maximum(rounded(ref), 0), got) > 35


def test_report_and_manifest(qcc_bin, tmp_path):
    rng = np.random.default_rng(2)
    w = rng.standard_normal((64, 16)).astype(np.float32)
    path = tmp_path / "lin.onnx"
    linear_model(path, w, np.zeros(16, np.float32))
    report = tmp_path / "report.json"
    proc = subprocess.run([str(qcc_bin), str(path), "--w4a8", "--group=32", f"--report={report}",
                           "-o", str(tmp_path / "m")], capture_output=True, text=True, check=True)
    assert "proj" in proc.stdout and "s4 g32, int8 activations" in proc.stdout
    rep = json.loads(report.read_text())
    (layer,) = rep["layers"]
    assert layer["layer"] == "proj" and layer["shape"] == [64, 16] and rep["scheme"] == "w4a8"
    q, s, _ = quant_ref.quantize_weight(w, 4, 32)
    want = quant_ref.sqnr_db(w, quant_ref.dequantize(q, np.repeat(s, 32, 0)))
    assert abs(layer["weight_sqnr_db"] - want) < 1e-3
    manifest = json.loads((tmp_path / "m.json").read_text())
    assert manifest["quantization"]["layers"][0]["layer"] == "proj"


@pytest.mark.parametrize("args,message", [
    (["--group=32"], "need a quantization scheme"),
    (["--w4a8", "--group=48"], "--group expects a power of two"),
    (["--w4a8", "--algo=best"], "unknown --algo 'best'"),
    (["--w8a8", "--act=static"], "--act=static needs calibration data (--calib)"),
    (["--w8a8", "--calib-method=mse"], "--calib-method and --percentile need calibration data"),
    (["--w4a16", "--act=dynamic"], "keep them float"),
    (["--w4a16", "--algo=awq"], "--algo=awq needs calibration data (--calib)"),
    (["--w4a16", "--gptq-damp=0"], "--gptq-damp must be a positive number, got 0"),
    (["--gptq-damp=0.5"], "need a quantization scheme"),
    (["--w4a8", "--quantize-attention"], "--quantize-attention applies to --w8a8"),
])
def test_bad_options(qcc_bin, tmp_path, args, message):
    path = tmp_path / "lin.onnx"
    linear_model(path, np.ones((8, 4), np.float32), np.zeros(4, np.float32))
    proc = subprocess.run([str(qcc_bin), str(path), *args, "-o", str(tmp_path / "m")],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr


SENTENCES = ["A man is playing a guitar.", "Compilers turn programs into machine code.",
             "The cat sleeps on the warm windowsill.", "Quantization trades bits for speed.",
             "It rained all afternoon in the mountains.", "She ordered a coffee and a croissant.",
             "The stock market fell sharply on Monday.", "Birds migrate south for the winter."]


def test_minilm_accuracy(qcc_bin, tmp_path):
    """Mean cosine similarity of MiniLM sentence embeddings, quantized vs
    float, over fixed sentences. The issue's targets: w8a8 >= 0.995 (with or
    without the attention products on int8), w4a8 g32
    >= 0.97 (met with zero points), w4a16 g128 >= 0.98 (met by calibrated
    GPTQ, asserted in test_minilm_gptq_beats_rtn; the calibration-free MSE
    search reaches 0.965 and the floor below guards that figure)."""
    path = tmp_path / "minilm.onnx"
    minilm.build(str(path))
    ids, mask = minilm.Tokenizer().batch(SENTENCES)
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    ref = CompiledModel(qcc_bin, path, tmp_path)(feeds)[1]
    floors = {("--w8a8",): 0.995, ("--w8a8", "--quantize-attention"): 0.995,
              ("--w4a8", "--group=32", "--asym"): 0.97,
              ("--w4a16", "--group=128", "--asym", "--algo=mse"): 0.96}
    for flags, floor in floors.items():
        emb = CompiledModel(qcc_bin, path, tmp_path, extra_args=flags)(feeds)[1]
        cos = np.sum(emb * ref, -1) / (np.linalg.norm(emb, axis=-1) * np.linalg.norm(ref, axis=-1))
        print(f"MiniLM {' '.join(flags)}: mean cosine {cos.mean():.5f}, min {cos.min():.5f}")
        assert cos.mean() >= floor, (flags, cos)


def two_layer_model(path, rng):
    w1 = (rng.standard_normal((64, 32)) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((32, 16)) * 0.1).astype(np.float32)
    nodes = [h.make_node("MatMul", ["x", "w1"], ["a"], name="blocks.0.fc"),
             h.make_node("Relu", ["a"], ["r"], name="act"),
             h.make_node("MatMul", ["r", "w2"], ["b"], name="blocks.1.fc"),
             h.make_node("Relu", ["b"], ["y"], name="act2")]
    g = h.make_graph(nodes, "two", [h.make_tensor_value_info("x", T.FLOAT, ["m", 64])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [nh.from_array(w1, "w1"), nh.from_array(w2, "w2")])
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), str(path))
    return w1, w2


YAML_RECIPE = r"""# blocks.0 stays float; every other block gets 8-bit MSE weights
rules:
  - match: "blocks.0.*"
    float: true
  - match: 're:blocks\.[0-9]+\.fc'
    bits: 8
    group: per-channel
    algo: mse
"""


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_recipe_overrides_layers(qcc_bin, tmp_path, fmt):
    """The first matching rule sets a layer's configuration: blocks.0 stays
    float, blocks.1 gets 8-bit per-channel MSE weights on top of --w4a16;
    the recipe reads the same as JSON or YAML."""
    rng = np.random.default_rng(4)
    path = tmp_path / "two.onnx"
    w1, w2 = two_layer_model(path, rng)
    recipe = tmp_path / f"recipe.{fmt}"
    recipe.write_text(YAML_RECIPE if fmt == "yaml" else json.dumps({"rules": [
        {"match": "blocks.0.*", "float": True},
        {"match": "re:blocks\\.[0-9]+\\.fc", "bits": 8, "group": "per-channel", "algo": "mse"}]}))
    report = tmp_path / "r.json"
    x = rng.standard_normal((3, 64)).astype(np.float32)
    model = CompiledModel(qcc_bin, path, tmp_path,
                          extra_args=["--w4a16", f"--recipe={recipe}", f"--report={report}"])
    got = model({"x": x})[0]
    q, s, _ = quant_ref.quantize_weight(w2, 8, None, False, "mse")
    ref = np.maximum(quant_ref.qlinear(np.maximum(x @ w1, 0), q, s), 0)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    layers = {l["layer"]: l for l in json.loads(report.read_text())["layers"]}
    assert layers["blocks.0.fc"]["scheme"] == "float"
    assert layers["blocks.0.fc"]["note"] == "set by recipe rule 1 ('blocks.0.*')"
    assert layers["blocks.1.fc"]["scheme"].startswith("s8 per-channel")
    assert layers["blocks.1.fc"]["algo"] == "mse"


@pytest.mark.parametrize("recipe,message", [
    ({"rules": [{"match": "decoder.*", "float": True}]},
     "rule 1 ('decoder.*') matches no linear layer (layers are named like: blocks.0.fc, blocks.1.fc)"),
    ({"rules": [{"match": "blocks.*", "float": True}, {"match": "blocks.1.*", "bits": 8}]},
     "rule 2 ('blocks.1.*') only matches layers earlier rules already set"),
    ({"rules": [{"match": "blocks.*", "bits": 3}]},
     "3-bit weights are not supported; qcc's weight schemes hold 4 or 8 bits"),
    ({"rules": [{"match": "blocks.*", "group": 48}]}, "\"group\" must be a power of two"),
    ({"rules": [{"match": "blocks.*", "bitz": 4}]}, "unknown key 'bitz'"),
    ({"rules": [{"match": "re:blocks.(", "float": True}]}, "bad regular expression"),
    ("not json {", "is not valid JSON"),
    # YAML recipes: (file suffix, text).
    (("yml", "rules:\n  - match: [blocks\n"), "recipe.yml:2:19: error: Could not find closing ]"),
    (("yml", "rules:\n  - match: &m blocks.*\n    float: true\n"),
     "anchors and aliases are not supported"),
    (("yaml", "rules:\n  - match: blocks.*\n    bits: 3\n"),
     "3-bit weights are not supported; qcc's weight schemes hold 4 or 8 bits"),
    (("yml", "rules:\n  - match: blocks.*\n    float: yes please\n"),
     "\"float\" must be true or false"),
    (("yml", "rules: []\n---\nrules: []\n"), "expected a single YAML document"),
])
def test_bad_recipes(qcc_bin, tmp_path, recipe, message):
    path = tmp_path / "two.onnx"
    two_layer_model(path, np.random.default_rng(0))
    suffix, text = recipe if isinstance(recipe, tuple) else ("json", recipe)
    f = tmp_path / f"recipe.{suffix}"
    f.write_text(text if isinstance(text, str) else json.dumps(text))
    proc = subprocess.run([str(qcc_bin), str(path), "--w4a8", f"--recipe={f}", "-o",
                           str(tmp_path / "m")], capture_output=True, text=True)
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr


def test_report_command_and_chart(qcc_bin, tmp_path):
    """`qcc report` reads a report back: the table, and with --plot an SVG
    chart with one weight-SQNR bar per quantized layer."""
    import xml.etree.ElementTree as ET
    path = tmp_path / "two.onnx"
    two_layer_model(path, np.random.default_rng(3))
    report = tmp_path / "r.json"
    subprocess.run([str(qcc_bin), str(path), "--w4a8", f"--report={report}", "-o",
                    str(tmp_path / "m")], check=True, capture_output=True)
    layers = json.loads(report.read_text())["layers"]
    chart = tmp_path / "c.svg"
    proc = subprocess.run([str(qcc_bin), "report", str(report), f"--plot={chart}"],
                          capture_output=True, text=True, check=True)
    assert "scheme: w4a8" in proc.stdout
    for layer in layers:
        assert layer["layer"] in proc.stdout
    svg = ET.parse(chart).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    bars = [r.find(f"{ns}title").text for r in svg.iter(f"{ns}rect") if r.find(f"{ns}title") is not None]
    assert bars == [f"{layer['weight_sqnr_db']:.2f} dB" for layer in layers]
    labels = [t.text for t in svg.iter(f"{ns}text")]
    assert all(layer["layer"] in labels for layer in layers)


@pytest.mark.parametrize("content,args,message", [
    (None, [], "cannot read"),
    ("{not json", [], "is not JSON"),
    ('{"scheme": "w8a8"}', [], "is not a qcc quantization report"),
    ('{"layers": []}', ["--plot=c.png"], "--plot writes an SVG chart"),
])
def test_report_command_errors(qcc_bin, tmp_path, content, args, message):
    report = tmp_path / "r.json"
    if content is not None:
        report.write_text(content)
    proc = subprocess.run([str(qcc_bin), "report", str(report), *args], capture_output=True,
                          text=True)
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr


def test_quantize_attention_matches_reference(qcc_bin, tmp_path):
    """--quantize-attention: scores Q K^T and the weighted sum P V run on
    int8 with i32 accumulators, Q, K and V with dynamic per-tensor scales,
    the softmax probabilities with their fixed range (scale 1/127); equal to
    the numpy reference of that arithmetic up to float rounding."""
    from qcc import quant_ref
    nodes = [h.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
             h.make_node("MatMul", ["q", "kt"], ["s"], name="scores"),
             h.make_node("Softmax", ["s"], ["p"], axis=-1),
             h.make_node("MatMul", ["p", "v"], ["o"], name="context")]
    shape = ["b", 2, "t", 16]
    g = h.make_graph(nodes, "att", [h.make_tensor_value_info(n, T.FLOAT, shape) for n in "qkv"],
                     [h.make_tensor_value_info("o", T.FLOAT, None)])
    path = tmp_path / "att.onnx"
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), str(path))
    rng = np.random.default_rng(17)
    q, k, v = (rng.standard_normal((2, 2, 7, 16)).astype(np.float32) for _ in range(3))
    report = tmp_path / "r.json"
    got = CompiledModel(qcc_bin, path, tmp_path,
                        extra_args=["--w8a8", "--quantize-attention", f"--report={report}"])(
        {"q": q, "k": k, "v": v})[0]
    s = quant_ref.activation_product(q, k.transpose(0, 1, 3, 2))
    e = np.exp(s - s.max(-1, keepdims=True))
    p = (e / e.sum(-1, keepdims=True)).astype(np.float32)
    want = quant_ref.activation_product(p, v, a_range=1.0)
    # The compiled softmax differs from numpy's in the last bits, which can
    # move a probability across a rounding boundary: one 1/127 step of P
    # times |V|, max|V| / 127 at most, on a few outputs.
    assert np.abs(got - want).max() <= np.abs(v).max() / 127 * 1.001
    assert np.mean(np.isclose(got, want, rtol=1e-5, atol=1e-5)) > 0.95
    layers = {l["layer"]: l for l in json.loads(report.read_text())["layers"]}
    assert layers["scores"]["scheme"] == "activation product, int8 x int8 per-tensor"
    assert layers["context"]["note"] == "qcc.softmax range fixes a scale"
