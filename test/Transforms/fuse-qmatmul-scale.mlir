// RUN: qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-fuse-qmatmul-scale))' | FileCheck %s

// onnxruntime's dynamic int8 graph: the cast and the multiply by the
// product of the scales become the qmatmul's out_scale, with either
// operand order of the multiply; the zero points and schemes stay.
// CHECK-LABEL: func @dynamic
// CHECK-SAME: (%[[Q:.*]]: tensor<?x4xi8>, %[[Z:.*]]: tensor<i8>, %[[S:.*]]: tensor<3xf32>)
// CHECK: %[[Y:.*]] = qcc.qmatmul %[[Q]], %{{.*}} lhs_zp %[[Z]] : tensor<i8> scale %[[S]] : tensor<3xf32> {lhs_params = #qcc.qparams<u8, per_tensor, asymmetric>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<?x4xi8>, tensor<4x3xi8>) -> tensor<?x3xf32>
// CHECK: %[[Y2:.*]] = qcc.qmatmul %[[Q]], %{{.*}} scale %[[S]] : tensor<3xf32> {{.*}} -> tensor<?x3xf32>
// CHECK-NOT: qcc.cast
// CHECK-NOT: qcc.mul
// CHECK: return %[[Y]], %[[Y2]]
func.func @dynamic(%q: tensor<?x4xi8>, %z: tensor<i8>, %s: tensor<3xf32>) -> (tensor<?x3xf32>, tensor<?x3xf32>) {
  %w = arith.constant dense<1> : tensor<4x3xi8>
  %acc = qcc.qmatmul %q, %w lhs_zp %z : tensor<i8> {lhs_params = #qcc.qparams<u8, per_tensor, asymmetric>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<?x4xi8>, tensor<4x3xi8>) -> tensor<?x3xi32>
  %f = qcc.cast %acc : tensor<?x3xi32> -> tensor<?x3xf32>
  %y = qcc.mul %f, %s : (tensor<?x3xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  %acc2 = qcc.qmatmul %q, %w {lhs_params = #qcc.qparams<u8, per_tensor, asymmetric>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<?x4xi8>, tensor<4x3xi8>) -> tensor<?x3xi32>
  %f2 = qcc.cast %acc2 : tensor<?x3xi32> -> tensor<?x3xf32>
  %y2 = qcc.mul %s, %f2 : (tensor<3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
  return %y, %y2 : tensor<?x3xf32>, tensor<?x3xf32>
}

// -----

// One scale for all columns, rank 0 or one element.
// CHECK-LABEL: func @scalar
// CHECK: qcc.qmatmul {{.*}} scale %{{.*}} : tensor<f32> {{.*}} -> tensor<2x3xf32>
// CHECK: qcc.qmatmul {{.*}} scale %{{.*}} : tensor<1xf32> {{.*}} -> tensor<2x3xf32>
func.func @scalar(%q: tensor<2x4xi8>, %s: tensor<f32>, %s1: tensor<1xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %w = arith.constant dense<1> : tensor<4x3xi8>
  %acc = qcc.qmatmul %q, %w {lhs_params = #qcc.qparams<s8, per_tensor>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<2x4xi8>, tensor<4x3xi8>) -> tensor<2x3xi32>
  %f = qcc.cast %acc : tensor<2x3xi32> -> tensor<2x3xf32>
  %y = qcc.mul %f, %s : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  %acc1 = qcc.qmatmul %q, %w {lhs_params = #qcc.qparams<s8, per_tensor>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<2x4xi8>, tensor<4x3xi8>) -> tensor<2x3xi32>
  %f1 = qcc.cast %acc1 : tensor<2x3xi32> -> tensor<2x3xf32>
  %y1 = qcc.mul %f1, %s1 : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  return %y, %y1 : tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// Left alone: a scale per row (not per column), an i32 sum with another
// use, a cast with another use, and a cast to f16.
// CHECK-LABEL: func @unfused
// CHECK-COUNT-4: qcc.qmatmul {{.*}} -> tensor<2x3xi32>
// CHECK-NOT: scale
func.func @unfused(%q: tensor<2x4xi8>, %r: tensor<2x1xf32>, %s: tensor<3xf32>, %h: tensor<3xf16>)
    -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xi32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf16>) {
  %w = arith.constant dense<1> : tensor<4x3xi8>
  %a0 = qcc.qmatmul %q, %w {lhs_params = #qcc.qparams<s8, per_tensor>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<2x4xi8>, tensor<4x3xi8>) -> tensor<2x3xi32>
  %f0 = qcc.cast %a0 : tensor<2x3xi32> -> tensor<2x3xf32>
  %y0 = qcc.mul %f0, %r : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  %a1 = qcc.qmatmul %q, %w {lhs_params = #qcc.qparams<s8, per_tensor>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<2x4xi8>, tensor<4x3xi8>) -> tensor<2x3xi32>
  %f1 = qcc.cast %a1 : tensor<2x3xi32> -> tensor<2x3xf32>
  %y1 = qcc.mul %f1, %s : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %a2 = qcc.qmatmul %q, %w {lhs_params = #qcc.qparams<s8, per_tensor>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<2x4xi8>, tensor<4x3xi8>) -> tensor<2x3xi32>
  %f2 = qcc.cast %a2 : tensor<2x3xi32> -> tensor<2x3xf32>
  %y2 = qcc.mul %f2, %s : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %a3 = qcc.qmatmul %q, %w {lhs_params = #qcc.qparams<s8, per_tensor>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<2x4xi8>, tensor<4x3xi8>) -> tensor<2x3xi32>
  %f3 = qcc.cast %a3 : tensor<2x3xi32> -> tensor<2x3xf16>
  %y3 = qcc.mul %f3, %h : (tensor<2x3xf16>, tensor<3xf16>) -> tensor<2x3xf16>
  return %y0, %y1, %a1, %y2, %f2, %y3 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xi32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf16>
}
