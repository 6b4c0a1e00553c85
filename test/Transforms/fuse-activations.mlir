// RUN: qcc-opt %s --qcc-fuse-activations --split-input-file | FileCheck %s

// CHECK-LABEL: func @silu
// CHECK: %[[R:.*]] = qcc.silu %arg0 : tensor<4xf32>
// CHECK-NEXT: return %[[R]]
func.func @silu(%x: tensor<4xf32>) -> tensor<4xf32> {
  %s = qcc.sigmoid %x : tensor<4xf32>
  %y = qcc.mul %s, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// torch's exact GELU export: x * 0.5 * (1 + erf(x / 1.4142135)).
// CHECK-LABEL: func @gelu_erf
// CHECK: %[[R:.*]] = qcc.gelu %arg0 : tensor<4xf32>
// CHECK-NEXT: return %[[R]]
func.func @gelu_erf(%x: tensor<4xf32>) -> tensor<4xf32> {
  %sqrt2 = arith.constant dense<1.41421354> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %0 = qcc.div %x, %sqrt2 : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %1 = qcc.erf %0 : tensor<4xf32>
  %2 = qcc.add %1, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %3 = qcc.mul %x, %2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %4 = qcc.mul %3, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %4 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @gelu_tanh
// CHECK: qcc.gelu %arg0 {approximate = #qcc<gelu_approx tanh>}
func.func @gelu_tanh(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c3 = arith.constant dense<3.0> : tensor<f32>
  %k = arith.constant dense<0.044715> : tensor<f32>
  %s = arith.constant dense<0.797884583> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %0 = qcc.pow %x, %c3 : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %1 = qcc.mul %0, %k : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %2 = qcc.add %x, %1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %3 = qcc.mul %2, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %4 = qcc.tanh %3 : tensor<4xf32>
  %5 = qcc.add %4, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %6 = qcc.mul %half, %x : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %7 = qcc.mul %6, %5 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %7 : tensor<4xf32>
}

// -----

// The wrong constant (0.4 instead of 0.5) is not GELU.
// CHECK-LABEL: func @not_gelu
// CHECK-NOT: qcc.gelu
func.func @not_gelu(%x: tensor<4xf32>) -> tensor<4xf32> {
  %sqrt2 = arith.constant dense<1.41421354> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %c = arith.constant dense<0.4> : tensor<f32>
  %0 = qcc.div %x, %sqrt2 : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %1 = qcc.erf %0 : tensor<4xf32>
  %2 = qcc.add %1, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %3 = qcc.mul %x, %2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %4 = qcc.mul %3, %c : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %4 : tensor<4xf32>
}
