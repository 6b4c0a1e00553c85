// RUN: qcc-opt %s --qcc-convert-to-linalg --split-input-file | FileCheck %s

// Broadcasting reads the size-1 / missing dims of the smaller operand.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @add_broadcast
// CHECK-SAME: (%[[A:.*]]: tensor<?x4xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK: %[[D:.*]] = tensor.dim %[[A]], %c0
// CHECK: %[[E:.*]] = tensor.empty(%[[D]]) : tensor<?x4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[A]], %[[B]] : tensor<?x4xf32>, tensor<4xf32>) outs(%[[E]] : tensor<?x4xf32>)
// CHECK: arith.addf
func.func @add_broadcast(%a: tensor<?x4xf32>, %b: tensor<4xf32>) -> tensor<?x4xf32> {
  %0 = qcc.add %a, %b : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// CHECK-DAG: #[[ZERO:.*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: func @unit_dim
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[ZERO]], #{{.*}}]
// CHECK: arith.cmpf olt
func.func @unit_dim(%a: tensor<3x4xf32>, %b: tensor<1x4xf32>) -> tensor<3x4xi1> {
  %0 = qcc.less %a, %b : (tensor<3x4xf32>, tensor<1x4xf32>) -> tensor<3x4xi1>
  return %0 : tensor<3x4xi1>
}

// -----

// CHECK-LABEL: func @activations
// GELU (exact) is x * 0.5 * (1 + erf(x / sqrt 2)).
// CHECK: math.erf
// SiLU is x * sigmoid(x).
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: arith.mulf
// Clip clamps with maximumf / minimumf.
// CHECK: arith.maximumf
// CHECK: arith.minimumf
func.func @activations(%x: tensor<8xf32>) -> tensor<8xf32> {
  %0 = qcc.gelu %x : tensor<8xf32>
  %1 = qcc.silu %0 : tensor<8xf32>
  %2 = qcc.clip %1 {min = 0.0 : f64, max = 6.0 : f64} : tensor<8xf32>
  return %2 : tensor<8xf32>
}

// -----

// ONNX Cast: float -> unsigned truncates with fptoui, uint -> float uitofp,
// and anything -> bool compares with zero.
// CHECK-LABEL: func @casts
// CHECK: arith.fptoui
// CHECK: arith.uitofp
// CHECK: arith.cmpf une
func.func @casts(%x: tensor<4xf32>) -> tensor<4xi1> {
  %0 = qcc.cast %x {to_unsigned} : tensor<4xf32> -> tensor<4xi8>
  %1 = qcc.cast %0 {from_unsigned} : tensor<4xi8> -> tensor<4xf32>
  %2 = qcc.cast %1 : tensor<4xf32> -> tensor<4xi1>
  return %2 : tensor<4xi1>
}

// -----

// CHECK-LABEL: func @where
// CHECK: arith.select
func.func @where(%c: tensor<4xi1>, %a: tensor<4xf32>, %b: tensor<f32>) -> tensor<4xf32> {
  %0 = qcc.where %c, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
