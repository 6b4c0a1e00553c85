// RUN: qcc-opt %s --qcc-convert-to-linalg --split-input-file | FileCheck %s

// quantize: round half to even, add the zero point, clamp to the storage
// range, truncate; the per-tensor scale and zero point broadcast.
// CHECK-LABEL: func @quantize
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[SCALAR:.*]], #[[SCALAR]], #{{.*}}]
// CHECK: arith.divf
// CHECK: math.roundeven
// CHECK: arith.extui
// CHECK: arith.addf
// CHECK: arith.maximumf %{{.*}}, %cst{{.*}}
// CHECK: arith.minimumf
// CHECK: arith.fptosi %{{.*}} : f32 to i32
// CHECK: arith.trunci %{{.*}} : i32 to i8
func.func @quantize(%x: tensor<4x64xf32>, %s: tensor<f32>, %zp: tensor<i8>) -> tensor<4x64xi8> {
  %q = qcc.quantize #qcc.qparams<u8, per_tensor, asymmetric> %x, %s, %zp : (tensor<4x64xf32>, tensor<f32>, tensor<i8>) -> tensor<4x64xi8>
  return %q : tensor<4x64xi8>
}

// -----

// dequantize per group along axis 0: the scale index is k floordiv 32; s4
// widens signed, the f16 scale extends, the product truncates to f16.
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1) -> (d0 floordiv 32, d1)>
// CHECK-LABEL: func @dequantize_groups
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[GROUP]], #{{.*}}]
// CHECK: arith.extsi %{{.*}} : i4 to i32
// CHECK: arith.sitofp
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.mulf
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @dequantize_groups(%w: tensor<64x8xi4>, %gs: tensor<2x8xf16>) -> tensor<64x8xf16> {
  %d = qcc.dequantize #qcc.qparams<s4, per_group(0, 32), scale = f16> %w, %gs : (tensor<64x8xi4>, tensor<2x8xf16>) -> tensor<64x8xf16>
  return %d : tensor<64x8xf16>
}

// -----

// dynamic_quantize per row, symmetric: min and max in one reduction, the
// scale max|x| / 127 (1 for an empty range), then quantize with it.
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @dynamic_rows
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[ROW]], #[[ROW]]], iterator_types = ["parallel", "reduction"]}
// CHECK: arith.minimumf
// CHECK: arith.maximumf
// CHECK: math.absf
// CHECK: arith.constant 1.270000e+02
// CHECK: arith.select
// CHECK: math.roundeven
func.func @dynamic_rows(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>) {
  %q, %s = qcc.dynamic_quantize #qcc.qparams<s8, per_axis(0)> %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return %q, %s : tensor<4x64xi8>, tensor<4xf32>
}

// -----

// dynamic_quantize per tensor, asymmetric u8 (ONNX DynamicQuantizeLinear):
// the min and max per column of the last dim first (that dim parallel and
// innermost, so the loop vectorizes), then over the columns; the zero point
// from the range widened to include 0.
// CHECK-DAG: #[[ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[ID1:.*]] = affine_map<(d0) -> (d0)>
// CHECK-DAG: #[[ALL:.*]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func @dynamic_tensor
// CHECK: %[[COLS:.*]]:2 = linalg.generic {indexing_maps = [#[[ID2]], #[[COL]], #[[COL]]], iterator_types = ["reduction", "parallel"]}
// CHECK: arith.minimumf
// CHECK: arith.maximumf
// CHECK: linalg.generic {indexing_maps = [#[[ID1]], #[[ID1]], #[[ALL]], #[[ALL]]], iterator_types = ["reduction"]} ins(%[[COLS]]#0, %[[COLS]]#1
// CHECK: arith.minimumf
// CHECK: arith.maximumf
// CHECK: arith.constant 2.550000e+02
// CHECK: math.roundeven
func.func @dynamic_tensor(%x: tensor<?x64xf32>) -> (tensor<?x64xi8>, tensor<f32>, tensor<i8>) {
  %q, %s, %z = qcc.dynamic_quantize <u8, per_tensor, asymmetric> %x : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<f32>, tensor<i8>
  return %q, %s, %z : tensor<?x64xi8>, tensor<f32>, tensor<i8>
}

// -----

// requantize in 64-bit: subtract the input zero point, multiply, add the
// rounding half, shift right arithmetically, add the output zero point,
// clamp, truncate.
// CHECK-LABEL: func @requantize
// CHECK: arith.extsi %{{.*}} : i32 to i64
// CHECK: arith.subi
// CHECK: arith.muli
// CHECK: arith.addi
// CHECK: arith.shrsi
// CHECK: arith.addi
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: arith.trunci %{{.*}} : i64 to i8
func.func @requantize(%acc: tensor<4x8xi32>) -> tensor<4x8xi8> {
  %r = qcc.requantize #qcc.qparams<s8, per_tensor> %acc {multiplier = array<i32: 1073741824>, shift = array<i32: 31>, input_zp = 0 : i64, output_zp = 3 : i64} : tensor<4x8xi32> -> tensor<4x8xi8>
  return %r : tensor<4x8xi8>
}

// -----

// An unsigned input (u8 stored in i8) is read zero-extended; the result
// clamps to [0, 255].
// CHECK-LABEL: func @requantize_u8
// CHECK: arith.extui %{{.*}} : i8 to i64
// CHECK: arith.maxsi %{{.*}}, %c0_i64
// CHECK: arith.minsi %{{.*}}, %c255_i64
func.func @requantize_u8(%q: tensor<4x8xi8>) -> tensor<4x8xi8> {
  %r = qcc.requantize #qcc.qparams<u8, per_tensor, asymmetric> %q {input_params = #qcc.qparams<u8, per_tensor, asymmetric>, multiplier = array<i32: 1073741824>, shift = array<i32: 31>, input_zp = 128 : i64, output_zp = 3 : i64} : tensor<4x8xi8> -> tensor<4x8xi8>
  return %r : tensor<4x8xi8>
}

// -----

// qlinear with int8 activations and 4-bit weights in groups of 32 along K =
// 80: rows and weight padded to 96, the weight viewed as [3, 32, N], one i32
// accumulator per group, then the groups' scaled sums in float.
// CHECK-LABEL: func @qlinear_w4a8
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [2, 80] [1, 1] : tensor<2x80xf32> into tensor<2x96xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3x32xi32>)
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2]] output_shape [3, 32, 16] : tensor<96x16xi32> into tensor<3x32x16xi32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<2x3x32xi32>, tensor<3x32x16xi32>) outs(%{{.*}} : tensor<2x3x16xi32>)
// CHECK: arith.muli
// CHECK: arith.addi
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<2x3x16xi32>, tensor<3x16xf32>) outs(%{{.*}} : tensor<2x16xf32>)
// CHECK: arith.sitofp
func.func @qlinear_w4a8(%x: tensor<2x80xf32>, %w: tensor<80x16xi4>, %s: tensor<3x16xf32>) -> tensor<2x16xf32> {
  %y = qcc.qlinear %x, %w, %s {weight_params = #qcc.qparams<s4, per_group(0, 32)>, act_params = #qcc.qparams<s8, per_axis(0)>} : (tensor<2x80xf32>, tensor<80x16xi4>, tensor<3x16xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

// Weight-only qlinear: the weight dequantized to float and a float matmul.
// CHECK-LABEL: func @qlinear_w8a16
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK: arith.mulf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @qlinear_w8a16(%x: tensor<2x64xf32>, %w: tensor<64x16xi8>, %s: tensor<16xf32>) -> tensor<2x16xf32> {
  %y = qcc.qlinear %x, %w, %s {weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<2x64xf32>, tensor<64x16xi8>, tensor<16xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}
