// RUN: qcc-opt %s --canonicalize --cse --split-input-file | FileCheck %s

// quantize(dequantize(q)) with the same scheme and parameters is q.
// CHECK-LABEL: func @requant_roundtrip
// CHECK-SAME: (%[[Q:.*]]: tensor<4x8xi8>
// CHECK-NOT: qcc.quantize
// CHECK: return %[[Q]]
func.func @requant_roundtrip(%q: tensor<4x8xi8>, %s: tensor<8xf32>) -> tensor<4x8xi8> {
  %d = qcc.dequantize #qcc.qparams<s8, per_axis(1)> %q, %s : (tensor<4x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  %r = qcc.quantize #qcc.qparams<s8, per_axis(1)> %d, %s : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi8>
  return %r : tensor<4x8xi8>
}

// -----

// A different scale is a real requantization and stays.
// CHECK-LABEL: func @requant_other_scale
// CHECK: qcc.dequantize
// CHECK: qcc.quantize
func.func @requant_other_scale(%q: tensor<4xi8>, %s: tensor<f32>, %t: tensor<f32>) -> tensor<4xi8> {
  %d = qcc.dequantize #qcc.qparams<s8, per_tensor> %q, %s : (tensor<4xi8>, tensor<f32>) -> tensor<4xf32>
  %r = qcc.quantize #qcc.qparams<s8, per_tensor> %d, %t : (tensor<4xf32>, tensor<f32>) -> tensor<4xi8>
  return %r : tensor<4xi8>
}

// -----

// dequantize(quantize(x)) rounds, so it is never folded away.
// CHECK-LABEL: func @fake_quant_kept
// CHECK: qcc.quantize
// CHECK: qcc.dequantize
func.func @fake_quant_kept(%x: tensor<4xf32>, %s: tensor<f32>) -> tensor<4xf32> {
  %q = qcc.quantize #qcc.qparams<s8, per_tensor> %x, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xi8>
  %d = qcc.dequantize #qcc.qparams<s8, per_tensor> %q, %s : (tensor<4xi8>, tensor<f32>) -> tensor<4xf32>
  return %d : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @reshape_chain
// CHECK-NEXT: %[[R:.*]] = qcc.reshape %arg0 : tensor<2x6xf32> -> tensor<3x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @reshape_chain(%x: tensor<2x6xf32>) -> tensor<3x4xf32> {
  %0 = qcc.reshape %x : tensor<2x6xf32> -> tensor<12xf32>
  %1 = qcc.reshape %0 : tensor<12xf32> -> tensor<3x4xf32>
  return %1 : tensor<3x4xf32>
}

// -----

// CHECK-LABEL: func @identities
// CHECK-NEXT: return %arg0
func.func @identities(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = qcc.identity %x : tensor<2x3xf32>
  %1 = qcc.transpose %0 {perm = array<i64: 0, 1>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %2 = qcc.cast %1 : tensor<2x3xf32> -> tensor<2x3xf32>
  %3 = qcc.reshape %2 : tensor<2x3xf32> -> tensor<2x3xf32>
  return %3 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @static_dim
// CHECK: %[[C:.*]] = arith.constant 3 : index
// CHECK: return %[[C]]
func.func @static_dim(%x: tensor<?x3xf32>) -> index {
  %0 = qcc.dim %x, 1 : tensor<?x3xf32>
  return %0 : index
}

// -----

// CHECK-LABEL: func @const_reshape
// CHECK: arith.constant dense<{{\[}}[1, 2], [3, 4]]> : tensor<2x2xi64>
// CHECK-NOT: qcc.reshape
func.func @const_reshape() -> tensor<2x2xi64> {
  %c = arith.constant dense<[1, 2, 3, 4]> : tensor<4xi64>
  %0 = qcc.reshape %c : tensor<4xi64> -> tensor<2x2xi64>
  return %0 : tensor<2x2xi64>
}

// -----

// Dynamic dims trace back through shape-preserving producers to the value
// that introduced them.
// CHECK-LABEL: func @dim_tracing
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x8xf32>, %[[W:.*]]: tensor<8x16xf32>, %[[N:.*]]: index)
// CHECK-DAG: %[[D0:.*]] = qcc.dim %[[X]], 0
// CHECK-DAG: %[[D1:.*]] = qcc.dim %[[X]], 1
// CHECK: return %[[D0]], %[[D1]], %[[D1]], %[[N]]
func.func @dim_tracing(%x: tensor<?x?x8xf32>, %w: tensor<8x16xf32>, %n: index) -> (index, index, index, index) {
  %e = qcc.exp %x : tensor<?x?x8xf32>
  %m = qcc.matmul %e, %w : (tensor<?x?x8xf32>, tensor<8x16xf32>) -> tensor<?x?x16xf32>
  %t = qcc.transpose %m {perm = array<i64: 1, 0, 2>} : tensor<?x?x16xf32> -> tensor<?x?x16xf32>
  %d0 = qcc.dim %m, 0 : tensor<?x?x16xf32>
  %d1 = qcc.dim %t, 0 : tensor<?x?x16xf32>
  %b = qcc.add %t, %w : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x16xf32>
  %d2 = qcc.dim %b, 0 : tensor<?x?x16xf32>
  %f = qcc.fill[%n] 0.0 : f32 : tensor<?xf32>
  %d3 = qcc.dim %f, 0 : tensor<?xf32>
  return %d0, %d1, %d2, %d3 : index, index, index, index
}

// -----

// The transpose of a constant is a constant (weights stored [N, K], as a
// Gemm with transB has them); 3-D permutations move every element; i4
// constants are left to the op.
// CHECK-LABEL: func @transpose_constant
// CHECK-DAG: arith.constant dense<{{\[\[}}1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK-DAG: arith.constant dense<{{\[\[\[}}1, 3], [5, 7]], {{\[\[}}2, 4], [6, 8]]]> : tensor<2x2x2xi8>
// CHECK-DAG: qcc.transpose %{{.*}} : tensor<2x3xi4> -> tensor<3x2xi4>
func.func @transpose_constant() -> (tensor<3x2xf32>, tensor<2x2x2xi8>, tensor<3x2xi4>) {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %t = qcc.transpose %w {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  %c = arith.constant dense<[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]> : tensor<2x2x2xi8>
  %u = qcc.transpose %c {perm = array<i64: 2, 0, 1>} : tensor<2x2x2xi8> -> tensor<2x2x2xi8>
  %n = arith.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi4>
  %v = qcc.transpose %n {perm = array<i64: 1, 0>} : tensor<2x3xi4> -> tensor<3x2xi4>
  return %t, %u, %v : tensor<3x2xf32>, tensor<2x2x2xi8>, tensor<3x2xi4>
}
