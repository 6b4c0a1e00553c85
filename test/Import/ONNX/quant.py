# RUN: %python %s qdq %t.qdq.onnx && qcc %t.qdq.onnx --emit=imported | FileCheck %s --check-prefix=QDQ
# RUN: %python %s blocked %t.b.onnx && qcc %t.b.onnx --emit=imported --print-weights | FileCheck %s --check-prefix=BLK
# RUN: %python %s dynamic %t.d.onnx && qcc %t.d.onnx --emit=imported | FileCheck %s --check-prefix=DYN
# RUN: %python %s qlinear_matmul %t.ql.onnx && qcc %t.ql.onnx --emit=imported | FileCheck %s --check-prefix=QLM
# RUN: %python %s nbits_sym %t.n.onnx && qcc %t.n.onnx --emit=imported --print-weights | FileCheck %s --check-prefix=NB
# RUN: %python %s nbits_zp %t.nz.onnx && qcc %t.nz.onnx --emit=imported --print-weights | FileCheck %s --check-prefix=NBZ
# RUN: %python %s qdq_bias %t.qb.onnx && qcc %t.qb.onnx --emit=imported --print-weights | FileCheck %s --check-prefix=QB
from onnxtest import *


# Activation QDQ (uint8, asymmetric, per tensor) and a per-channel int8 weight.
# QDQ: %[[Q:.*]] = qcc.quantize <u8, per_tensor, asymmetric> %arg0, %{{.*}}, %{{.*}} : (tensor<2x4xf32>, tensor<f32>, tensor<i8>) -> tensor<2x4xi8>
# QDQ: %[[X:.*]] = qcc.dequantize <u8, per_tensor, asymmetric> %[[Q]]
# QDQ: %[[W:.*]] = qcc.dequantize <s8, per_axis(1)> %{{.*}}, %{{.*}} : (tensor<4x3xi8>, tensor<3xf32>) -> tensor<4x3xf32>
# QDQ: qcc.matmul %[[X]], %[[W]]
@case
def qdq():
    nodes = [h.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             h.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             h.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"], axis=1),
             h.make_node("MatMul", ["xd", "wd"], ["y"])]
    return model(nodes, [vi("x", T.FLOAT, [2, 4])], [vi("y", T.FLOAT, None)],
                 [init("xs", np.float32(0.1)), init("xz", np.uint8(128)),
                  init("w", np.arange(12, dtype=np.int8).reshape(4, 3)),
                  init("ws", np.array([0.1, 0.2, 0.3], np.float32)),
                  init("wz", np.zeros(3, np.int8))])


# Blocked int4 (opset 21): per_group along axis 0 with block 2, asymmetric.
# BLK: arith.constant dense<{{\[}}[1, -2], [3, -4], [5, -6], [7, -8]]> : tensor<4x2xi4>
# BLK: qcc.dequantize <s4, per_group(0, 2), asymmetric> %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4x2xi4>, tensor<2x2xf32>, tensor<2x2xi4>) -> tensor<4x2xf32>
@case
def blocked():
    w = h.make_tensor("w", T.INT4, [4, 2], [1, -2, 3, -4, 5, -6, 7, -8])
    z = h.make_tensor("wz", T.INT4, [2, 2], [1, 0, 0, 1])
    nodes = [h.make_node("DequantizeLinear", ["w", "ws", "wz"], ["y"], axis=0, block_size=2)]
    return model(nodes, [], [vi("y", T.FLOAT, None)],
                 [w, init("ws", np.ones((2, 2), np.float32)), z], opset=21)


# DYN: %[[Q:.*]], %{{.*}}, %[[Z:.*]] = qcc.dynamic_quantize <u8, per_tensor, asymmetric> %arg0 : tensor<3x8xf32> -> tensor<3x8xi8>, tensor<f32>, tensor<i8>
# DYN: qcc.qmatmul %[[Q]], %{{.*}} lhs_zp %[[Z]] : tensor<i8> rhs_zp %{{.*}} : tensor<4xi8> {lhs_params = #qcc.qparams<u8, per_tensor, asymmetric>, rhs_params = #qcc.qparams<s8, per_axis(1), asymmetric>} : (tensor<3x8xi8>, tensor<8x4xi8>) -> tensor<3x4xi32>
@case
def dynamic():
    nodes = [h.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "z"]),
             h.make_node("MatMulInteger", ["q", "w", "z", "wz"], ["acc"]),
             h.make_node("Cast", ["acc"], ["y"], to=T.FLOAT)]
    return model(nodes, [vi("x", T.FLOAT, [3, 8])], [vi("y", T.FLOAT, None)],
                 [init("w", np.ones((8, 4), np.int8)), init("wz", np.array([0, 1, 2, 3], np.int8))])


# QLM: qcc.dequantize <u8, per_tensor, asymmetric> %arg0
# QLM: qcc.dequantize <s8, per_axis(1)> %{{.*}}, %{{.*}} : (tensor<4x2xi8>, tensor<2xf32>) -> tensor<4x2xf32>
# QLM: qcc.matmul
# QLM: qcc.quantize <u8, per_tensor, asymmetric>
@case
def qlinear_matmul():
    nodes = [h.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"])]
    return model(nodes, [vi("a", T.UINT8, [3, 4])], [vi("y", T.UINT8, None)],
                 [init("as", np.float32(0.1)), init("az", np.uint8(3)), init("b", np.ones((4, 2), np.int8)),
                  init("bs", np.array([0.5, 0.25], np.float32)), init("bz", np.zeros(2, np.int8)),
                  init("ys", np.float32(0.2)), init("yz", np.uint8(1))])


def pack_nbits(q, bits, block):
    """q: [N, K] unsigned values -> MatMulNBits B [N, k_blocks, blob] (LSB first)."""
    n, k = q.shape
    kb = (k + block - 1) // block
    padded = np.zeros((n, kb * block), np.uint32)
    padded[:, :k] = q
    per_byte = 8 // bits
    vals = padded.reshape(n, kb, block // per_byte, per_byte)
    packed = np.zeros(vals.shape[:3], np.uint32)
    for i in range(per_byte):
        packed |= vals[..., i] << (i * bits)
    return packed.astype(np.uint8)


# K = 20 is not a multiple of the block (16): the last block is padded.
# Weight row k, column n holds q[n, k] - 8 (signed, symmetric without zero points).
# NB: %[[W:.*]] = arith.constant dense<{{\[}}[-8, -7], [-7, -6], [-6, -5], [-5, -4], [-4, -3], [-3, -2], [-2, -1], [-1, 0], [0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 7], [7, -8], [-8, -7], [-7, -6], [-6, -5], [-5, -4]]> : tensor<20x2xi4>
# NB: %[[S:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
# NB: qcc.qlinear %arg0, %[[W]], %[[S]] bias %{{.*}} : tensor<2xf32> {act_params = #qcc.qparams<s8, per_axis(0)>, weight_params = #qcc.qparams<s4, per_group(0, 16)>} : (tensor<?x20xf32>, tensor<20x2xi4>, tensor<2x2xf32>) -> tensor<?x2xf32>
@case
def nbits_sym():
    q = (np.arange(2)[:, None] + np.arange(20)[None, :]) % 16
    b = pack_nbits(q, 4, 16)
    scales = np.array([[1, 2], [3, 4]], np.float32)
    node = h.make_node("MatMulNBits", ["a", "b", "s", "", "", "bias"], ["y"], domain="com.microsoft",
                       K=20, N=2, bits=4, block_size=16, accuracy_level=4)
    return model([node], [vi("a", T.FLOAT, ["m", 20])], [vi("y", T.FLOAT, None)],
                 [init("b", b), init("s", scales.reshape(-1)), init("bias", np.zeros(2, np.float32))], ms=True)


# With zero points the weight stays unsigned and asymmetric.
# NBZ: %[[Z:.*]] = arith.constant dense<{{\[}}[3, 5], [4, 6]]> : tensor<2x2xi4>
# NBZ: qcc.qlinear %arg0, %{{.*}}, %{{.*}} zp %[[Z]] : tensor<2x2xi4> {weight_params = #qcc.qparams<u4, per_group(0, 16), asymmetric>}
@case
def nbits_zp():
    q = np.full((2, 32), 9)
    zp = np.array([[3, 4], [5, 6]])  # [N, k_blocks]
    zpk = (zp[:, 0] | (zp[:, 1] << 4)).astype(np.uint8)
    node = h.make_node("MatMulNBits", ["a", "b", "s", "z"], ["y"], domain="com.microsoft",
                       K=32, N=2, bits=4, block_size=16)
    return model([node], [vi("a", T.FLOAT, [1, 32])], [vi("y", T.FLOAT, None)],
                 [init("b", pack_nbits(q, 4, 16)), init("s", np.ones(4, np.float32)), init("z", zpk)], ms=True)


# int32 QDQ biases are dequantized at import time: (q - 0) * scale.
# QB: arith.constant dense<[5.000000e-01, -1.000000e+00]> : tensor<2xf32>
@case
def qdq_bias():
    nodes = [h.make_node("DequantizeLinear", ["b", "bs"], ["bd"]), h.make_node("Add", ["x", "bd"], ["y"])]
    return model(nodes, [vi("x", T.FLOAT, [2])], [vi("y", T.FLOAT, None)],
                 [init("b", np.array([1, -2], np.int32)), init("bs", np.float32(0.5))])


if __name__ == "__main__":
    main()
