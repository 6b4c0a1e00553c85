// RUN: qcc-opt %s --pass-pipeline='builtin.module(func.func(qcc-quantize-attention))' | FileCheck %s

// Scores: both operands quantized per tensor at run time; the int8 product
// accumulates in i32 and is rescaled by the product of the two scales.
// Context: the softmax probabilities (through a transpose, a same-scale op)
// take the fixed scale 1/127. The linear layer's constant weight is not an
// activation product and stays as it is.
// CHECK-LABEL: func @attention
// CHECK: %[[QQ:.*]], %[[SQ:.*]] = qcc.dynamic_quantize <s8, per_tensor> %arg0 : tensor<2x4x8xf32> -> tensor<2x4x8xi8>, tensor<f32>
// CHECK: %[[QK:.*]], %[[SK:.*]] = qcc.dynamic_quantize <s8, per_tensor> %arg1 : tensor<2x8x4xf32> -> tensor<2x8x4xi8>, tensor<f32>
// CHECK: %[[ACC:.*]] = qcc.qmatmul %[[QQ]], %[[QK]] {{.*}}qcc.quant_report = {algo = "-", layer = "scores", scheme = "activation product, int8 x int8 per-tensor"}{{.*}} : (tensor<2x4x8xi8>, tensor<2x8x4xi8>) -> tensor<2x4x4xi32>
// CHECK: %[[S:.*]] = qcc.mul %[[SQ]], %[[SK]] : (tensor<f32>, tensor<f32>) -> tensor<f32>
// CHECK: %[[F:.*]] = qcc.cast %[[ACC]] : tensor<2x4x4xi32> -> tensor<2x4x4xf32>
// CHECK: %[[SC:.*]] = qcc.mul %[[F]], %[[S]]
// CHECK: %[[P:.*]] = qcc.softmax %[[SC]]
// CHECK: %[[PT:.*]] = qcc.transpose %[[P]]
// CHECK: %[[FIX:.*]] = arith.constant dense<0.00787401571> : tensor<f32>
// CHECK: qcc.quantize <s8, per_tensor> %[[PT]], %[[FIX]]
// CHECK: qcc.dynamic_quantize <s8, per_tensor> %arg2
// CHECK: qcc.qmatmul {{.*}}note = "qcc.softmax range fixes a scale"
// CHECK: qcc.matmul %{{.*}}, %{{.*}} : (tensor<2x4x4xf32>, tensor<4x4xf32>)
func.func @attention(%q: tensor<2x4x8xf32>, %kt: tensor<2x8x4xf32>, %v: tensor<2x4x4xf32>) -> tensor<2x4x4xf32> {
  %s = qcc.matmul %q, %kt : (tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<2x4x4xf32> loc("scores")
  %p = qcc.softmax %s {axis = 2 : i64} : tensor<2x4x4xf32>
  %pt = qcc.transpose %p {perm = array<i64: 0, 2, 1>} : tensor<2x4x4xf32> -> tensor<2x4x4xf32>
  %o = qcc.matmul %pt, %v : (tensor<2x4x4xf32>, tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %w = arith.constant dense<0.5> : tensor<4x4xf32>
  %y = qcc.matmul %o, %w : (tensor<2x4x4xf32>, tensor<4x4xf32>) -> tensor<2x4x4xf32>
  return %y : tensor<2x4x4xf32>
}
