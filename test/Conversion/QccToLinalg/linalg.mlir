// RUN: qcc-opt %s --qcc-convert-to-linalg --split-input-file | FileCheck %s

// A batched matmul against a shared weight: the weight map has no batch dim,
// and the loops run batch, m, k, n so the innermost loop is contiguous.
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-LABEL: func @matmul
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK-SAME: outs(%[[Z]] : tensor<?x5x16xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @matmul(%x: tensor<?x5x8xf32>, %w: tensor<8x16xf32>) -> tensor<?x5x16xf32> {
  %0 = qcc.matmul %x, %w : (tensor<?x5x8xf32>, tensor<8x16xf32>) -> tensor<?x5x16xf32>
  return %0 : tensor<?x5x16xf32>
}

// -----

// A rank-1 rhs is promoted to [K, 1] and the unit dim collapsed away.
// CHECK-LABEL: func @matvec
// CHECK: tensor.expand_shape {{.*}} tensor<8xf32> into tensor<8x1xf32>
// CHECK: tensor.collapse_shape {{.*}} tensor<3x1xf32> into tensor<3xf32>
func.func @matvec(%a: tensor<3x8xf32>, %v: tensor<8xf32>) -> tensor<3xf32> {
  %0 = qcc.matmul %a, %v : (tensor<3x8xf32>, tensor<8xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// Softmax: max, exp(x - max), sum, divide.
// CHECK-LABEL: func @softmax
// CHECK: linalg.fill ins(%{{.*}} : f32) {{.*}} -> tensor<2x1xf32>
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
func.func @softmax(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = qcc.softmax %x {axis = 1 : i64} : tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// CHECK-LABEL: func @layer_norm
// CHECK: math.rsqrt
// CHECK-LABEL: func @rms_norm
// CHECK: math.rsqrt
func.func @layer_norm(%x: tensor<2x8xf32>, %g: tensor<8xf32>) -> tensor<2x8xf32> {
  %0 = qcc.layer_norm %x, %g, %g {axis = 1 : i64, epsilon = 1.0e-5 : f64} : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}
func.func @rms_norm(%x: tensor<2x8xf32>, %g: tensor<8xf32>) -> tensor<2x8xf32> {
  %0 = qcc.rms_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-5 : f64} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Reducing without keepdims collapses the unit dims.
// CHECK-LABEL: func @reduce_sum
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: tensor.collapse_shape {{.*}} tensor<2x1x4xf32> into tensor<2x4xf32>
func.func @reduce_sum(%x: tensor<2x3x4xf32>) -> tensor<2x4xf32> {
  %0 = qcc.reduce sum %x {axes = array<i64: 1>, keepdims = false} : tensor<2x3x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// Grouped-query attention: key/value heads are read at h floordiv 4; scores
// and output are two contractions around a causal softmax.
// CHECK-DAG: #[[KV:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 4, d3, d4)>
// CHECK-LABEL: func @attention
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[KV]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK: arith.cmpi sgt
// CHECK: math.exp
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
func.func @attention(%q: tensor<1x8x3x16xf32>, %k: tensor<1x2x5x16xf32>, %v: tensor<1x2x5x16xf32>) -> tensor<1x8x3x16xf32> {
  %0 = qcc.attention %q, %k, %v {scale = 0.25 : f64, causal = true} : tensor<1x8x3x16xf32>, tensor<1x2x5x16xf32>, tensor<1x2x5x16xf32> -> tensor<1x8x3x16xf32>
  return %0 : tensor<1x8x3x16xf32>
}
