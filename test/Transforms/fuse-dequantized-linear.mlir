// RUN: qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-fuse-dequantized-linear))' | FileCheck %s

// A per-column int8 weight given as dequantize(constant) becomes a
// weight-only linear layer on the same integers and scales; the dequantized
// activations stay its float input.
// CHECK-LABEL: func @per_channel
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<4x2xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<[1.000000e-01, 2.000000e-01]> : tensor<2xf32>
// CHECK: %[[X:.*]] = qcc.dequantize <u8, per_tensor, asymmetric>
// CHECK: qcc.qlinear %[[X]], %[[W]], %[[S]] {weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<?x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<?x2xf32>
// CHECK-NOT: qcc.matmul
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
