// RUN: qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-fuse-residual))' | FileCheck %s

// A skip connection after an output projection: the add becomes the
// layer's residual operand, whichever side the layer is on; the layer keeps
// its bias, scheme and report attributes.
// CHECK-LABEL: func @skip
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>, %[[H:.*]]: tensor<?x2xf32>)
// CHECK: %[[Y:.*]] = qcc.qlinear %[[X]], %{{.*}}, %{{.*}} bias %{{.*}} : tensor<2xf32> residual %[[H]] : tensor<?x2xf32> {act_params = #qcc.qparams<s8, per_axis(0)>, qcc.quant_report = {layer = "o_proj"}, weight_params = #qcc.qparams<s8, per_axis(1)>}
// CHECK: %[[Z:.*]] = qcc.qlinear %[[Y]], %{{.*}}, %{{.*}} residual %[[Y]] : tensor<?x2xf32>
// CHECK-NOT: qcc.add
// CHECK: return %[[Z]]
func.func @skip(%x: tensor<?x4xf32>, %h: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<1> : tensor<4x2xi8>
  %s = arith.constant dense<0.5> : tensor<2xf32>
  %b = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %w2 = arith.constant dense<2> : tensor<2x2xi8>
  %o = qcc.qlinear %x, %w, %s bias %b : tensor<2xf32> {act_params = #qcc.qparams<s8, per_axis(0)>, qcc.quant_report = {layer = "o_proj"}, weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<?x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<?x2xf32>
  %y = qcc.add %h, %o : (tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
  %d = qcc.qlinear %y, %w2, %s {act_params = #qcc.qparams<s8, per_axis(0)>, weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<?x2xf32>, tensor<2x2xi8>, tensor<2xf32>) -> tensor<?x2xf32>
  %z = qcc.add %d, %y : (tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
  return %z : tensor<?x2xf32>
}

// -----

// Left alone: a broadcasting add (the residual must have the layer's
// shape), a layer whose output has another use, and a layer that already
// has a residual.
// CHECK-LABEL: func @unfused
// CHECK: %[[A:.*]] = qcc.qlinear
// CHECK-NOT: residual
// CHECK: qcc.add %[[A]], %{{.*}} : (tensor<3x2xf32>, tensor<2xf32>)
// CHECK: %[[B:.*]] = qcc.qlinear
// CHECK-NOT: residual
// CHECK: qcc.add %[[B]], %{{.*}} : (tensor<3x2xf32>, tensor<3x2xf32>)
// CHECK: %[[C:.*]] = qcc.qlinear {{.*}} residual
// CHECK: qcc.add %[[C]], %{{.*}} : (tensor<3x2xf32>, tensor<3x2xf32>)
func.func @unfused(%x: tensor<3x4xf32>, %r: tensor<2xf32>, %h: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) {
  %w = arith.constant dense<1> : tensor<4x2xi8>
  %s = arith.constant dense<0.5> : tensor<2xf32>
  %a = qcc.qlinear %x, %w, %s {weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<3x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<3x2xf32>
  %a1 = qcc.add %a, %r : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %b = qcc.qlinear %x, %w, %s {weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<3x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<3x2xf32>
  %b1 = qcc.add %b, %h : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  %c = qcc.qlinear %x, %w, %s residual %h : tensor<3x2xf32> {weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<3x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<3x2xf32>
  %c1 = qcc.add %c, %h : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  return %a1, %b, %b1, %c1 : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>
}
