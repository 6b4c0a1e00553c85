# RUN: %python %s binary %t.bin.onnx && qcc %t.bin.onnx --emit=imported | FileCheck %s --check-prefix=BIN
# RUN: %python %s unary %t.un.onnx && qcc %t.un.onnx --emit=imported | FileCheck %s --check-prefix=UN
# RUN: %python %s logic %t.lg.onnx && qcc %t.lg.onnx --emit=imported | FileCheck %s --check-prefix=LG
# RUN: %python %s minmax %t.mm.onnx && qcc %t.mm.onnx --emit=imported | FileCheck %s --check-prefix=MM
# RUN: %python %s cast %t.c.onnx && qcc %t.c.onnx --emit=imported | FileCheck %s --check-prefix=CAST
from onnxtest import *


# BIN-LABEL: func.func @main(%arg0: tensor<?x4xf32> {qcc.dims = ["n", 4], qcc.dtype = 1 : i32, qcc.name = "a"}, %arg1: tensor<4xf32> {qcc.dims = [4], qcc.dtype = 1 : i32, qcc.name = "b"})
# BIN: %[[ADD:.*]] = qcc.add %arg0, %arg1 : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
# BIN: %[[SUB:.*]] = qcc.sub %[[ADD]], %arg1
# BIN: %[[MUL:.*]] = qcc.mul %[[SUB]], %arg0 : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
# BIN: %[[DIV:.*]] = qcc.div %[[MUL]], %arg1
# BIN: %[[POW:.*]] = qcc.pow %[[DIV]], %{{.*}} : (tensor<?x4xf32>, tensor<f32>) -> tensor<?x4xf32>
# BIN: return %[[POW]] : tensor<?x4xf32>
@case
def binary():
    nodes = [h.make_node("Add", ["a", "b"], ["s"]), h.make_node("Sub", ["s", "b"], ["d"]),
             h.make_node("Mul", ["d", "a"], ["m"]), h.make_node("Div", ["m", "b"], ["q"]),
             h.make_node("Pow", ["q", "two"], ["y"])]
    return model(nodes, [vi("a", T.FLOAT, ["n", 4]), vi("b", T.FLOAT, [4])],
                 [vi("y", T.FLOAT, None)], [init("two", np.float32(2))])


# UN: qcc.neg {{.*}} : tensor<2x3xf32>
# UN: qcc.abs
# UN: qcc.sqrt
# UN: qcc.reciprocal
# UN: qcc.exp
# UN: qcc.log
# UN: qcc.tanh
# UN: qcc.erf
# UN: qcc.sigmoid
# UN: qcc.relu
# UN: qcc.gelu %{{.*}} {approximate = #qcc<gelu_approx tanh>}
# UN: %[[C:.*]] = qcc.clip %{{.*}} {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64}
# UN-NEXT: return %[[C]]
@case
def unary():
    ops = ["Neg", "Abs", "Sqrt", "Reciprocal", "Exp", "Log", "Tanh", "Erf", "Sigmoid", "Relu"]
    nodes, prev = [], "x"
    for i, op in enumerate(ops):
        nodes.append(h.make_node(op, [prev], [f"t{i}"]))
        prev = f"t{i}"
    nodes.append(h.make_node("Gelu", [prev], ["g"], approximate="tanh"))
    nodes.append(h.make_node("Clip", ["g", "lo", "hi"], ["c"]))
    # Identity forwards its input: the output is the clip itself.
    nodes.append(h.make_node("Identity", ["c"], ["y"]))
    return model(nodes, [vi("x", T.FLOAT, [2, 3])], [vi("y", T.FLOAT, None)],
                 [init("lo", np.float32(0)), init("hi", np.float32(6))])


# LG: %[[EQ:.*]] = qcc.equal %arg0, %arg1 : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi1>
# LG: %[[LT:.*]] = qcc.less %arg0, %arg1
# LG: %[[GT:.*]] = qcc.greater %arg0, %arg1
# LG: %[[OR:.*]] = qcc.or %[[EQ]], %[[LT]]
# LG: %[[AND:.*]] = qcc.and %[[OR]], %[[GT]]
# LG: %[[NOT:.*]] = qcc.not %[[AND]] : tensor<3xi1>
# LG: qcc.where %[[NOT]], %arg0, %arg1 : (tensor<3xi1>, tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
@case
def logic():
    nodes = [h.make_node("Equal", ["a", "b"], ["e"]), h.make_node("Less", ["a", "b"], ["l"]),
             h.make_node("Greater", ["a", "b"], ["g"]), h.make_node("Or", ["e", "l"], ["o"]),
             h.make_node("And", ["o", "g"], ["n"]), h.make_node("Not", ["n"], ["c"]),
             h.make_node("Where", ["c", "a", "b"], ["y"])]
    return model(nodes, [vi("a", T.INT64, [3]), vi("b", T.INT64, [3])], [vi("y", T.INT64, None)])


# MM: %[[A:.*]] = qcc.min %arg0, %arg1
# MM: %[[B:.*]] = qcc.min %[[A]], %arg2
# MM: qcc.max %[[B]], %arg0
@case
def minmax():
    nodes = [h.make_node("Min", ["a", "b", "c"], ["m"]), h.make_node("Max", ["m", "a"], ["y"])]
    ins = [vi(n, T.FLOAT, [2, 2]) for n in "abc"]
    return model(nodes, ins, [vi("y", T.FLOAT, None)])


# CAST: qcc.cast %arg0 {to_unsigned} : tensor<4xf32> -> tensor<4xi8>
# CAST: qcc.cast %{{.*}} {from_unsigned} : tensor<4xi8> -> tensor<4xf16>
# CAST: qcc.cast %{{.*}} : tensor<4xf16> -> tensor<4xi1>
@case
def cast():
    nodes = [h.make_node("Cast", ["x"], ["u"], to=T.UINT8), h.make_node("Cast", ["u"], ["f"], to=T.FLOAT16),
             h.make_node("Cast", ["f"], ["y"], to=T.BOOL)]
    return model(nodes, [vi("x", T.FLOAT, [4])], [vi("y", T.BOOL, None)])


if __name__ == "__main__":
    main()
