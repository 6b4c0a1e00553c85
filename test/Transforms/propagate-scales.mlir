// RUN: qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-propagate-scales))' | FileCheck %s

// Same scale: a dequantize sinks through reshape and transpose, and the
// quantize that re-reads the same scheme vanishes, so the data movement runs
// on the integers.
// CHECK-LABEL: func @same_scale_chain
// CHECK-SAME: (%[[X:.*]]: tensor<2x6xi8>
// CHECK-NOT: qcc.quantize
// CHECK: %[[R:.*]] = qcc.reshape %[[X]] : tensor<2x6xi8> -> tensor<2x2x3xi8>
// CHECK: %[[T:.*]] = qcc.transpose %[[R]] {perm = array<i64: 0, 2, 1>} : tensor<2x2x3xi8> -> tensor<2x3x2xi8>
// CHECK-NOT: qcc.quantize
// CHECK: return %[[T]]
func.func @same_scale_chain(%x: tensor<2x6xi8>) -> tensor<2x3x2xi8> {
  %s = arith.constant dense<0.5> : tensor<f32>
  %z = arith.constant dense<3> : tensor<i8>
  %d = qcc.dequantize <u8, per_tensor, asymmetric> %x, %s, %z : (tensor<2x6xi8>, tensor<f32>, tensor<i8>) -> tensor<2x6xf32>
  %r = qcc.reshape %d : tensor<2x6xf32> -> tensor<2x2x3xf32>
  %q = qcc.quantize <u8, per_tensor, asymmetric> %r, %s, %z : (tensor<2x2x3xf32>, tensor<f32>, tensor<i8>) -> tensor<2x2x3xi8>
  %d2 = qcc.dequantize <u8, per_tensor, asymmetric> %q, %s, %z : (tensor<2x2x3xi8>, tensor<f32>, tensor<i8>) -> tensor<2x2x3xf32>
  %t = qcc.transpose %d2 {perm = array<i64: 0, 2, 1>} : tensor<2x2x3xf32> -> tensor<2x3x2xf32>
  %q2 = qcc.quantize <u8, per_tensor, asymmetric> %t, %s, %z : (tensor<2x3x2xf32>, tensor<f32>, tensor<i8>) -> tensor<2x3x2xi8>
  return %q2 : tensor<2x3x2xi8>
}

// -----

// Equal scales spelled by different constants still match.
// CHECK-LABEL: func @equal_constants
// CHECK-SAME: (%[[X:.*]]: tensor<4xi8>
// CHECK-NEXT: return %[[X]]
func.func @equal_constants(%x: tensor<4xi8>) -> tensor<4xi8> {
  %s = arith.constant dense<0.25> : tensor<f32>
  %s2 = arith.constant dense<0.25> : tensor<1xf32>
  %d = qcc.dequantize <s8, per_tensor> %x, %s : (tensor<4xi8>, tensor<f32>) -> tensor<4xf32>
  %q = qcc.quantize <s8, per_tensor> %d, %s2 : (tensor<4xf32>, tensor<1xf32>) -> tensor<4xi8>
  return %q : tensor<4xi8>
}

// -----

// Cleanup across scales: quantize(dequantize) with another scale is an
// integer requantize by 0.02 / 0.05 = 1717986854 * 2^-32; the unsigned
// input is named so that it is read zero-extended.
// CHECK-LABEL: func @requantize
// CHECK: qcc.requantize <u8, per_tensor, asymmetric> %{{.*}} {input_params = #qcc.qparams<u8, per_tensor, asymmetric>, input_zp = 128 : i64, multiplier = array<i32: 1717986854>, output_zp = 7 : i64, shift = array<i32: 32>} : tensor<8xi8> -> tensor<8xi8>
// CHECK-NOT: qcc.quantize
func.func @requantize(%x: tensor<8xi8>) -> tensor<8xi8> {
  %s1 = arith.constant dense<0.02> : tensor<f32>
  %z1 = arith.constant dense<-128> : tensor<i8>
  %s2 = arith.constant dense<0.05> : tensor<f32>
  %z2 = arith.constant dense<7> : tensor<i8>
  %d = qcc.dequantize <u8, per_tensor, asymmetric> %x, %s1, %z1 : (tensor<8xi8>, tensor<f32>, tensor<i8>) -> tensor<8xf32>
  %q = qcc.quantize <u8, per_tensor, asymmetric> %d, %s2, %z2 : (tensor<8xf32>, tensor<f32>, tensor<i8>) -> tensor<8xi8>
  return %q : tensor<8xi8>
}

// -----

// A per-channel input takes one multiplier per channel: 0.1 / 0.05 = 2^30 *
// 2^-29 and 0.2 / 0.05 = 2^30 * 2^-28.
// CHECK-LABEL: func @per_channel_requantize
// CHECK: qcc.requantize <s8, per_tensor> %{{.*}} {axis = 1 : i64, input_params = #qcc.qparams<s8, per_axis(1)>, input_zp = 0 : i64, multiplier = array<i32: 1073741824, 1073741824>, output_zp = 0 : i64, shift = array<i32: 29, 28>} : tensor<4x2xi8> -> tensor<4x2xi8>
func.func @per_channel_requantize(%x: tensor<4x2xi8>) -> tensor<4x2xi8> {
  %s1 = arith.constant dense<[0.1, 0.2]> : tensor<2xf32>
  %s2 = arith.constant dense<0.05> : tensor<f32>
  %d = qcc.dequantize <s8, per_axis(1)> %x, %s1 : (tensor<4x2xi8>, tensor<2xf32>) -> tensor<4x2xf32>
  %q = qcc.quantize <s8, per_tensor> %d, %s2 : (tensor<4x2xf32>, tensor<f32>) -> tensor<4x2xi8>
  return %q : tensor<4x2xi8>
}

// -----

// Conflict: concat inputs with scales 0.1 and 0.05 meet at the wider scale
// 0.1; the narrower input is requantized by 0.5 = 2^30 * 2^-31.
// CHECK-LABEL: func @concat_conflict
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xi8>, %[[B:.*]]: tensor<2x3xi8>)
// CHECK: %[[S:.*]] = arith.constant dense<1.000000e-01> : tensor<f32>
// CHECK: %[[RB:.*]] = qcc.requantize <s8, per_tensor> %[[B]] {input_params = #qcc.qparams<s8, per_tensor>, input_zp = 0 : i64, multiplier = array<i32: 1073741824>, output_zp = 0 : i64, shift = array<i32: 31>}
// CHECK: %[[C:.*]] = qcc.concat %[[A]], %[[RB]] {axis = 1 : i64} : (tensor<2x3xi8>, tensor<2x3xi8>) -> tensor<2x6xi8>
// CHECK: %[[D:.*]] = qcc.dequantize <s8, per_tensor> %[[C]], %[[S]]
// CHECK: return %[[D]]
func.func @concat_conflict(%a: tensor<2x3xi8>, %b: tensor<2x3xi8>) -> tensor<2x6xf32> {
  %sa = arith.constant dense<0.1> : tensor<f32>
  %sb = arith.constant dense<0.05> : tensor<f32>
  %da = qcc.dequantize <s8, per_tensor> %a, %sa : (tensor<2x3xi8>, tensor<f32>) -> tensor<2x3xf32>
  %db = qcc.dequantize <s8, per_tensor> %b, %sb : (tensor<2x3xi8>, tensor<f32>) -> tensor<2x3xf32>
  %c = qcc.concat %da, %db {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  return %c : tensor<2x6xf32>
}

// -----

// Concat inputs of different storage types have no common scheme: they
// stay float.
// CHECK-LABEL: func @concat_storage_mismatch
// CHECK: qcc.concat %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<2xf32>, tensor<2xf32>) -> tensor<4xf32>
func.func @concat_storage_mismatch(%a: tensor<2xi8>, %b: tensor<2xi8>) -> tensor<4xf32> {
  %s = arith.constant dense<0.1> : tensor<f32>
  %z = arith.constant dense<0> : tensor<i8>
  %da = qcc.dequantize <s8, per_tensor> %a, %s : (tensor<2xi8>, tensor<f32>) -> tensor<2xf32>
  %db = qcc.dequantize <u8, per_tensor, asymmetric> %b, %s, %z : (tensor<2xi8>, tensor<f32>, tensor<i8>) -> tensor<2xf32>
  %c = qcc.concat %da, %db {axis = 0 : i64} : (tensor<2xf32>, tensor<2xf32>) -> tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

// A dequantized embedding table is gathered as integers: only the selected
// rows are dequantized.
// CHECK-LABEL: func @gather_table
// CHECK: %[[G:.*]] = qcc.gather %{{.*}}[%{{.*}}] {axis = 0 : i64} : (tensor<16x4xi8>, tensor<?xi64>) -> tensor<?x4xi8>
// CHECK: qcc.dequantize <s8, per_tensor> %[[G]]
func.func @gather_table(%ids: tensor<?xi64>) -> tensor<?x4xf32> {
  %t = arith.constant dense<3> : tensor<16x4xi8>
  %s = arith.constant dense<0.1> : tensor<f32>
  %d = qcc.dequantize <s8, per_tensor> %t, %s : (tensor<16x4xi8>, tensor<f32>) -> tensor<16x4xf32>
  %g = qcc.gather %d[%ids] {axis = 0 : i64} : (tensor<16x4xf32>, tensor<?xi64>) -> tensor<?x4xf32>
  return %g : tensor<?x4xf32>
}

// -----

// Per-channel dequantize does not move: a reshape would lose its axis.
// CHECK-LABEL: func @per_channel_stays
// CHECK: qcc.reshape %{{.*}} : tensor<4x2xf32> -> tensor<8xf32>
func.func @per_channel_stays(%x: tensor<4x2xi8>) -> tensor<8xf32> {
  %s = arith.constant dense<[0.1, 0.2]> : tensor<2xf32>
  %d = qcc.dequantize <s8, per_axis(1)> %x, %s : (tensor<4x2xi8>, tensor<2xf32>) -> tensor<4x2xf32>
  %r = qcc.reshape %d : tensor<4x2xf32> -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

// Normalizations stay float: the dequantize stays before layer_norm and the
// quantize after it.
// CHECK-LABEL: func @stays_float
// CHECK: %[[D:.*]] = qcc.dequantize
// CHECK: %[[N:.*]] = qcc.layer_norm %[[D]]
// CHECK: qcc.quantize <s8, per_tensor> %[[N]]
func.func @stays_float(%x: tensor<2x8xi8>, %g: tensor<8xf32>) -> tensor<2x8xi8> {
  %s = arith.constant dense<0.1> : tensor<f32>
  %d = qcc.dequantize <s8, per_tensor> %x, %s : (tensor<2x8xi8>, tensor<f32>) -> tensor<2x8xf32>
  %n = qcc.layer_norm %d, %g, %g {axis = 1 : i64, epsilon = 1.0e-5 : f64} : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %q = qcc.quantize <s8, per_tensor> %n, %s : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xi8>
  return %q : tensor<2x8xi8>
}

// -----

// Fixed output range: a static int8 layer fed by softmax (through a
// transpose) or tanh takes scale 1 / 127 from the op's range, whatever the
// calibration said; one fed by gelu keeps its calibrated scale.
// CHECK-LABEL: func @fixed_range
// CHECK: qcc.qlinear {{.*}}act_scale = 0.00787401571 : f32, qcc.quant_report = {act_range = 1.000000e+00 : f64, act_range_rule = "qcc.softmax", act_scale = 0.00787401571869850{{[0-9]*}} : f64
// CHECK: qcc.qlinear {{.*}}act_scale = 0.00787401571 : f32, qcc.quant_report = {act_range = 1.000000e+00 : f64, act_range_rule = "qcc.tanh"
// CHECK: qcc.qlinear {{.*}}act_scale = 5.000000e-01 : f32
func.func @fixed_range(%x: tensor<4x8xf32>) -> (tensor<8x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) {
  %w = arith.constant dense<1> : tensor<4x2xi8>
  %w8 = arith.constant dense<1> : tensor<8x2xi8>
  %ws = arith.constant dense<0.1> : tensor<2xf32>
  %p = qcc.softmax %x {axis = 1 : i64} : tensor<4x8xf32>
  %pt = qcc.transpose %p {perm = array<i64: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
  %y0 = qcc.qlinear %pt, %w, %ws {act_params = #qcc.qparams<s8, per_axis(0)>, act_scale = 0.003 : f32, weight_params = #qcc.qparams<s8, per_axis(1)>, qcc.quant_report = {act_range = 0.381 : f64, act_scale = 0.003 : f64}} : (tensor<8x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<8x2xf32>
  %t = qcc.tanh %x : tensor<4x8xf32>
  %y1 = qcc.qlinear %t, %w8, %ws {act_params = #qcc.qparams<s8, per_axis(0)>, act_scale = 0.5 : f32, weight_params = #qcc.qparams<s8, per_axis(1)>, qcc.quant_report = {act_scale = 0.5 : f64}} : (tensor<4x8xf32>, tensor<8x2xi8>, tensor<2xf32>) -> tensor<4x2xf32>
  %g = qcc.gelu %x : tensor<4x8xf32>
  %y2 = qcc.qlinear %g, %w8, %ws {act_params = #qcc.qparams<s8, per_axis(0)>, act_scale = 0.5 : f32, weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<4x8xf32>, tensor<8x2xi8>, tensor<2xf32>) -> tensor<4x2xf32>
  return %y0, %y1, %y2 : tensor<8x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// Conflict with a quantized consumer: the inputs meet at the consumer's
// scheme (0.2, zero point 5), so each value rounds once, and the quantize
// folds away. 0.1 / 0.2 = 2^30 * 2^-31; the second input only moves its
// zero point (ratio 1 = 2^30 * 2^-30).
// CHECK-LABEL: func @concat_to_consumer
// CHECK-SAME: (%[[A:.*]]: tensor<2xi8>, %[[B:.*]]: tensor<2xi8>)
// CHECK: %[[RA:.*]] = qcc.requantize <u8, per_tensor, asymmetric> %[[A]] {input_params = #qcc.qparams<u8, per_tensor, asymmetric>, input_zp = 1 : i64, multiplier = array<i32: 1073741824>, output_zp = 5 : i64, shift = array<i32: 31>}
// CHECK: %[[RB:.*]] = qcc.requantize <u8, per_tensor, asymmetric> %[[B]] {input_params = #qcc.qparams<u8, per_tensor, asymmetric>, input_zp = 2 : i64, multiplier = array<i32: 1073741824>, output_zp = 5 : i64, shift = array<i32: 30>}
// CHECK: %[[C:.*]] = qcc.concat %[[RA]], %[[RB]]
// CHECK-NOT: qcc.quantize
// CHECK: return %[[C]]
func.func @concat_to_consumer(%a: tensor<2xi8>, %b: tensor<2xi8>) -> tensor<4xi8> {
  %sa = arith.constant dense<0.1> : tensor<f32>
  %za = arith.constant dense<1> : tensor<i8>
  %sb = arith.constant dense<0.2> : tensor<f32>
  %zb = arith.constant dense<2> : tensor<i8>
  %da = qcc.dequantize <u8, per_tensor, asymmetric> %a, %sa, %za : (tensor<2xi8>, tensor<f32>, tensor<i8>) -> tensor<2xf32>
  %db = qcc.dequantize <u8, per_tensor, asymmetric> %b, %sb, %zb : (tensor<2xi8>, tensor<f32>, tensor<i8>) -> tensor<2xf32>
  %c = qcc.concat %da, %db {axis = 0 : i64} : (tensor<2xf32>, tensor<2xf32>) -> tensor<4xf32>
  %sc = arith.constant dense<0.2> : tensor<f32>
  %zc = arith.constant dense<5> : tensor<i8>
  %q = qcc.quantize <u8, per_tensor, asymmetric> %c, %sc, %zc : (tensor<4xf32>, tensor<f32>, tensor<i8>) -> tensor<4xi8>
  return %q : tensor<4xi8>
}

// -----

// A per-axis weight stored [N, K] (Gemm with transB): the dequantize moves
// below the transpose, its axis with it, and the transposed integers fold
// to a [K, N] constant; per-group scales and zero points are transposed too.
// CHECK-LABEL: func @axis_through_transpose
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[\[}}1, 3, 5], [2, 4, 6]]> : tensor<2x3xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<[1.000000e-01, 2.000000e-01, 3.000000e-01]> : tensor<3xf32>
// CHECK-DAG: %[[G:.*]] = arith.constant dense<{{\[\[}}1, 2], [3, 4], [5, 6], [7, 8]]> : tensor<4x2xi8>
// CHECK-DAG: %[[GS:.*]] = arith.constant dense<{{\[\[}}5.000000e-01, 2.500000e-01]]> : tensor<1x2xf32>
// CHECK-DAG: %[[GZ:.*]] = arith.constant dense<{{\[\[}}3, 4]]> : tensor<1x2xi8>
// CHECK: qcc.dequantize <s8, per_axis(1)> %[[W]], %[[S]] : (tensor<2x3xi8>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK: qcc.dequantize <u8, per_group(0, 4), asymmetric> %[[G]], %[[GS]], %[[GZ]]
// CHECK-NOT: qcc.transpose
func.func @axis_through_transpose() -> (tensor<2x3xf32>, tensor<4x2xf32>) {
  %w = arith.constant dense<[[1, 2], [3, 4], [5, 6]]> : tensor<3x2xi8>
  %s = arith.constant dense<[0.1, 0.2, 0.3]> : tensor<3xf32>
  %d = qcc.dequantize <s8, per_axis(0)> %w, %s : (tensor<3x2xi8>, tensor<3xf32>) -> tensor<3x2xf32>
  %t = qcc.transpose %d {perm = array<i64: 1, 0>} : tensor<3x2xf32> -> tensor<2x3xf32>
  %g = arith.constant dense<[[1, 3, 5, 7], [2, 4, 6, 8]]> : tensor<2x4xi8>
  %gs = arith.constant dense<[[0.5], [0.25]]> : tensor<2x1xf32>
  %gz = arith.constant dense<[[3], [4]]> : tensor<2x1xi8>
  %gd = qcc.dequantize <u8, per_group(1, 4), asymmetric> %g, %gs, %gz : (tensor<2x4xi8>, tensor<2x1xf32>, tensor<2x1xi8>) -> tensor<2x4xf32>
  %gt = qcc.transpose %gd {perm = array<i64: 1, 0>} : tensor<2x4xf32> -> tensor<4x2xf32>
  return %t, %gt : tensor<2x3xf32>, tensor<4x2xf32>
}
