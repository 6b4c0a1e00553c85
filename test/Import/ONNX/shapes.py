# RUN: %python %s reshape %t.r.onnx && qcc %t.r.onnx --emit=imported | FileCheck %s --check-prefix=RESHAPE
# RUN: %python %s shape_chain %t.sc.onnx && qcc %t.sc.onnx --emit=mlir | FileCheck %s --check-prefix=CHAIN
# RUN: %python %s squeeze %t.sq.onnx && qcc %t.sq.onnx --emit=imported | FileCheck %s --check-prefix=SQ
# RUN: %python %s concat_split %t.cs.onnx && qcc %t.cs.onnx --emit=imported | FileCheck %s --check-prefix=CS
# RUN: %python %s slice %t.sl.onnx && qcc %t.sl.onnx --emit=imported | FileCheck %s --check-prefix=SL
# RUN: %python %s gather %t.g.onnx && qcc %t.g.onnx --emit=imported | FileCheck %s --check-prefix=GA
# RUN: %python %s fill_expand_range %t.f.onnx && qcc %t.f.onnx --emit=mlir | FileCheck %s --check-prefix=FILL
# RUN: %python %s constants %t.c.onnx && qcc %t.c.onnx --emit=mlir | FileCheck %s --check-prefix=CONST
# RUN: %python %s reshape %t.r2.onnx && qcc %t.r2.onnx --dim batch=2 --dim seq=5 | FileCheck %s --check-prefix=FIXED
from onnxtest import *


# Undeclared output dims are named after the input dims they trace back to.
# RESHAPE: func.func @main(%arg0: tensor<?x?x12xf32> {qcc.dims = ["batch", "seq", 12]
# RESHAPE-SAME: -> (tensor<?x3x?x4xf32> {qcc.dims = ["batch", 3, "seq", 4]
# RESHAPE-DAG: %[[B:.*]] = qcc.dim %arg0, 0
# RESHAPE-DAG: %[[S:.*]] = qcc.dim %arg0, 1
# RESHAPE-NOT: arith.floordivsi
# RESHAPE: qcc.reshape %arg0[%[[B]], %[[S]]] : tensor<?x?x12xf32> -> tensor<?x?x3x4xf32>
# RESHAPE: qcc.transpose %{{.*}} {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x3x4xf32> -> tensor<?x3x?x4xf32>
# FIXED: func.func @main(%arg0: tensor<2x5x12xf32> {qcc.dims = [2, 5, 12]
# FIXED: qcc.reshape %arg0 : tensor<2x5x12xf32> -> tensor<2x5x3x4xf32>
@case
def reshape():
    nodes = [h.make_node("Reshape", ["x", "shape"], ["r"]),
             h.make_node("Transpose", ["r"], ["y"], perm=[0, 2, 1, 3])]
    return model(nodes, [vi("x", T.FLOAT, ["batch", "seq", 12])], [vi("y", T.FLOAT, None)],
                 [init("shape", np.array([0, 0, 3, -1], np.int64))])


# Shape -> Gather -> Unsqueeze -> Concat -> Reshape folds to dims of the input:
# no shape tensor survives, only qcc.dim index values.
# CHAIN-NOT: qcc.shape
# CHAIN-NOT: qcc.gather
# CHAIN-NOT: qcc.concat
# CHAIN-DAG: %[[B:.*]] = qcc.dim %arg0, 0
# CHAIN-DAG: %[[S:.*]] = qcc.dim %arg0, 1
# CHAIN: %[[N:.*]] = arith.muli %[[S]], %{{.*}} : index
# CHAIN: qcc.reshape %arg0[%[[B]], %[[N]]] : tensor<?x?x4x8xf32> -> tensor<?x?xf32>
@case
def shape_chain():
    nodes = [h.make_node("Shape", ["x"], ["s"]),
             h.make_node("Gather", ["s", "i0"], ["b"], axis=0),
             h.make_node("Gather", ["s", "i1"], ["q"], axis=0),
             h.make_node("Mul", ["q", "c32"], ["n"]),
             h.make_node("Unsqueeze", ["b", "ax0"], ["bu"]),
             h.make_node("Unsqueeze", ["n", "ax0"], ["nu"]),
             h.make_node("Concat", ["bu", "nu"], ["shape"], axis=0),
             h.make_node("Reshape", ["x", "shape"], ["y"])]
    return model(nodes, [vi("x", T.FLOAT, ["batch", "seq", 4, 8])], [vi("y", T.FLOAT, None)],
                 [init("i0", np.int64(0)), init("i1", np.int64(1)), init("c32", np.int64(32)),
                  init("ax0", np.array([0], np.int64))])


# SQ: qcc.reshape %arg0 : tensor<1x3x1xf32> -> tensor<3xf32>
# SQ: qcc.reshape %{{.*}} : tensor<3xf32> -> tensor<1x3x1xf32>
@case
def squeeze():
    nodes = [h.make_node("Squeeze", ["x"], ["s"]), h.make_node("Unsqueeze", ["s", "axes"], ["y"])]
    return model(nodes, [vi("x", T.FLOAT, [1, 3, 1])], [vi("y", T.FLOAT, None)],
                 [init("axes", np.array([0, -1], np.int64))])


# CS: %[[C:.*]] = qcc.concat %arg0, %arg1 {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
# CS: qcc.slice %[[C]] [0, 0] [2, 2] {strides = array<i64: 1, 1>} : tensor<2x8xf32> -> tensor<2x2xf32>
# CS: qcc.slice %[[C]] [0, 2] [2, 6] {strides = array<i64: 1, 1>} : tensor<2x8xf32> -> tensor<2x6xf32>
# CS: qcc.slice %[[C]] [0, 0] [2, 4] {strides = array<i64: 1, 1>}
# CS: qcc.slice %[[C]] [0, 4] [2, 4] {strides = array<i64: 1, 1>}
@case
def concat_split():
    nodes = [h.make_node("Concat", ["a", "b"], ["c"], axis=-1),
             h.make_node("Split", ["c", "sizes"], ["y0", "y1"], axis=1),
             h.make_node("Split", ["c"], ["z0", "z1"], axis=1, num_outputs=2)]
    return model(nodes, [vi("a", T.FLOAT, [2, 3]), vi("b", T.FLOAT, [2, 5])],
                 [vi(n, T.FLOAT, None) for n in ["y0", "y1", "z0", "z1"]],
                 [init("sizes", np.array([2, 6], np.int64))], opset=18)


# SL: %[[D:.*]] = qcc.dim %arg0, 0
# SL: qcc.slice %arg0 [0, 1] [%[[D]], 3] {strides = array<i64: 1, 2>} : tensor<?x8xf32> -> tensor<?x3xf32>
# Negative start counts from the end of a dynamic dim; INT64_MAX end means "to the end".
# SL: %[[O:.*]] = arith.addi %[[D]], %{{.*}} : index
# SL: %[[L:.*]] = arith.subi %[[D]], %[[O]] : index
# SL: qcc.slice %arg0 [%[[O]], 0] [%[[L]], 8] {strides = array<i64: 1, 1>} : tensor<?x8xf32> -> tensor<?x8xf32>
@case
def slice():
    big = np.iinfo(np.int64).max
    nodes = [h.make_node("Slice", ["x", "s0", "e0", "a0", "st0"], ["y"]),
             h.make_node("Slice", ["x", "s1", "e1"], ["z"])]
    return model(nodes, [vi("x", T.FLOAT, ["n", 8])], [vi("y", T.FLOAT, None), vi("z", T.FLOAT, None)],
                 [init("s0", np.array([1], np.int64)), init("e0", np.array([7], np.int64)),
                  init("a0", np.array([1], np.int64)), init("st0", np.array([2], np.int64)),
                  init("s1", np.array([-2], np.int64)), init("e1", np.array([big], np.int64))])


# GA: qcc.gather %{{.*}}[%arg0] {axis = 0 : i64} : (tensor<100x16xf32>, tensor<?x?xi64>) -> tensor<?x?x16xf32>
@case
def gather():
    nodes = [h.make_node("Gather", ["emb", "ids"], ["y"])]
    return model(nodes, [vi("ids", T.INT64, ["b", "s"])], [vi("y", T.FLOAT, None)],
                 [init("emb", np.zeros((100, 16), np.float32))])


# FILL: arith.constant dense<[0, 2, 4, 6]> : tensor<4xi64>
# FILL: %[[S:.*]] = qcc.dim %arg0, 1
# FILL: qcc.fill[%[[S]]] 1.000000e+00 : f32 : tensor<2x?xf32>
# FILL: qcc.expand %arg1[%[[S]]] : tensor<1x1xf32> -> tensor<2x?xf32>
@case
def fill_expand_range():
    one = h.make_tensor("one", T.FLOAT, [1], [1.0])
    nodes = [h.make_node("Shape", ["x"], ["s"]),
             h.make_node("ConstantOfShape", ["s"], ["f"], value=one),
             h.make_node("Expand", ["e", "s"], ["g"]),
             h.make_node("Range", ["r0", "r1", "r2"], ["r"])]
    return model(nodes, [vi("x", T.FLOAT, [2, "n"]), vi("e", T.FLOAT, [1, 1])],
                 [vi("f", T.FLOAT, None), vi("g", T.FLOAT, None), vi("r", T.INT64, None)],
                 [init("r0", np.int64(0)), init("r1", np.int64(7)), init("r2", np.int64(2))])


# CONST: arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
# CONST: arith.constant dense<[3, 4]> : tensor<2xi64>
# CONST: arith.constant dense<{{\[}}[1, -2], [3, -4]]> : tensor<2x2xi4>
# CONST: arith.constant dense<[true, false]> : tensor<2xi1>
# CONST: arith.constant dense<1.500000e+00> : tensor<f16>
@case
def constants():
    nodes = [h.make_node("Constant", [], ["a"], value_floats=[1.0, 2.0]),
             h.make_node("Constant", [], ["b"], value_ints=[3, 4]),
             h.make_node("Constant", [], ["c"], value=h.make_tensor("c", T.INT4, [2, 2], [1, -2, 3, -4])),
             h.make_node("Constant", [], ["d"], value=h.make_tensor("d", T.BOOL, [2], [True, False])),
             h.make_node("Constant", [], ["e"], value=init("e", np.float16(1.5)))]
    return model(nodes, [], [vi(n, T.UNDEFINED, None) for n in "abcde"], opset=21)


if __name__ == "__main__":
    main()
