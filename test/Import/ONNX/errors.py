# Bad input never crashes qcc: one diagnostic naming what and where, exit 1.
# RUN: %python %s truncated %t.trunc.onnx && not qcc %t.trunc.onnx 2>&1 | FileCheck %s --check-prefix=TRUNC
# RUN: %python %s garbage %t.garbage.onnx && not qcc %t.garbage.onnx 2>&1 | FileCheck %s --check-prefix=TRUNC
# RUN: not qcc %t.does-not-exist.onnx 2>&1 | FileCheck %s --check-prefix=MISSING
# RUN: rm -rf %t.ext && mkdir -p %t.ext && %python %s ext_missing %t.ext/m.onnx && not qcc %t.ext/m.onnx 2>&1 | FileCheck %s --check-prefix=EXTMISS
# RUN: rm -rf %t.ext2 && mkdir -p %t.ext2 && %python %s ext_range %t.ext2/m.onnx && not qcc %t.ext2/m.onnx 2>&1 | FileCheck %s --check-prefix=EXTRANGE
# RUN: rm -rf %t.ext3 && mkdir -p %t.ext3 && %python %s ext_escape %t.ext3/m.onnx && not qcc %t.ext3/m.onnx 2>&1 | FileCheck %s --check-prefix=EXTESC
# RUN: rm -rf %t.ext4 && mkdir -p %t.ext4 && %python %s ext_ok %t.ext4/m.onnx && qcc %t.ext4/m.onnx --emit=imported --print-weights | FileCheck %s --check-prefix=EXTOK
# RUN: %python %s cycle %t.cycle.onnx && not qcc %t.cycle.onnx 2>&1 | FileCheck %s --check-prefix=CYCLE
# RUN: %python %s dangling %t.dang.onnx && not qcc %t.dang.onnx 2>&1 | FileCheck %s --check-prefix=DANGLING
# RUN: %python %s bad_init_size %t.init.onnx && not qcc %t.init.onnx 2>&1 | FileCheck %s --check-prefix=INITSIZE
# RUN: %python %s negative_dim %t.neg.onnx && not qcc %t.neg.onnx 2>&1 | FileCheck %s --check-prefix=NEGDIM
# RUN: %python %s huge_input %t.huge.onnx && not qcc %t.huge.onnx 2>&1 | FileCheck %s --check-prefix=HUGE
# RUN: %python %s unsupported_op %t.op.onnx && not qcc %t.op.onnx 2>&1 | FileCheck %s --check-prefix=UNSUP
# RUN: %python %s unknown_domain %t.dom.onnx && not qcc %t.dom.onnx 2>&1 | FileCheck %s --check-prefix=DOMAIN
# RUN: %python %s old_opset %t.old.onnx && not qcc %t.old.onnx 2>&1 | FileCheck %s --check-prefix=OPSET
# RUN: %python %s runtime_reshape %t.rr.onnx && not qcc %t.rr.onnx 2>&1 | FileCheck %s --check-prefix=RTSHAPE
# RUN: %python %s shape_mismatch %t.sm.onnx && not qcc %t.sm.onnx 2>&1 | FileCheck %s --check-prefix=MISMATCH
# RUN: %python %s duplicate %t.dup.onnx && not qcc %t.dup.onnx 2>&1 | FileCheck %s --check-prefix=DUP
# RUN: %python %s bad_axis %t.ax.onnx && not qcc %t.ax.onnx 2>&1 | FileCheck %s --check-prefix=AXIS
# RUN: %python %s string_input %t.str.onnx && not qcc %t.str.onnx 2>&1 | FileCheck %s --check-prefix=STR
# RUN: not qcc %t.ext4/m.onnx --dim batch=x 2>&1 | FileCheck %s --check-prefix=DIMARG
import os

from onnxtest import *


def small():
    nodes = [h.make_node("Add", ["x", "w"], ["y"], name="add0")]
    return model(nodes, [vi("x", T.FLOAT, [4])], [vi("y", T.FLOAT, None)],
                 [init("w", np.arange(4, dtype=np.float32))])


# TRUNC: error: '{{.*}}.onnx' is not a valid ONNX model (protobuf parse failed: truncated or corrupt file)
# TRUNC-NOT: error
@case
def truncated():
    data = small().SerializeToString()
    return data[: len(data) // 2]


@case
def garbage():
    return bytes(range(7, 250)) * 3


# MISSING: error: cannot read ONNX model '{{.*}}does-not-exist.onnx'
def _external(path, location, offset=0, length=None, write=True):
    m = small()
    t = m.graph.initializer[0]
    raw = t.raw_data or np.arange(4, dtype=np.float32).tobytes()
    t.ClearField("raw_data")
    t.data_location = onnx.TensorProto.EXTERNAL
    entries = {"location": location, "offset": str(offset)}
    if length is not None:
        entries["length"] = str(length)
    for k, v in entries.items():
        e = t.external_data.add()
        e.key, e.value = k, v
    if write:
        with open(os.path.join(os.path.dirname(path), "weights.bin"), "wb") as f:
            f.write(b"\0" * offset + raw)
    onnx.save(m, path)


# EXTMISS: error: tensor 'w': cannot open external data file '{{.*}}nothere.bin'
@case
def ext_missing(path):
    _external(path, "nothere.bin")


# EXTRANGE: error: tensor 'w': external data range [offset 100, length 16] is outside file '{{.*}}weights.bin' of 16 bytes
@case
def ext_range(path):
    _external(path, "weights.bin", offset=0, length=16)
    # Rewrite the offset past the end of the 16-byte file.
    m = onnx.load(path, load_external_data=False)
    for e in m.graph.initializer[0].external_data:
        if e.key == "offset":
            e.value = "100"
    onnx.save(m, path)


# EXTESC: error: tensor 'w': external data location '../weights.bin' leaves the model directory
@case
def ext_escape(path):
    _external(path, "../weights.bin", write=False)


# EXTOK: arith.constant dense<[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<4xf32>
@case
def ext_ok(path):
    _external(path, "weights.bin", offset=8, length=16)


# CYCLE: error: graph has a cycle through node '{{b|c}}' (Relu)
@case
def cycle():
    nodes = [h.make_node("Relu", ["c"], ["b"], name="b"), h.make_node("Relu", ["b"], ["c"], name="c"),
             h.make_node("Add", ["x", "c"], ["y"], name="a")]
    return model(nodes, [vi("x", T.FLOAT, [1])], [vi("y", T.FLOAT, None)])


# DANGLING: error: node 'add0' (Add) uses 'nowhere', which no node, input or initializer defines
@case
def dangling():
    nodes = [h.make_node("Add", ["x", "nowhere"], ["y"], name="add0")]
    return model(nodes, [vi("x", T.FLOAT, [1])], [vi("y", T.FLOAT, None)])


# INITSIZE: error: tensor 'w' holds 12 bytes but its shape and type (float) need 16
@case
def bad_init_size():
    m = small()
    m.graph.initializer[0].raw_data = np.zeros(3, np.float32).tobytes()
    return m


# NEGDIM: error: tensor 'w' has invalid dim -4
@case
def negative_dim():
    m = small()
    m.graph.initializer[0].dims[0] = -4
    return m


# HUGE: error: graph input 'x' dim 0 has invalid size 9223372036854775807
@case
def huge_input():
    m = small()
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 2**63 - 1
    return m


# UNSUP: error: node 'f0' (Floor): unsupported operator Floor in domain 'ai.onnx' (model opset 20)
@case
def unsupported_op():
    nodes = [h.make_node("Floor", ["x"], ["y"], name="f0")]
    return model(nodes, [vi("x", T.FLOAT, [1])], [vi("y", T.FLOAT, None)])


# DOMAIN: error: node 'n0' (com.example.Frobnicate): unsupported operator Frobnicate in domain 'com.example'
@case
def unknown_domain():
    nodes = [h.make_node("Frobnicate", ["x"], ["y"], name="n0", domain="com.example")]
    m = model(nodes, [vi("x", T.FLOAT, [1])], [vi("y", T.FLOAT, None)])
    m.opset_import.append(h.make_opsetid("com.example", 1))
    return m


# OPSET: error: model uses ai.onnx opset 12; supported opsets are 13 to {{[0-9]+}}
@case
def old_opset():
    return model([h.make_node("Relu", ["x"], ["y"])], [vi("x", T.FLOAT, [1])],
                 [vi("y", T.FLOAT, None)], opset=12)


# RTSHAPE: error: node 'r0' (Reshape): the target shape must be computable at import time
@case
def runtime_reshape():
    nodes = [h.make_node("Reshape", ["x", "s"], ["y"], name="r0")]
    return model(nodes, [vi("x", T.FLOAT, [4]), vi("s", T.INT64, [2])], [vi("y", T.FLOAT, None)])


# MISMATCH: error: node 'mm' (MatMul): matmul operand shapes do not multiply: 'tensor<2x3xf32>' x 'tensor<4x5xf32>'
@case
def shape_mismatch():
    nodes = [h.make_node("MatMul", ["a", "b"], ["y"], name="mm")]
    return model(nodes, [vi("a", T.FLOAT, [2, 3]), vi("b", T.FLOAT, [4, 5])], [vi("y", T.FLOAT, None)])


# DUP: error: value 'y' is defined more than once (node 'second')
@case
def duplicate():
    nodes = [h.make_node("Relu", ["x"], ["y"], name="first"), h.make_node("Neg", ["x"], ["y"], name="second")]
    return model(nodes, [vi("x", T.FLOAT, [1])], [vi("y", T.FLOAT, None)])


# AXIS: error: node 'sm' (Softmax): axis 5 is out of range for rank 2
@case
def bad_axis():
    nodes = [h.make_node("Softmax", ["x"], ["y"], name="sm", axis=5)]
    return model(nodes, [vi("x", T.FLOAT, [2, 2])], [vi("y", T.FLOAT, None)])


# STR: error: graph input 'x' has unsupported element type string (8)
@case
def string_input():
    nodes = [h.make_node("Identity", ["x"], ["y"])]
    return model(nodes, [vi("x", T.STRING, [2])], [vi("y", T.STRING, None)])


# DIMARG: error: --dim expects name=value with a non-negative integer, got 'batch=x'


if __name__ == "__main__":
    main()
