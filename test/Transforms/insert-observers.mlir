// RUN: qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-insert-observers))' | FileCheck %s --check-prefix=IN
// RUN: qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-insert-observers{probe=outputs}))' | FileCheck %s --check-prefix=OUT
// RUN: qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-insert-observers{probe=outputs}),qcc-expose-observers)' | FileCheck %s --check-prefix=EXPOSE

// Inputs: the activation operand of each quantizable linear, named after the
// ONNX node (or linear_<index>).
// IN-LABEL: func @float_linears
// IN: %[[P:.*]] = qcc.observe %arg0 "fc1"
// IN: qcc.matmul %[[P]]
// IN: qcc.observe %{{.*}} "linear_1"
//
// Outputs: after the bias add that belongs to the layer, and a probe on a
// returned value still leaves the function returning it.
// OUT-LABEL: func @float_linears
// OUT: %[[M:.*]] = qcc.matmul %arg0
// OUT: %[[B:.*]] = qcc.add %[[M]]
// OUT: %[[P:.*]] = qcc.observe %[[B]] "fc1"
// OUT: qcc.relu %[[P]]
// OUT: %[[M2:.*]] = qcc.matmul
// OUT: %[[P2:.*]] = qcc.observe %[[M2]] "linear_1"
// OUT: return %[[P2]]
//
// Exposed: the probes become extra results after the model's own, with the
// layer names as result attributes.
// EXPOSE-LABEL: func @float_linears
// EXPOSE-SAME: -> (tensor<?x4xf32>, tensor<?x4xf32> {qcc.name = "qcc_observe_0", qcc.observe = "fc1"}, tensor<?x4xf32> {qcc.name = "qcc_observe_1", qcc.observe = "linear_1"})
// EXPOSE-NOT: qcc.observe
// EXPOSE: %[[M:.*]] = qcc.matmul %arg0
// EXPOSE: %[[B:.*]] = qcc.add %[[M]]
// EXPOSE: %[[M2:.*]] = qcc.matmul
// EXPOSE: return %[[M2]], %[[B]], %[[M2]]
func.func @float_linears(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x4xf32>
  %b = arith.constant dense<1.0> : tensor<4xf32>
  %m = qcc.matmul %x, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32> loc("fc1")
  %a = qcc.add %m, %b : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %r = qcc.relu %a : tensor<?x4xf32>
  %y = qcc.matmul %r, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// Quantized layers are observed at their output under their report name;
// inputs are only probed on float linears.
// IN-LABEL: func @quantized
// IN-NOT: qcc.observe
// OUT-LABEL: func @quantized
// OUT: %[[Q:.*]] = qcc.qlinear
// OUT: qcc.observe %[[Q]] "blocks.0.fc"
func.func @quantized(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<1> : tensor<4x2xi8>
  %s = arith.constant dense<0.1> : tensor<2xf32>
  %y = qcc.qlinear %x, %w, %s {weight_params = #qcc.qparams<s8, per_axis(1)>, qcc.quant_report = {layer = "blocks.0.fc"}} : (tensor<?x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<?x2xf32>
  %r = qcc.relu %y : tensor<?x2xf32>
  return %r : tensor<?x2xf32>
}
// -----

// f16 values are probed through f32 casts; their users get the narrowed
// value back.
// IN-LABEL: func @half
// IN: %[[W:.*]] = qcc.cast %arg0 : tensor<?x4xf16> -> tensor<?x4xf32>
// IN: %[[P:.*]] = qcc.observe %[[W]] "fc" : tensor<?x4xf32>
// IN: %[[N:.*]] = qcc.cast %[[P]] : tensor<?x4xf32> -> tensor<?x4xf16>
// IN: qcc.matmul %[[N]], %{{.*}} : (tensor<?x4xf16>, tensor<4x2xf16>)
// OUT-LABEL: func @half
// OUT: %[[M:.*]] = qcc.matmul %arg0
// OUT: %[[W:.*]] = qcc.cast %[[M]] : tensor<?x2xf16> -> tensor<?x2xf32>
// OUT: %[[P:.*]] = qcc.observe %[[W]] "fc" : tensor<?x2xf32>
// OUT: %[[N:.*]] = qcc.cast %[[P]] : tensor<?x2xf32> -> tensor<?x2xf16>
// OUT: qcc.relu %[[N]]
func.func @half(%x: tensor<?x4xf16>) -> tensor<?x2xf16> {
  %w = arith.constant dense<0.5> : tensor<4x2xf16>
  %m = qcc.matmul %x, %w : (tensor<?x4xf16>, tensor<4x2xf16>) -> tensor<?x2xf16> loc("fc")
  %r = qcc.relu %m : tensor<?x2xf16>
  return %r : tensor<?x2xf16>
}
