# RUN: %python %s matmul %t.mm.onnx && qcc %t.mm.onnx --emit=imported | FileCheck %s --check-prefix=MM
# RUN: %python %s gemm %t.g.onnx && qcc %t.g.onnx --emit=imported | FileCheck %s --check-prefix=GEMM
# RUN: %python %s norms %t.n.onnx && qcc %t.n.onnx --emit=imported | FileCheck %s --check-prefix=NORM
# RUN: %python %s reduce %t.r.onnx && qcc %t.r.onnx --emit=imported | FileCheck %s --check-prefix=RED
# RUN: %python %s reduce_attr %t.ra.onnx && qcc %t.ra.onnx --emit=imported | FileCheck %s --check-prefix=REDA
# RUN: %python %s misc %t.m.onnx && qcc %t.m.onnx --emit=imported | FileCheck %s --check-prefix=MISC
from onnxtest import *

rng = np.random.default_rng(0)


# MM: qcc.matmul %arg0, %{{.*}} : (tensor<?x?x8xf32>, tensor<8x16xf32>) -> tensor<?x?x16xf32>
# MM: qcc.matmul %{{.*}}, %{{.*}} : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?xf32>
@case
def matmul():
    nodes = [h.make_node("MatMul", ["x", "w"], ["h"]), h.make_node("MatMul", ["h", "v"], ["y"])]
    return model(nodes, [vi("x", T.FLOAT, ["b", "s", 8])], [vi("y", T.FLOAT, None)],
                 [init("w", rng.standard_normal((8, 16)).astype(np.float32)),
                  init("v", rng.standard_normal(16).astype(np.float32))])


# GEMM: %[[T:.*]] = qcc.transpose %{{.*}} {perm = array<i64: 1, 0>} : tensor<16x8xf32> -> tensor<8x16xf32>
# GEMM: %[[M:.*]] = qcc.matmul %arg0, %[[T]] : (tensor<3x8xf32>, tensor<8x16xf32>) -> tensor<3x16xf32>
# GEMM: %[[A:.*]] = qcc.mul %[[M]], %{{.*}} : (tensor<3x16xf32>, tensor<f32>) -> tensor<3x16xf32>
# GEMM: %[[B:.*]] = qcc.mul %{{.*}}, %{{.*}} : (tensor<16xf32>, tensor<f32>) -> tensor<16xf32>
# GEMM: qcc.add %[[A]], %[[B]] : (tensor<3x16xf32>, tensor<16xf32>) -> tensor<3x16xf32>
@case
def gemm():
    nodes = [h.make_node("Gemm", ["x", "w", "c"], ["y"], transB=1, alpha=0.5, beta=2.0)]
    return model(nodes, [vi("x", T.FLOAT, [3, 8])], [vi("y", T.FLOAT, None)],
                 [init("w", np.ones((16, 8), np.float32)), init("c", np.ones(16, np.float32))])


# NORM: %[[L:.*]] = qcc.layer_norm %arg0, %{{.*}}, %{{.*}} {axis = 2 : i64, epsilon = 9.99{{.*}}E-13 : f64}
# NORM: %[[S:.*]] = qcc.rms_norm %[[L]], %{{.*}} {axis = 2 : i64, epsilon = 9.99{{.*}}E-7 : f64}
# NORM: %[[R:.*]] = qcc.rms_norm %[[S]], %{{.*}} {axis = 2 : i64, epsilon = 9.99{{.*}}E-6 : f64}
# NORM: qcc.softmax %[[R]] {axis = 2 : i64}
@case
def norms():
    g = init("g", np.ones(8, np.float32))
    nodes = [h.make_node("LayerNormalization", ["x", "g", "g"], ["l"], epsilon=1e-12),
             h.make_node("SimplifiedLayerNormalization", ["l", "g"], ["s"], epsilon=1e-6, axis=-1),
             h.make_node("RMSNormalization", ["s", "g"], ["r"]),
             h.make_node("Softmax", ["r"], ["y"])]
    return model(nodes, [vi("x", T.FLOAT, [2, "s", 8])], [vi("y", T.FLOAT, None)], [g], opset=23)


# RED: qcc.reduce mean %arg0 {axes = array<i64: 2>, keepdims = true} : tensor<2x3x4xf32> -> tensor<2x3x1xf32>
# RED: qcc.reduce sum %{{.*}} {axes = array<i64: 0, 1>, keepdims = false} : tensor<2x3x1xf32> -> tensor<1xf32>
# RED: qcc.reduce max %{{.*}} {axes = array<i64: 0>, keepdims = true} : tensor<1xf32> -> tensor<1xf32>
@case
def reduce():
    nodes = [h.make_node("ReduceMean", ["x", "ax2"], ["m"]),
             h.make_node("ReduceSum", ["m", "ax01"], ["s"], keepdims=0),
             h.make_node("ReduceMax", ["s"], ["y"])]
    return model(nodes, [vi("x", T.FLOAT, [2, 3, 4])], [vi("y", T.FLOAT, None)],
                 [init("ax2", np.array([-1], np.int64)), init("ax01", np.array([0, 1], np.int64))])


# Before opset 18 ReduceMean takes its axes as an attribute.
# REDA: qcc.reduce mean %arg0 {axes = array<i64: 1>, keepdims = false} : tensor<2x3xf32> -> tensor<2xf32>
@case
def reduce_attr():
    nodes = [h.make_node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=0)]
    return model(nodes, [vi("x", T.FLOAT, [2, 3])], [vi("y", T.FLOAT, None)], opset=13)


# MISC: qcc.trilu %arg0 {k = 1 : i64, upper = false} : tensor<4x4xf32>
# MISC: qcc.cumsum %{{.*}} {axis = 1 : i64, exclusive = true} : tensor<4x4xf32>
@case
def misc():
    nodes = [h.make_node("Trilu", ["x", "k"], ["t"], upper=0),
             h.make_node("CumSum", ["t", "ax"], ["y"], exclusive=1)]
    return model(nodes, [vi("x", T.FLOAT, [4, 4])], [vi("y", T.FLOAT, None)],
                 [init("k", np.int64(1)), init("ax", np.int64(-1))])


if __name__ == "__main__":
    main()
