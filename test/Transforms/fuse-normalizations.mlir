// RUN: qcc-opt %s --qcc-fuse-normalizations --split-input-file | FileCheck %s

// CHECK-LABEL: func @rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>, %[[W:.*]]: tensor<8xf32>)
// CHECK: %[[R:.*]] = qcc.rms_norm %[[X]], %[[W]] {axis = 1 : i64, epsilon = 9.99999{{[0-9]*}}E-7 : f64}
// CHECK-NEXT: return %[[R]]
func.func @rms_norm(%x: tensor<2x8xf32>, %w: tensor<8xf32>) -> tensor<2x8xf32> {
  %two = arith.constant dense<2.0> : tensor<f32>
  %eps = arith.constant dense<9.99999997E-7> : tensor<f32>
  %0 = qcc.pow %x, %two : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %1 = qcc.reduce mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<2x8xf32> -> tensor<2x1xf32>
  %2 = qcc.add %1, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %3 = qcc.sqrt %2 : tensor<2x1xf32>
  %4 = qcc.reciprocal %3 : tensor<2x1xf32>
  %5 = qcc.mul %x, %4 : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %6 = qcc.mul %w, %5 : (tensor<8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %6 : tensor<2x8xf32>
}

// -----

// Mean over a non-last axis is not an RMSNorm over features: untouched.
// CHECK-LABEL: func @rms_wrong_axis
// CHECK-NOT: qcc.rms_norm
func.func @rms_wrong_axis(%x: tensor<8x8xf32>, %w: tensor<8xf32>) -> tensor<8x8xf32> {
  %two = arith.constant dense<2.0> : tensor<f32>
  %eps = arith.constant dense<1.0e-6> : tensor<f32>
  %0 = qcc.pow %x, %two : (tensor<8x8xf32>, tensor<f32>) -> tensor<8x8xf32>
  %1 = qcc.reduce mean %0 {axes = array<i64: 0>, keepdims = true} : tensor<8x8xf32> -> tensor<1x8xf32>
  %2 = qcc.add %1, %eps : (tensor<1x8xf32>, tensor<f32>) -> tensor<1x8xf32>
  %3 = qcc.sqrt %2 : tensor<1x8xf32>
  %5 = qcc.div %x, %3 : (tensor<8x8xf32>, tensor<1x8xf32>) -> tensor<8x8xf32>
  %6 = qcc.mul %w, %5 : (tensor<8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
  return %6 : tensor<8x8xf32>
}

// -----

// CHECK-LABEL: func @layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>, %[[W:.*]]: tensor<8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK: %[[R:.*]] = qcc.layer_norm %[[X]], %[[W]], %[[B]] {axis = 1 : i64, epsilon = 9.99999{{[0-9]*}}E-13 : f64}
// CHECK-NEXT: return %[[R]]
func.func @layer_norm(%x: tensor<2x8xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x8xf32> {
  %two = arith.constant dense<2.0> : tensor<f32>
  %eps = arith.constant dense<1.0e-12> : tensor<f64>
  %m = qcc.reduce mean %x {axes = array<i64: 1>, keepdims = true} : tensor<2x8xf32> -> tensor<2x1xf32>
  %c = qcc.sub %x, %m : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %sq = qcc.pow %c, %two : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %v = qcc.reduce mean %sq {axes = array<i64: 1>, keepdims = true} : tensor<2x8xf32> -> tensor<2x1xf32>
  %e = arith.constant dense<1.0e-12> : tensor<f32>
  %ve = qcc.add %v, %e : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %s = qcc.sqrt %ve : tensor<2x1xf32>
  %n = qcc.div %c, %s : (tensor<2x8xf32>, tensor<2x1xf32>) -> tensor<2x8xf32>
  %y = qcc.mul %n, %w : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %z = qcc.add %y, %b : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %z : tensor<2x8xf32>
}
