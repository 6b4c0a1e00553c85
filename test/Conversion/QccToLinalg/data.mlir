// RUN: qcc-opt %s --qcc-convert-to-linalg --split-input-file | FileCheck %s

// CHECK-LABEL: func @reshape
// CHECK: %[[S:.*]] = tensor.from_elements %arg1, %c2{{.*}}, %c3{{.*}} : tensor<3xindex>
// CHECK: tensor.reshape %arg0(%[[S]])
func.func @reshape(%x: tensor<?x6xf32>, %n: index) -> tensor<?x2x3xf32> {
  %0 = qcc.reshape %x[%n] : tensor<?x6xf32> -> tensor<?x2x3xf32>
  return %0 : tensor<?x2x3xf32>
}

// -----

// CHECK-LABEL: func @transpose
// CHECK: linalg.transpose ins(%arg0 : tensor<2x3x4xf32>) outs(%{{.*}} : tensor<4x2x3xf32>) permutation = [2, 0, 1]
func.func @transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = qcc.transpose %x {perm = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  return %0 : tensor<4x2x3xf32>
}

// -----

// CHECK-LABEL: func @concat_slice
// CHECK: tensor.insert_slice %arg0 into %{{.*}}[0, 0] [2, 3] [1, 1]
// CHECK: tensor.insert_slice %arg1 into %{{.*}}[0, 3] [2, 5] [1, 1]
// CHECK: tensor.extract_slice %{{.*}}[0, 1] [2, 3] [1, 2]
func.func @concat_slice(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>) -> tensor<2x3xf32> {
  %0 = qcc.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
  %1 = qcc.slice %0 [0, 1] [2, 3] {strides = array<i64: 1, 2>} : tensor<2x8xf32> -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// -----

// Gather wraps negative indices and reads the data with tensor.extract.
// CHECK-LABEL: func @gather
// CHECK: linalg.generic
// CHECK: arith.cmpi slt
// CHECK: arith.select
// CHECK: tensor.extract %arg0[
func.func @gather(%e: tensor<10x4xf32>, %i: tensor<?x3xi64>) -> tensor<?x3x4xf32> {
  %0 = qcc.gather %e[%i] {axis = 0 : i64} : (tensor<10x4xf32>, tensor<?x3xi64>) -> tensor<?x3x4xf32>
  return %0 : tensor<?x3x4xf32>
}

// -----

// CHECK-LABEL: func @range_fill_expand
// CHECK: arith.ceildivsi
// CHECK: linalg.index 0
// CHECK: linalg.fill
// CHECK: linalg.generic
func.func @range_fill_expand(%s: tensor<i64>, %l: tensor<i64>, %d: tensor<i64>, %x: tensor<1x4xf32>, %n: index) -> (tensor<?xi64>, tensor<?x4xf32>, tensor<?x4xf32>) {
  %0 = qcc.range %s, %l, %d : tensor<i64>, tensor<i64>, tensor<i64> -> tensor<?xi64>
  %1 = qcc.fill[%n] 0.0 : f32 : tensor<?x4xf32>
  %2 = qcc.expand %x[%n] : tensor<1x4xf32> -> tensor<?x4xf32>
  return %0, %1, %2 : tensor<?xi64>, tensor<?x4xf32>, tensor<?x4xf32>
}
