// RUN: qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-quantize-weights{act=dynamic}))' | FileCheck %s
// RUN: qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-quantize-weights{bits=4 group=2 asym=true}))' | FileCheck %s --check-prefix=ASYM
// RUN: not qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-quantize-weights{bits=3}))' 2>&1 | FileCheck %s --check-prefix=BITS

// 8-bit per output column, symmetric: column 0 has max|w| = 127 so its scale
// is exactly 1 (2.5 rounds half to even, to 2; -3.5 to -4); the all-zero
// column takes scale 1. The bias add folds into the layer.
// CHECK-LABEL: func @linear
// CHECK-DAG: %[[Q:.*]] = arith.constant dense<{{\[\[}}127, 0], [2, 0], [-4, 0]]> : tensor<3x2xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<1.000000e+00> : tensor<2xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[5.000000e-01, 1.000000e+00]> : tensor<2xf32>
// CHECK: %[[Y:.*]] = qcc.qlinear %arg0, %[[Q]], %[[S]] bias %[[B]] : tensor<2xf32> {act_params = #qcc.qparams<s8, per_axis(0)>, qcc.quant_report = {algo = "rtn", layer = "proj", scheme = "s8 per-channel, int8 activations", shape = array<i64: 3, 2>, weight_sqnr_db = {{.*}} : f64}, weight_params = #qcc.qparams<s8, per_axis(1)>}
// CHECK-NOT: qcc.add
// CHECK: return %[[Y]]
// BITS: error: qcc-quantize-weights: bits must be 4 or 8, got 3
// With 4 bits asked for, a layer producing a function result (a model's
// head) keeps 8 bits per column.
// ASYM-LABEL: func @linear
// ASYM: qcc.qlinear {{.*}}note = "kept at 8 bits per channel: feeds a model output"{{.*}}weight_params = #qcc.qparams<u8, per_axis(1), asymmetric>
func.func @linear(%x: tensor<?x3xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[127.0, 0.0], [2.5, 0.0], [-3.5, 0.0]]> : tensor<3x2xf32>
  %b = arith.constant dense<[0.5, 1.0]> : tensor<2xf32>
  %m = qcc.matmul %x, %w : (tensor<?x3xf32>, tensor<3x2xf32>) -> tensor<?x2xf32> loc("proj")
  %y = qcc.add %m, %b : (tensor<?x2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// 4-bit groups of 2 along K, unsigned with zero points over [min(w, 0),
// max(w, 0)]: group [1, 3] -> scale 0.2, zp 0, q [5, 15]; group [-2, 0] ->
// scale 2/15, zp 15, q [0, 15]. A product with a non-constant operand stays.
// ASYM-LABEL: func @groups
// ASYM-DAG: arith.constant dense<{{\[\[}}5], [-1], [0], [-1]]> : tensor<4x1xi4>
// ASYM-DAG: arith.constant dense<{{\[\[}}2.000000e-01], [0.13333334]]> : tensor<2x1xf32>
// ASYM-DAG: arith.constant dense<{{\[\[}}0], [-1]]> : tensor<2x1xi4>
// ASYM: qcc.qlinear {{.*}} weight_params = #qcc.qparams<u4, per_group(0, 2), asymmetric>
// ASYM: qcc.matmul %{{.*}}, %arg1
func.func @groups(%x: tensor<1x4xf32>, %v: tensor<4x4xf32>) -> (tensor<1x1xf32>, tensor<1x4xf32>) {
  %w = arith.constant dense<[[1.0], [3.0], [-2.0], [0.0]]> : tensor<4x1xf32>
  %y = qcc.matmul %x, %w : (tensor<1x4xf32>, tensor<4x1xf32>) -> tensor<1x1xf32>
  %r = qcc.relu %y : tensor<1x1xf32>
  %z = qcc.matmul %x, %v : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  return %r, %z : tensor<1x1xf32>, tensor<1x4xf32>
}

// -----

// Recipe overrides on the layers: the first stays float (recorded in its
// report), the second takes 8 bits per column over the pass's 4-bit groups.
// ASYM-LABEL: func @overrides
// ASYM: qcc.matmul {{.*}}qcc.quant_report = {layer = "keep", note = "set by recipe rule 1 ('keep')", scheme = "float", shape = array<i64: 4, 1>}
// ASYM: qcc.qlinear {{.*}}note = "set by recipe rule 2 ('wide')"{{.*}}weight_params = #qcc.qparams<u8, per_axis(1), asymmetric>
func.func @overrides(%x: tensor<1x4xf32>) -> (tensor<1x1xf32>, tensor<1x1xf32>) {
  %w = arith.constant dense<[[1.0], [3.0], [-2.0], [0.0]]> : tensor<4x1xf32>
  %a = qcc.matmul %x, %w {qcc.quant_override = {float, rule = "1 ('keep')"}} : (tensor<1x4xf32>, tensor<4x1xf32>) -> tensor<1x1xf32> loc("keep")
  %b = qcc.matmul %x, %w {qcc.quant_override = {bits = 8 : i64, group = 0 : i64, rule = "2 ('wide')"}} : (tensor<1x4xf32>, tensor<4x1xf32>) -> tensor<1x1xf32> loc("wide")
  %ra = qcc.relu %a : tensor<1x1xf32>
  %rb = qcc.relu %b : tensor<1x1xf32>
  return %ra, %rb : tensor<1x1xf32>, tensor<1x1xf32>
}

// -----

// An f16 layer runs on the f32 kernels: input and bias widened, the
// result narrowed back; the weight quantizes from its exact f16 values.
// CHECK-LABEL: func @half
// CHECK: %[[X:.*]] = qcc.cast %arg0 : tensor<?x2xf16> -> tensor<?x2xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[1.000000e+00, -1.000000e+00]> : tensor<2xf32>
// CHECK: %[[Y:.*]] = qcc.qlinear %[[X]], %{{.*}}, %{{.*}} bias %[[B]] : tensor<2xf32> {{.*}} : (tensor<?x2xf32>, tensor<2x2xi8>, tensor<2xf32>) -> tensor<?x2xf32>
// CHECK: %[[R:.*]] = qcc.cast %[[Y]] : tensor<?x2xf32> -> tensor<?x2xf16>
// CHECK: qcc.relu %[[R]] : tensor<?x2xf16>
func.func @half(%x: tensor<?x2xf16>) -> tensor<?x2xf16> {
  %w = arith.constant dense<[[0.5, -1.0], [0.25, 2.0]]> : tensor<2x2xf16>
  %b = arith.constant dense<[1.0, -1.0]> : tensor<2xf16>
  %m = qcc.matmul %x, %w : (tensor<?x2xf16>, tensor<2x2xf16>) -> tensor<?x2xf16>
  %a = qcc.add %m, %b : (tensor<?x2xf16>, tensor<2xf16>) -> tensor<?x2xf16>
  %r = qcc.relu %a : tensor<?x2xf16>
  return %r : tensor<?x2xf16>
}
