"""The ONNX backend node tests shipped with the onnx package, for the
operators qcc imports.

The test cases are generated from onnx.backend.test.case.node. Each one whose
operators are all supported is imported with qcc:

* in scope (opset >= 13, tensor types qcc handles): it must import. Inputs
  that exported transformers always carry as constants (shapes, axes, split
  sizes, Trilu's k, CumSum's axis) are bound to the test's own input data as
  initializers first, since the importer folds them at compile time.
* out of scope (opset < 13, float8/float4/2-bit/16-bit-quantized types,
  strings, sequences, and the few features in KNOWN_REFUSALS): it must be
  refused cleanly, with exit code 1 and one error message, never a crash.

The counts are written to build/onnx-node-tests.txt.
"""
import os
import subprocess
import warnings

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from conftest import BUILD

SUPPORTED_OPS = set("""
MatMul Gemm Add Sub Mul Div Pow Sqrt Reciprocal Neg Exp Log Tanh Erf Sigmoid Relu
Gelu Softmax LayerNormalization RMSNormalization ReduceMean ReduceSum ReduceMax
ReduceMin ReduceProd Reshape Transpose Squeeze Unsqueeze Concat Split Slice Gather
Shape Size ConstantOfShape Expand Where Equal Less Greater Not And Or Cast Range
Constant Identity Trilu CumSum Min Max Clip Abs Sum RotaryEmbedding QuantizeLinear
DequantizeLinear DynamicQuantizeLinear MatMulInteger QLinearMatMul
""".split())

# (op, input index) pairs that exporters always feed with constants.
STRUCTURAL = {("Reshape", 1), ("Expand", 1), ("ConstantOfShape", 0), ("Squeeze", 1),
              ("Unsqueeze", 1), ("Split", 1), ("Trilu", 1), ("CumSum", 1),
              ("Slice", 1), ("Slice", 2), ("Slice", 3), ("Slice", 4)}
STRUCTURAL |= {(op, 1) for op in SUPPORTED_OPS if op.startswith("Reduce")}

T = onnx.TensorProto
OUT_OF_SCOPE_TYPES = {T.STRING, T.FLOAT8E4M3FN, T.FLOAT8E4M3FNUZ, T.FLOAT8E5M2, T.FLOAT8E5M2FNUZ}
# 16-bit integers are fine as data, but not as a quantized storage type.
QUANT16 = {T.INT16, T.UINT16}
QUANT_OPS = {"QuantizeLinear", "DequantizeLinear"}

# Features qcc refuses on purpose, each with a clear message; no transformer
# export we know of needs them.
KNOWN_REFUSALS = {
    "test_slice_neg_steps": "negative slice steps",
    "test_greater_uint64": "ordered uint64 comparison",
    "test_greater_equal_uint64_expanded": "ordered uint64 comparison",
    "test_less_uint64": "ordered uint64 comparison",
    "test_less_equal_uint64_expanded": "ordered uint64 comparison",
}
for name in ("FLOAT4E2M1", "INT2", "UINT2", "FLOAT8E8M0"):
    if hasattr(T, name):
        OUT_OF_SCOPE_TYPES.add(getattr(T, name))


def _types_in(model):
    types = set()
    for vi in list(model.graph.input) + list(model.graph.output) + list(model.graph.value_info):
        if not vi.type.HasField("tensor_type"):
            types.add("non-tensor")
        else:
            types.add(vi.type.tensor_type.elem_type)
    for n in model.graph.node:
        for a in n.attribute:
            if a.name in ("to", "output_dtype"):
                types.add(a.i)
    return types


def _out_of_scope(case):
    model = case.model
    types = _types_in(model)
    if _opset(model) < 13 or types & (OUT_OF_SCOPE_TYPES | {"non-tensor"}):
        return True
    if types & QUANT16 and any(n.op_type in QUANT_OPS for n in model.graph.node):
        return True
    return case.name in KNOWN_REFUSALS


def _opset(model):
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def _bind_structural_inputs(case):
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    feeds = dict(zip([i.name for i in model.graph.input], case.data_sets[0][0])) if case.data_sets else {}
    bind = {n.input[i] for n in model.graph.node for (op, i) in STRUCTURAL
            if n.op_type == op and i < len(n.input) and n.input[i] in feeds}
    if not bind:
        return model, 0
    keep = [i for i in model.graph.input if i.name not in bind]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    for name in bind:
        model.graph.initializer.append(numpy_helper.from_array(np.asarray(feeds[name]), name))
    return model, len(bind)


def _cases():
    from onnx.backend.test.case import node
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node.collect_testcases(None)
    return [c for c in cases
            if c.model.graph.node and {n.op_type for n in c.model.graph.node} <= SUPPORTED_OPS]


def test_backend_node_models(qcc_bin, tmp_path):
    imported, bound, refused, failures = 0, 0, 0, []
    cases = _cases()
    for case in cases:
        out_of_scope = _out_of_scope(case)
        model, n_bound = _bind_structural_inputs(case) if not out_of_scope else (case.model, 0)
        path = tmp_path / f"{case.name}.onnx"
        onnx.save(model, str(path))
        proc = subprocess.run([str(qcc_bin), str(path), "--emit=imported", "-o", os.devnull],
                              capture_output=True, text=True)
        errors = [l for l in proc.stderr.splitlines() if "error:" in l]
        if out_of_scope:
            if proc.returncode == 1 and len(errors) == 1:
                refused += 1
            else:
                failures.append(f"{case.name}: expected a clean refusal, got rc={proc.returncode}: {proc.stderr[:300]}")
        elif proc.returncode == 0:
            imported += 1
            bound += n_bound > 0
        else:
            failures.append(f"{case.name}: rc={proc.returncode}: {proc.stderr.strip()[:300]}")
    report = (f"ONNX backend node tests for supported operators: {len(cases)}\n"
              f"  imported: {imported} (of which {bound} with structural inputs bound as constants)\n"
              f"  out of scope, refused cleanly: {refused}\n"
              f"  failures: {len(failures)}\n")
    BUILD.mkdir(parents=True, exist_ok=True)
    (BUILD / "onnx-node-tests.txt").write_text(report + "".join(f"    {f}\n" for f in failures))
    print(report)
    assert not failures, report + "\n".join(failures)


# Element types the ctypes harness cannot hand over as numpy arrays; such
# cases are compiled but not run.
UNMARSHALLABLE = {T.BFLOAT16, T.INT4, T.UINT4}


def _as_array(value):
    return numpy_helper.to_array(value) if isinstance(value, onnx.TensorProto) else np.asarray(value)


def test_backend_node_numerics(qcc_bin, tmp_path):
    """Every in-scope node test compiles to a native object and computes the
    test's expected outputs (at the test's tolerance, at least 1e-3 / 1e-5)."""
    from compiled import CompiledModel
    ran, compiled_only, failures = 0, 0, []
    only = os.environ.get("QCC_NODE_TESTS")
    for case in _cases():
        if only and only not in case.name:
            continue
        if _out_of_scope(case):
            continue
        model, _ = _bind_structural_inputs(case)
        workdir = tmp_path / case.name
        workdir.mkdir()
        path = workdir / "model.onnx"
        onnx.save(model, str(path))
        try:
            compiled = CompiledModel(qcc_bin, path, workdir)
        except subprocess.CalledProcessError as e:
            failures.append(f"{case.name}: compile failed: {(e.stderr or b'').decode()[:300]}")
            continue
        if _types_in(model) & UNMARSHALLABLE:
            compiled_only += 1
            continue
        inputs, expected = case.data_sets[0]
        names = [i.name for i in model.graph.input]
        feeds = {vi.name: _as_array(v) for vi, v in zip(case.model.graph.input, inputs)
                 if vi.name in names}
        try:
            got = compiled(feeds)
            for g, w in zip(got, expected):
                w = _as_array(w)
                assert g.shape == w.shape, f"shape {g.shape} != {w.shape}"
                np.testing.assert_allclose(g.astype(w.dtype) if w.dtype != g.dtype else g, w,
                                           rtol=max(case.rtol, 1e-3), atol=max(case.atol, 1e-5))
            ran += 1
        except AssertionError as e:
            failures.append(f"{case.name}: {str(e).strip().splitlines()[0][:200]}")
    report = (f"ONNX backend node tests run compiled: {ran} match, {compiled_only} compiled "
              f"(types the harness cannot pass), {len(failures)} failures\n")
    (BUILD / "onnx-node-tests.txt").open("a").write(report + "".join(f"    {f}\n" for f in failures))
    print(report)
    assert not failures, report + "\n".join(failures)
