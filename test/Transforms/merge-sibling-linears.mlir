// RUN: qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-merge-sibling-linears))' | FileCheck %s

// Q, K and V projections of one input with int8 weights and dynamic int8
// activations: one layer over the weights, scales and biases concatenated
// along N (K has no bias: zeros), then one slice per layer.
// CHECK-LABEL: func @qkv
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[\[}}1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]> : tensor<2x5xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<[1.000000e-01, 2.000000e-01, 3.000000e-01, 4.000000e-01, 5.000000e-01]> : tensor<5xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 0.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<5xf32>
// CHECK: %[[Y:.*]] = qcc.qlinear %arg0, %[[W]], %[[S]] bias %[[B]] : tensor<5xf32> {act_params = #qcc.qparams<s8, per_axis(0)>, weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<?x3x2xf32>, tensor<2x5xi8>, tensor<5xf32>) -> tensor<?x3x5xf32>
// CHECK: %[[D0:.*]] = qcc.dim %[[Y]], 0
// CHECK: %[[Q:.*]] = qcc.slice %[[Y]] [0, 0, 0] [%[[D0]], 3, 2] {strides = array<i64: 1, 1, 1>} : tensor<?x3x5xf32> -> tensor<?x3x2xf32>
// CHECK: %[[D1:.*]] = qcc.dim %[[Y]], 0
// CHECK: %[[K:.*]] = qcc.slice %[[Y]] [0, 0, 2] [%[[D1]], 3, 1] {strides = array<i64: 1, 1, 1>} : tensor<?x3x5xf32> -> tensor<?x3x1xf32>
// CHECK: %[[D2:.*]] = qcc.dim %[[Y]], 0
// CHECK: %[[V:.*]] = qcc.slice %[[Y]] [0, 0, 3] [%[[D2]], 3, 2] {strides = array<i64: 1, 1, 1>} : tensor<?x3x5xf32> -> tensor<?x3x2xf32>
// CHECK-NOT: qcc.qlinear
// CHECK: return %[[Q]], %[[K]], %[[V]]
func.func @qkv(%x: tensor<?x3x2xf32>) -> (tensor<?x3x2xf32>, tensor<?x3x1xf32>, tensor<?x3x2xf32>) {
  %wq = arith.constant dense<[[1, 2], [6, 7]]> : tensor<2x2xi8>
  %sq = arith.constant dense<[0.1, 0.2]> : tensor<2xf32>
  %bq = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %wk = arith.constant dense<[[3], [8]]> : tensor<2x1xi8>
  %sk = arith.constant dense<[0.3]> : tensor<1xf32>
  %wv = arith.constant dense<[[4, 5], [9, 10]]> : tensor<2x2xi8>
  %sv = arith.constant dense<[0.4, 0.5]> : tensor<2xf32>
  %bv = arith.constant dense<[3.0, 4.0]> : tensor<2xf32>
  %q = qcc.qlinear %x, %wq, %sq bias %bq : tensor<2xf32> {act_params = #qcc.qparams<s8, per_axis(0)>, weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<?x3x2xf32>, tensor<2x2xi8>, tensor<2xf32>) -> tensor<?x3x2xf32>
  %k = qcc.qlinear %x, %wk, %sk {act_params = #qcc.qparams<s8, per_axis(0)>, weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<?x3x2xf32>, tensor<2x1xi8>, tensor<1xf32>) -> tensor<?x3x1xf32>
  %v = qcc.qlinear %x, %wv, %sv bias %bv : tensor<2xf32> {act_params = #qcc.qparams<s8, per_axis(0)>, weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<?x3x2xf32>, tensor<2x2xi8>, tensor<2xf32>) -> tensor<?x3x2xf32>
  return %q, %k, %v : tensor<?x3x2xf32>, tensor<?x3x1xf32>, tensor<?x3x2xf32>
}

// -----

// Per-group int4 weights with zero points (gate and up of an FFN): scales
// [G, N] and zero points concatenate along their last dimension.
// CHECK-LABEL: func @gate_up
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[\[}}1, 2, 3], [4, 5, 6], [7, 0, 1], [2, 3, 4]]> : tensor<4x3xi4>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00, 6.000000e+00]]> : tensor<2x3xf16>
// CHECK-DAG: %[[Z:.*]] = arith.constant dense<{{\[\[}}1, 2, 3], [4, 5, 6]]> : tensor<2x3xi4>
// CHECK: %[[Y:.*]] = qcc.qlinear %arg0, %[[W]], %[[S]] zp %[[Z]] : tensor<2x3xi4> {weight_params = #qcc.qparams<u4, per_group(0, 2), asymmetric, scale = f16>} : (tensor<5x4xf32>, tensor<4x3xi4>, tensor<2x3xf16>) -> tensor<5x3xf32>
// CHECK: qcc.slice %[[Y]] [0, 0] [5, 2] {strides = array<i64: 1, 1>} : tensor<5x3xf32> -> tensor<5x2xf32>
// CHECK: qcc.slice %[[Y]] [0, 2] [5, 1] {strides = array<i64: 1, 1>} : tensor<5x3xf32> -> tensor<5x1xf32>
func.func @gate_up(%x: tensor<5x4xf32>) -> (tensor<5x2xf32>, tensor<5x1xf32>) {
  %wg = arith.constant dense<[[1, 2], [4, 5], [7, 0], [2, 3]]> : tensor<4x2xi4>
  %sg = arith.constant dense<[[1.0, 2.0], [4.0, 5.0]]> : tensor<2x2xf16>
  %zg = arith.constant dense<[[1, 2], [4, 5]]> : tensor<2x2xi4>
  %wu = arith.constant dense<[[3], [6], [1], [4]]> : tensor<4x1xi4>
  %su = arith.constant dense<[[3.0], [6.0]]> : tensor<2x1xf16>
  %zu = arith.constant dense<[[3], [6]]> : tensor<2x1xi4>
  %g = qcc.qlinear %x, %wg, %sg zp %zg : tensor<2x2xi4> {weight_params = #qcc.qparams<u4, per_group(0, 2), asymmetric, scale = f16>} : (tensor<5x4xf32>, tensor<4x2xi4>, tensor<2x2xf16>) -> tensor<5x2xf32>
  %u = qcc.qlinear %x, %wu, %su zp %zu : tensor<2x1xi4> {weight_params = #qcc.qparams<u4, per_group(0, 2), asymmetric, scale = f16>} : (tensor<5x4xf32>, tensor<4x1xi4>, tensor<2x1xf16>) -> tensor<5x1xf32>
  return %g, %u : tensor<5x2xf32>, tensor<5x1xf32>
}

// -----

// Layers that differ in scheme, activation scale or input stay apart, and
// so does a lone layer.
// CHECK-LABEL: func @apart
// CHECK-COUNT-4: qcc.qlinear
// CHECK-NOT: qcc.slice
func.func @apart(%x: tensor<5x4xf32>, %x2: tensor<5x4xf32>) -> (tensor<5x2xf32>, tensor<5x2xf32>, tensor<5x2xf32>, tensor<5x2xf32>) {
  %w = arith.constant dense<1> : tensor<4x2xi8>
  %s = arith.constant dense<0.5> : tensor<2xf32>
  %a = qcc.qlinear %x, %w, %s {act_params = #qcc.qparams<s8, per_tensor>, act_scale = 0.1 : f32, weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<5x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<5x2xf32>
  %b = qcc.qlinear %x, %w, %s {act_params = #qcc.qparams<s8, per_tensor>, act_scale = 0.2 : f32, weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<5x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<5x2xf32>
  %c = qcc.qlinear %x, %w, %s {weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<5x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<5x2xf32>
  %d = qcc.qlinear %x2, %w, %s {weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<5x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<5x2xf32>
  return %a, %b, %c, %d : tensor<5x2xf32>, tensor<5x2xf32>, tensor<5x2xf32>, tensor<5x2xf32>
}
