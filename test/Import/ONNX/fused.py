# RUN: %python %s skip_ln %t.s.onnx && qcc %t.s.onnx --emit=imported | FileCheck %s --check-prefix=SKIP
# RUN: %python %s fast_gelu %t.g.onnx && qcc %t.g.onnx --emit=imported | FileCheck %s --check-prefix=GELU
# RUN: %python %s mha %t.m.onnx && qcc %t.m.onnx --emit=imported | FileCheck %s --check-prefix=MHA
# RUN: %python %s rotary23 %t.r.onnx && qcc %t.r.onnx --emit=imported | FileCheck %s --check-prefix=ROT
# RUN: %python %s rotary_ms %t.rm.onnx && qcc %t.rm.onnx --emit=imported | FileCheck %s --check-prefix=ROTMS
# RUN: %python %s ms_attention %t.a.onnx && qcc %t.a.onnx --emit=imported | FileCheck %s --check-prefix=ATT
# RUN: %python %s ms_attention_raw_mask %t.a2.onnx && qcc %t.a2.onnx --emit=imported | FileCheck %s --check-prefix=ATT2
# RUN: %python %s gqa %t.q.onnx && not qcc %t.q.onnx 2>&1 | FileCheck %s --check-prefix=GQA
from onnxtest import *


# SKIP: %[[S:.*]] = qcc.add %arg0, %arg1 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
# SKIP: %[[B:.*]] = qcc.add %[[S]], %{{.*}} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
# SKIP: %[[N:.*]] = qcc.layer_norm %[[B]], %{{.*}}, %{{.*}} {axis = 1 : i64
# SKIP: return %[[N]], %[[B]]
@case
def skip_ln():
    g = init("g", np.ones(8, np.float32))
    node = h.make_node("SkipLayerNormalization", ["x", "skip", "g", "g", "bias"], ["y", "", "", "sum"],
                       domain="com.microsoft", epsilon=1e-12)
    return model([node], [vi("x", T.FLOAT, [2, 8]), vi("skip", T.FLOAT, [2, 8])],
                 [vi("y", T.FLOAT, None), vi("sum", T.FLOAT, None)],
                 [g, init("bias", np.zeros(8, np.float32))], ms=True)


# GELU: %[[A:.*]] = qcc.add %arg0, %{{.*}}
# GELU: qcc.gelu %[[A]] {approximate = #qcc<gelu_approx tanh>}
@case
def fast_gelu():
    node = h.make_node("FastGelu", ["x", "b"], ["y"], domain="com.microsoft")
    return model([node], [vi("x", T.FLOAT, [2, 8])], [vi("y", T.FLOAT, None)],
                 [init("b", np.zeros(8, np.float32))], ms=True)


# MHA: %[[Q:.*]] = qcc.transpose %{{.*}} {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x4x8xf32> -> tensor<?x4x?x8xf32>
# MHA: %[[A:.*]] = qcc.attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true, scale = 0.35355{{.*}} : f64} : tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32> -> tensor<?x4x?x8xf32>
# MHA: qcc.transpose %[[A]] {perm = array<i64: 0, 2, 1, 3>}
# MHA: qcc.reshape {{.*}} -> tensor<?x?x32xf32>
@case
def mha():
    node = h.make_node("MultiHeadAttention", ["q", "k", "v"], ["y"], domain="com.microsoft",
                       num_heads=4, unidirectional=1)
    ins = [vi(n, T.FLOAT, ["b", "s", 32]) for n in "qkv"]
    return model([node], ins, [vi("y", T.FLOAT, None)], ms=True)


# ROT: %[[C:.*]] = qcc.gather %{{.*}}[%arg1] {axis = 0 : i64} : (tensor<64x4xf32>, tensor<?x?xi64>) -> tensor<?x?x4xf32>
# ROT: qcc.rotary %arg0, %[[C]], %{{.*}} : tensor<?x2x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32> -> tensor<?x2x?x8xf32>
@case
def rotary23():
    node = h.make_node("RotaryEmbedding", ["x", "cos", "sin", "pos"], ["y"])
    return model([node], [vi("x", T.FLOAT, ["b", 2, "s", 8]), vi("pos", T.INT64, ["b", "s"])],
                 [vi("y", T.FLOAT, None)],
                 [init("cos", np.ones((64, 4), np.float32)), init("sin", np.zeros((64, 4), np.float32))],
                 opset=23)


# ROTMS: qcc.transpose {{.*}} -> tensor<1x2x5x8xf32>
# ROTMS: qcc.rotary %{{.*}} {interleaved = true} : tensor<1x2x5x8xf32>
# ROTMS: qcc.reshape {{.*}} -> tensor<1x5x16xf32>
@case
def rotary_ms():
    node = h.make_node("RotaryEmbedding", ["x", "pos", "cos", "sin"], ["y"], domain="com.microsoft",
                       interleaved=1, num_heads=2)
    return model([node], [vi("x", T.FLOAT, [1, 5, 16]), vi("pos", T.INT64, [1, 5])],
                 [vi("y", T.FLOAT, None)],
                 [init("cos", np.ones((64, 4), np.float32)), init("sin", np.zeros((64, 4), np.float32))],
                 ms=True)


# Key lengths [batch] become an additive mask: key j is visible when j < len[b].
# ATT: %[[QKV:.*]] = qcc.matmul %arg0, %{{.*}} : (tensor<2x5x32xf32>, tensor<32x96xf32>) -> tensor<2x5x96xf32>
# ATT: qcc.slice %{{.*}} [0, 0, 0] [2, 5, 32]
# ATT: qcc.slice %{{.*}} [0, 0, 32] [2, 5, 32]
# ATT: qcc.slice %{{.*}} [0, 0, 64] [2, 5, 32]
# ATT: %[[COLS:.*]] = qcc.range {{.*}} -> tensor<5xi32>
# ATT: %[[LENS:.*]] = qcc.reshape %arg1 : tensor<2xi32> -> tensor<2x1xi32>
# ATT: %[[VALID:.*]] = qcc.less %[[COLS]], %[[LENS]] : (tensor<5xi32>, tensor<2x1xi32>) -> tensor<2x5xi1>
# ATT: qcc.where %[[VALID]]
# ATT: %[[MASK:.*]] = qcc.reshape {{.*}} : tensor<2x5xf32> -> tensor<2x1x1x5xf32>
# ATT: qcc.attention {{.*}} mask %[[MASK]] : tensor<2x1x1x5xf32> {scale = 0.35355{{.*}} : f64}
@case
def ms_attention():
    node = h.make_node("Attention", ["x", "w", "b", "lens"], ["y"], domain="com.microsoft", num_heads=4)
    return model([node], [vi("x", T.FLOAT, [2, 5, 32]), vi("lens", T.INT32, [2])], [vi("y", T.FLOAT, None)],
                 [init("w", np.zeros((32, 96), np.float32)), init("b", np.zeros(96, np.float32))], ms=True)


# A raw [batch, seq] 0/1 mask becomes (1 - mask) * mask_filter_value.
# ATT2: qcc.cast %arg1 : tensor<?x?xi32> -> tensor<?x?xf32>
# ATT2: qcc.sub
# ATT2: qcc.mul %{{.*}}, %{{.*}} : (tensor<?x?xf32>, tensor<f32>) -> tensor<?x?xf32>
# ATT2: qcc.attention {{.*}} mask %{{.*}} : tensor<?x1x1x?xf32>
@case
def ms_attention_raw_mask():
    node = h.make_node("Attention", ["x", "w", "", "m"], ["y"], domain="com.microsoft", num_heads=2,
                       mask_filter_value=-1e9)
    return model([node], [vi("x", T.FLOAT, ["b", "s", 16]), vi("m", T.INT32, ["b", "s"])],
                 [vi("y", T.FLOAT, None)], [init("w", np.zeros((16, 48), np.float32))], ms=True)


# GQA: error: node 'gqa' (com.microsoft.GroupQueryAttention): unsupported operator GroupQueryAttention in domain 'com.microsoft'
@case
def gqa():
    node = h.make_node("GroupQueryAttention", ["q", "k", "v"], ["y"], domain="com.microsoft", name="gqa",
                       num_heads=4, kv_num_heads=2)
    ins = [vi(n, T.FLOAT, [1, 3, 32]) for n in "qkv"]
    return model([node], ins, [vi("y", T.FLOAT, None)], ms=True)


if __name__ == "__main__":
    main()
