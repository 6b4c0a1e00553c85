"""Builds small ONNX models for importer lit tests.

A test file registers cases with @case and calls main(); lit runs
`%python %s CASE out.onnx` and pipes qcc's output into FileCheck.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

__all__ = ["T", "h", "np", "vi", "init", "model", "case", "main", "onnx"]

_CASES = {}


def vi(name, dtype, shape):
    return h.make_tensor_value_info(name, dtype, shape)


def init(name, value, dtype=None):
    arr = np.asarray(value, dtype=dtype)
    return nh.from_array(arr, name)


def model(nodes, inputs, outputs, inits=(), opset=20, ms=False, ir_version=None):
    graph = h.make_graph(nodes, "test", inputs, outputs, list(inits))
    opsets = [h.make_opsetid("", opset)]
    if ms:
        opsets.append(h.make_opsetid("com.microsoft", 1))
    m = h.make_model(graph, opset_imports=opsets)
    m.ir_version = ir_version or min(onnx.IR_VERSION, 10)
    return m


def case(fn):
    _CASES[fn.__name__] = fn
    return fn


def main():
    name, path = sys.argv[1], sys.argv[2]
    fn = _CASES[name]
    # A case taking the output path writes it (and any side files) itself.
    result = fn(path) if fn.__code__.co_argcount else fn()
    if result is None:
        return
    if isinstance(result, (bytes, bytearray)):
        with open(path, "wb") as f:
            f.write(result)
    else:
        onnx.save(result, path)
