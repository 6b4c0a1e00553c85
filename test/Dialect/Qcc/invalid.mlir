// RUN: qcc-opt %s --split-input-file --verify-diagnostics

func.func @bad_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{operand shapes do not broadcast: [2, 3] vs [4]}}
  %0 = qcc.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @compare_not_i1(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{comparison result must be i1, got 'f32'}}
  %0 = qcc.less %a, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @matmul_k(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{operand shapes do not multiply: lhs [2, 3] vs rhs [4, 5]}}
  %0 = qcc.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @softmax_axis(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = qcc.softmax %a {axis = 2 : i64} : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @reshape_count(%a: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error @+1 {{element count changes from 6 to 7}}
  %0 = qcc.reshape %a : tensor<2x3xf32> -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @reshape_dyn(%a: tensor<?x3xf32>) -> tensor<?x3xf32> {
  // expected-error @+1 {{result type has 1 dynamic dims but 0 dim operands were given}}
  %0 = qcc.reshape %a : tensor<?x3xf32> -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

func.func @perm(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{perm is not a permutation of 0..1}}
  %0 = qcc.transpose %a {perm = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @slice_oob(%a: tensor<4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{slice of dim 0 (offset 2, size 3, stride 1) is out of bounds for size 4}}
  %0 = qcc.slice %a [2] [3] {strides = array<i64: 1>} : tensor<4xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @gather_shape(%a: tensor<4x5xf32>, %i: tensor<2xi64>) -> tensor<4x5xf32> {
  // expected-error @+1 {{result shape [4, 5] but gather gives [2, 5]}}
  %0 = qcc.gather %a[%i] {axis = 0 : i64} : (tensor<4x5xf32>, tensor<2xi64>) -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

func.func @concat_size(%a: tensor<2x3xf32>) -> tensor<5x3xf32> {
  // expected-error @+1 {{concatenated size 4 differs from result dim 5}}
  %0 = qcc.concat %a, %a {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

func.func @attention_heads(%q: tensor<1x6x5x16xf32>, %k: tensor<1x4x5x16xf32>) -> tensor<1x6x5x16xf32> {
  // expected-error @+1 {{query heads (6) must be a multiple of key/value heads (4)}}
  %0 = qcc.attention %q, %k, %k {scale = 1.0 : f64} : tensor<1x6x5x16xf32>, tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32> -> tensor<1x6x5x16xf32>
  return %0 : tensor<1x6x5x16xf32>
}

// -----

// expected-error @+1 {{quantized storage must be 2, 3, 4 or 8 bits, got 5}}
func.func private @bits() attributes {p = #qcc.qparams<s5, per_tensor>}

// -----

// expected-error @+1 {{per_group quantization needs a positive group size, got 0}}
func.func private @group() attributes {p = #qcc.qparams<s4, per_group(0, 0)>}

// -----

// expected-error @+1 {{scale type must be f32, f16 or bf16, got 'i32'}}
func.func private @scale_type() attributes {p = #qcc.qparams<s8, per_tensor, scale = i32>}

// -----

// expected-error @+1 {{expected per_tensor, per_axis or per_group, got 'per_row'}}
func.func private @granularity() attributes {p = #qcc.qparams<s8, per_row>}

// -----

func.func @storage_width(%x: tensor<4x8xf32>, %s: tensor<f32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{result element type 'i8' does not store 4-bit values (expected i4)}}
  %0 = qcc.quantize #qcc.qparams<s4, per_tensor> %x, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

func.func @axis_scale(%x: tensor<4x8xf32>, %s: tensor<4xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{scale shape [4] does not fit per_axis quantization of [4, 8] (expected [8])}}
  %0 = qcc.quantize #qcc.qparams<s8, per_axis(1)> %x, %s : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

func.func @group_scale(%w: tensor<64x8xi4>, %s: tensor<4x8xf32>) -> tensor<64x8xf32> {
  // expected-error @+1 {{scale shape [4, 8] does not fit per_group quantization of [64, 8] (expected [2, 8])}}
  %0 = qcc.dequantize #qcc.qparams<s4, per_group(0, 32)> %w, %s : (tensor<64x8xi4>, tensor<4x8xf32>) -> tensor<64x8xf32>
  return %0 : tensor<64x8xf32>
}

// -----

func.func @sym_zp(%x: tensor<4xf32>, %s: tensor<f32>, %z: tensor<i8>) -> tensor<4xi8> {
  // expected-error @+1 {{symmetric scheme takes no zero point}}
  %0 = qcc.quantize #qcc.qparams<s8, per_tensor> %x, %s, %z : (tensor<4xf32>, tensor<f32>, tensor<i8>) -> tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

func.func @asym_no_zp(%x: tensor<4xf32>, %s: tensor<f32>) -> tensor<4xi8> {
  // expected-error @+1 {{asymmetric scheme needs a zero point}}
  %0 = qcc.quantize #qcc.qparams<u8, per_tensor, asymmetric> %x, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

func.func @scale_elt(%x: tensor<4xf32>, %s: tensor<f16>) -> tensor<4xi8> {
  // expected-error @+1 {{scale element type 'f16' differs from the scheme's 'f32'}}
  %0 = qcc.quantize #qcc.qparams<s8, per_tensor> %x, %s : (tensor<4xf32>, tensor<f16>) -> tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

func.func @requant_shift(%x: tensor<4xi32>) -> tensor<4xi8> {
  // expected-error @+1 {{shift 70 is outside [0, 62]}}
  %0 = qcc.requantize #qcc.qparams<s8, per_tensor> %x {multiplier = array<i32: 1>, shift = array<i32: 70>, input_zp = 0 : i64, output_zp = 0 : i64} : tensor<4xi32> -> tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

func.func @requant_input_zp(%x: tensor<4xi8>) -> tensor<4xi8> {
  // expected-error @+1 {{input zero point 300 is not representable}}
  %0 = qcc.requantize #qcc.qparams<s8, per_tensor> %x {input_params = #qcc.qparams<u8, per_tensor, asymmetric>, multiplier = array<i32: 1>, shift = array<i32: 1>, input_zp = 300 : i64, output_zp = 0 : i64} : tensor<4xi8> -> tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

func.func @requant_input_storage(%x: tensor<4xi32>) -> tensor<4xi8> {
  // expected-error @+1 {{input element type 'i32' does not store 8-bit values}}
  %0 = qcc.requantize #qcc.qparams<s8, per_tensor> %x {input_params = #qcc.qparams<s8, per_tensor>, multiplier = array<i32: 1>, shift = array<i32: 1>, input_zp = 0 : i64, output_zp = 0 : i64} : tensor<4xi32> -> tensor<4xi8>
  return %0 : tensor<4xi8>
}

// -----

func.func @qlinear_axis(%x: tensor<2x64xf32>, %w: tensor<64x8xi4>, %s: tensor<64x1xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{per_group weight scheme must group along the reduction axis 0}}
  %0 = qcc.qlinear %x, %w, %s {weight_params = #qcc.qparams<s4, per_group(1, 8)>} : (tensor<2x64xf32>, tensor<64x8xi4>, tensor<64x1xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @qlinear_k(%x: tensor<2x32xf32>, %w: tensor<64x8xi4>, %s: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{input's last dim must equal the weight's K (64)}}
  %0 = qcc.qlinear %x, %w, %s {weight_params = #qcc.qparams<s4, per_group(0, 32)>} : (tensor<2x32xf32>, tensor<64x8xi4>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @packed_size() -> tensor<32x16xi4, #qcc.packed<"x86.avx2", [32, 8], #qcc.qparams<s4, per_group(0, 32)>>> {
  // expected-error @+1 {{packed data has 100 bytes but layout needs 448}}
  %w = qcc.packed_constant dense<0> : tensor<100xi8> : tensor<32x16xi4, #qcc.packed<"x86.avx2", [32, 8], #qcc.qparams<s4, per_group(0, 32)>>>
  return %w : tensor<32x16xi4, #qcc.packed<"x86.avx2", [32, 8], #qcc.qparams<s4, per_group(0, 32)>>>
}

// -----

func.func @packed_no_encoding() -> tensor<32x16xi4> {
  // expected-error @+1 {{result type needs a #qcc.packed encoding}}
  %w = qcc.packed_constant dense<0> : tensor<256xi8> : tensor<32x16xi4>
  return %w : tensor<32x16xi4>
}

// -----

// expected-error @+1 {{packed group (tile[0]) must be a multiple of 8, got 12}}
func.func private @group() attributes {e = #qcc.packed<"x", [12, 8], #qcc.qparams<s4, per_tensor>>}

// -----

// expected-error @+1 {{packed tile must have 2 dims (group, columns), got 1}}
func.func private @tile() attributes {e = #qcc.packed<"x", [16], #qcc.qparams<s4, per_tensor>>}

// -----

func.func @qlinear_residual(%x: tensor<3x4xf32>, %w: tensor<4x2xi8>, %s: tensor<2xf32>, %h: tensor<3x1xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{residual must have the result's type 'tensor<3x2xf32>', got 'tensor<3x1xf32>'}}
  %0 = qcc.qlinear %x, %w, %s residual %h : tensor<3x1xf32> {weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<3x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
