// RUN: qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-fuse-dequantized-linear))' | FileCheck %s

// Dequantized u8 activations (one scale) times a dequantized per-column
// int8 weight: the scales factor out of the sum, so the product becomes an
// integer matmul of the two integer tensors (zero points kept) scaled by
// s_a * s_w per column.
// CHECK-LABEL: func @per_channel
// CHECK-SAME: (%[[Q:.*]]: tensor<?x4xi8>)
// CHECK-DAG: %[[S:.*]] = arith.constant dense<[1.000000e-01, 2.000000e-01]> : tensor<2xf32>
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<4x2xi8>
// CHECK-DAG: %[[XS:.*]] = arith.constant dense<5.000000e-01> : tensor<f32>
// CHECK-DAG: %[[XZ:.*]] = arith.constant dense<-128> : tensor<i8>
// CHECK: %[[ACC:.*]] = qcc.qmatmul %[[Q]], %[[W]] lhs_zp %[[XZ]] : tensor<i8> {lhs_params = #qcc.qparams<u8, per_tensor, asymmetric>, rhs_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<?x4xi8>, tensor<4x2xi8>) -> tensor<?x2xi32>
// CHECK: %[[SC:.*]] = qcc.mul %[[XS]], %[[S]] : (tensor<f32>, tensor<2xf32>) -> tensor<2xf32>
// CHECK: %[[F:.*]] = qcc.cast %[[ACC]] : tensor<?x2xi32> -> tensor<?x2xf32>
// CHECK: %[[Y:.*]] = qcc.mul %[[F]], %[[SC]]
// CHECK: return %[[Y]]
func.func @per_channel(%q: tensor<?x4xi8>) -> tensor<?x2xf32> {
  %xs = arith.constant dense<0.5> : tensor<f32>
  %xz = arith.constant dense<-128> : tensor<i8>
  %x = qcc.dequantize <u8, per_tensor, asymmetric> %q, %xs, %xz : (tensor<?x4xi8>, tensor<f32>, tensor<i8>) -> tensor<?x4xf32>
  %w = arith.constant dense<[[1, -2], [3, 4], [-5, 6], [7, 127]]> : tensor<4x2xi8>
  %s = arith.constant dense<[0.1, 0.2]> : tensor<2xf32>
  %wd = qcc.dequantize <s8, per_axis(1)> %w, %s : (tensor<4x2xi8>, tensor<2xf32>) -> tensor<4x2xf32>
  %y = qcc.matmul %x, %wd : (tensor<?x4xf32>, tensor<4x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// A weight value of -128 is outside the int8 kernels' range: the layer
// stays a weight-only linear on the dequantized activations.
// CHECK-LABEL: func @outside_kernel_range
// CHECK: %[[X:.*]] = qcc.dequantize <u8, per_tensor, asymmetric>
// CHECK: qcc.qlinear %[[X]], %{{.*}}, %{{.*}} {weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<?x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<?x2xf32>
// CHECK-NOT: qcc.qmatmul
func.func @outside_kernel_range(%q: tensor<?x4xi8>) -> tensor<?x2xf32> {
  %xs = arith.constant dense<0.5> : tensor<f32>
  %xz = arith.constant dense<-128> : tensor<i8>
  %x = qcc.dequantize <u8, per_tensor, asymmetric> %q, %xs, %xz : (tensor<?x4xi8>, tensor<f32>, tensor<i8>) -> tensor<?x4xf32>
  %w = arith.constant dense<[[1, -2], [3, 4], [-5, 6], [7, -128]]> : tensor<4x2xi8>
  %s = arith.constant dense<[0.1, 0.2]> : tensor<2xf32>
  %wd = qcc.dequantize <s8, per_axis(1)> %w, %s : (tensor<4x2xi8>, tensor<2xf32>) -> tensor<4x2xf32>
  %y = qcc.matmul %x, %wd : (tensor<?x4xf32>, tensor<4x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Per-tensor unsigned weights keep their zero point; blocked int4 weights
// (per group along K) keep their groups.
// CHECK-LABEL: func @schemes
// CHECK: qcc.qlinear %{{.*}}, %{{.*}}, %{{.*}} zp %{{.*}} : tensor<i8> {weight_params = #qcc.qparams<u8, per_tensor, asymmetric>}
// CHECK: qcc.qlinear %{{.*}} {weight_params = #qcc.qparams<s4, per_group(0, 16)>} : (tensor<2x3x32xf32>, tensor<32x8xi4>, tensor<2x8xf32>) -> tensor<2x3x8xf32>
func.func @schemes(%x: tensor<?x4xf32>, %x3: tensor<2x3x32xf32>) -> (tensor<?x2xf32>, tensor<2x3x8xf32>) {
  %w = arith.constant dense<200> : tensor<4x2xi8>
  %s = arith.constant dense<0.1> : tensor<f32>
  %z = arith.constant dense<-128> : tensor<i8>
  %wd = qcc.dequantize <u8, per_tensor, asymmetric> %w, %s, %z : (tensor<4x2xi8>, tensor<f32>, tensor<i8>) -> tensor<4x2xf32>
  %y = qcc.matmul %x, %wd : (tensor<?x4xf32>, tensor<4x2xf32>) -> tensor<?x2xf32>
  %w4 = arith.constant dense<3> : tensor<32x8xi4>
  %s4 = arith.constant dense<0.25> : tensor<2x8xf32>
  %w4d = qcc.dequantize <s4, per_group(0, 16)> %w4, %s4 : (tensor<32x8xi4>, tensor<2x8xf32>) -> tensor<32x8xf32>
  %y4 = qcc.matmul %x3, %w4d : (tensor<2x3x32xf32>, tensor<32x8xf32>) -> tensor<2x3x8xf32>
  return %y, %y4 : tensor<?x2xf32>, tensor<2x3x8xf32>
}

// -----

// Scales along K (per_axis(0)), a non-constant weight, and a weight used as
// the left operand have no qlinear form: the matmuls stay.
// CHECK-LABEL: func @unfused
// CHECK-COUNT-3: qcc.matmul
// CHECK-NOT: qcc.qlinear
func.func @unfused(%x: tensor<?x4xf32>, %wq: tensor<4x2xi8>, %k: tensor<2x4xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>, tensor<4x4xf32>) {
  %w = arith.constant dense<1> : tensor<4x2xi8>
  %s0 = arith.constant dense<[0.1, 0.2, 0.3, 0.4]> : tensor<4xf32>
  %wd0 = qcc.dequantize <s8, per_axis(0)> %w, %s0 : (tensor<4x2xi8>, tensor<4xf32>) -> tensor<4x2xf32>
  %y0 = qcc.matmul %x, %wd0 : (tensor<?x4xf32>, tensor<4x2xf32>) -> tensor<?x2xf32>
  %s = arith.constant dense<0.1> : tensor<f32>
  %wd1 = qcc.dequantize <s8, per_tensor> %wq, %s : (tensor<4x2xi8>, tensor<f32>) -> tensor<4x2xf32>
  %y1 = qcc.matmul %x, %wd1 : (tensor<?x4xf32>, tensor<4x2xf32>) -> tensor<?x2xf32>
  %wd2 = qcc.dequantize <s8, per_tensor> %w, %s : (tensor<4x2xi8>, tensor<f32>) -> tensor<4x2xf32>
  %y2 = qcc.matmul %wd2, %k : (tensor<4x2xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  return %y0, %y1, %y2 : tensor<?x2xf32>, tensor<?x2xf32>, tensor<4x4xf32>
}
