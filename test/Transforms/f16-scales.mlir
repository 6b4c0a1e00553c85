// RUN: qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-f16-scales))' --verify-diagnostics | FileCheck %s

// An imported 4-bit layer: its f32 scales become an f16 constant rounded to
// nearest (0.1 -> 0.0999755859, 3.0e-4 -> 2.99930573e-4), 0 stays 0, and
// the scheme says scale = f16. The weights and zero points (8, printed as
// the signless i4 -8) are untouched, and the f32 constant is gone.
// CHECK-LABEL: func @grouped
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{\[}}[9.997550e-02, 2.999310e-04, 0.000000e+00]]> : tensor<1x3xf16>
// CHECK-DAG: %[[W:.*]] = arith.constant dense<3> : tensor<32x3xi4>
// CHECK-DAG: %[[Z:.*]] = arith.constant dense<-8> : tensor<1x3xi4>
// CHECK-NOT: xf32>
// CHECK: qcc.qlinear %{{.*}}, %[[W]], %[[S]] zp %[[Z]] : tensor<1x3xi4> {weight_params = #qcc.qparams<u4, per_group(0, 32), asymmetric, scale = f16>} : (tensor<?x32xf32>, tensor<32x3xi4>, tensor<1x3xf16>)
func.func @grouped(%x: tensor<?x32xf32>) -> tensor<?x3xf32> {
  %w = arith.constant dense<3> : tensor<32x3xi4>
  %s = arith.constant dense<[[0.1, 3.0e-4, 0.0]]> : tensor<1x3xf32>
  %z = arith.constant dense<8> : tensor<1x3xi4>
  %y = qcc.qlinear %x, %w, %s zp %z : tensor<1x3xi4> {weight_params = #qcc.qparams<u4, per_group(0, 32), asymmetric>} : (tensor<?x32xf32>, tensor<32x3xi4>, tensor<1x3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}

// -----

// Two layers sharing one scale constant share its f16 copy; a layer whose
// scales are f16 already is left as it is.
// CHECK-LABEL: func @shared
// CHECK: %[[H:.*]] = arith.constant dense<5.000000e-01> : tensor<2xf16>
// CHECK: %[[A:.*]] = qcc.qlinear %{{.*}}, %{{.*}}, %[[H]] {act_params
// CHECK-SAME: scale = f16
// CHECK: qcc.qlinear %[[A]], %{{.*}}, %[[H]] {act_params
// CHECK: qcc.qlinear %{{.*}}, %{{.*}}, %{{.*}} {weight_params = #qcc.qparams<s8, per_axis(1), scale = f16>} : (tensor<?x2xf32>, tensor<2x2xi8>, tensor<2xf16>)
func.func @shared(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<1> : tensor<2x2xi8>
  %s = arith.constant dense<0.5> : tensor<2xf32>
  %s16 = arith.constant dense<0.25> : tensor<2xf16>
  %a = qcc.qlinear %x, %w, %s {act_params = #qcc.qparams<s8, per_axis(0)>, weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<?x2xf32>, tensor<2x2xi8>, tensor<2xf32>) -> tensor<?x2xf32>
  %b = qcc.qlinear %a, %w, %s {act_params = #qcc.qparams<s8, per_axis(0)>, weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<?x2xf32>, tensor<2x2xi8>, tensor<2xf32>) -> tensor<?x2xf32>
  %c = qcc.qlinear %b, %w, %s16 {weight_params = #qcc.qparams<s8, per_axis(1), scale = f16>} : (tensor<?x2xf32>, tensor<2x2xi8>, tensor<2xf16>) -> tensor<?x2xf32>
  return %c : tensor<?x2xf32>
}

// -----

// A scale f16 would leave subnormal (below 6.1e-5) is refused.
func.func @tiny(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<1> : tensor<2x2xi8>
  %s = arith.constant dense<[0.5, 1.0e-6]> : tensor<2xf32>
  // expected-error @+1 {{layer 'linear_0': weight scale 1.000000e-06 is outside f16's normal range (--scale-type=f32 keeps it)}}
  %y = qcc.qlinear %x, %w, %s {weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<?x2xf32>, tensor<2x2xi8>, tensor<2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// So is one past f16's largest value (65504).
func.func @huge(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<1> : tensor<2x2xi8>
  %s = arith.constant dense<[7.0e4, 1.0]> : tensor<2xf32>
  // expected-error @+1 {{is outside f16's normal range}}
  %y = qcc.qlinear %x, %w, %s {weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<?x2xf32>, tensor<2x2xi8>, tensor<2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
