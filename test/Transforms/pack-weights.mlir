// RUN: qcc-opt %s --split-input-file --qcc-pack-weights="layout=x86.avx2 nr=4" | FileCheck %s
// RUN: qcc-opt %s --split-input-file --qcc-pack-weights | FileCheck %s --check-prefix=NOLAYOUT

// s4 groups of 8 along K = 10, N = 3, tiles of 4 columns. After the 64-byte
// header (magic "QCW1", bits 4, K 10, N 3, group 8, nr 4), each block holds
// 4 columns x 4 bytes per 8 K-steps: byte kk of column c has k = kk in its
// low nibble and k = kk + 4 in its high one, offset by 8 to unsigned
// (column 0: 0 3 6 -7 | -4 -1 2 5 -> 0x48 0x7B 0xAE 0xD1). Then the f32
// scales and the zero points (8 for signed weights); the fourth column is
// padding. In the second group K-steps past 10 hold the zero point (8).
// CHECK-LABEL: func @s4
// CHECK: %[[P:.*]] = qcc.packed_constant dense<"0x
// CHECK-SAME: 51435731000000000400000000000000
// CHECK-SAME: 0A000000000000000300000000000000
// CHECK-SAME: 08000000000000000400000000000000
// CHECK-SAME: 00000000000000000000000000000000
// CHECK-SAME: 487BAED1598CBFE26A9DC0F300000000
// CHECK-SAME: 0000803F000000400000804000000000
// CHECK-SAME: 08080800
// CHECK-SAME: 808B8888898C88888A8D888800000000
// CHECK-SAME: 0000003F0000803E0000004100000000
// CHECK-SAME: 08080800"> : tensor<136xi8> : tensor<10x3xi4, #qcc.packed<"x86.avx2", [8, 4], <s4, per_group(0, 8)>>>
// CHECK: qcc.qlinear %arg0, %[[P]]
// NOLAYOUT-LABEL: func @s4
// NOLAYOUT-NOT: packed_constant
func.func @s4(%x: tensor<?x10xf32>) -> tensor<?x3xf32> {
  %q = arith.constant dense<[[0, 1, 2], [3, 4, 5], [6, 7, -8], [-7, -6, -5], [-4, -3, -2], [-1, 0, 1], [2, 3, 4], [5, 6, 7], [-8, 1, 2], [3, 4, 5]]> : tensor<10x3xi4>
  %s = arith.constant dense<[[1.0, 2.0, 4.0], [0.5, 0.25, 8.0]]> : tensor<2x3xf32>
  %y = qcc.qlinear %x, %q, %s {weight_params = #qcc.qparams<s4, per_group(0, 8)>} : (tensor<?x10xf32>, tensor<10x3xi4>, tensor<2x3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}

// -----

// u4 with zero points: nibbles stored as they are, zero points after the
// scales (3 and 12); past K the weight is the column's zero point, so
// column 0's bytes are 15 | 3 << 4, 0 | 3 << 4, 3 | 3 << 4, ...
// CHECK-LABEL: func @u4
// CHECK: qcc.packed_constant dense<"0x51435731000000000400000000000000
// CHECK-SAME: 3F303333C0C9CCCC0000000000000000
// CHECK-SAME: 0000803F000000400000000000000000
// CHECK-SAME: 030C000000000000000000000000000000000000000000000000000000000000"> : tensor<128xi8>
func.func @u4(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %q = arith.constant dense<[[15, 0], [0, 9]]> : tensor<2x2xi4>
  %s = arith.constant dense<[[1.0, 2.0]]> : tensor<1x2xf32>
  %z = arith.constant dense<[[3, 12]]> : tensor<1x2xi4>
  %y = qcc.qlinear %x, %q, %s zp %z : tensor<1x2xi4> {weight_params = #qcc.qparams<u4, per_group(0, 8), asymmetric>} : (tensor<2x2xf32>, tensor<2x2xi4>, tensor<1x2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// s8 per column: one group of K rounded up to 8, bytes as they are, then
// the scales, the zero points (0) and each column's int32 sum of its bytes
// (0, 0); a block over all of K is padded to a multiple of 64 bytes.
// CHECK-LABEL: func @s8
// CHECK: qcc.packed_constant dense<"0x51435731000000000800000000000000
// CHECK-SAME: 7F81000002FE0000000000000000000000000000000000000000000000000000
// CHECK-SAME: 00000040000080BF0000000000000000
// CHECK-SAME: 00000000
// CHECK-SAME: 00000000000000000000000000000000
// CHECK-SAME: 000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"> : tensor<192xi8> : tensor<3x2xi8, #qcc.packed<"x86.avx2", [8, 4], <s8, per_axis(1)>>>
func.func @s8(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %q = arith.constant dense<[[127, 2], [-127, -2], [0, 0]]> : tensor<3x2xi8>
  %s = arith.constant dense<[2.0, -1.0]> : tensor<2xf32>
  %y = qcc.qlinear %x, %q, %s {act_params = #qcc.qparams<s8, per_axis(0)>, weight_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<4x3xf32>, tensor<3x2xi8>, tensor<2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// u8 with zero points: values and zero points stored minus 128, as the
// signed bytes the dot products take (1 -> 0x81; zero points 128, 130 -> 0, 2;
// K-steps past 4 hold the column's zero point); the column sums count
// those too (-496, -484).
// CHECK-LABEL: func @u8
// CHECK: qcc.packed_constant dense<"0x51435731000000000800000000000000
// CHECK-SAME: 8183858782848688000000000000000000000000020202020000000000000000
// CHECK-SAME: 0000803F0000803F0000000000000000
// CHECK-SAME: 00020000
// CHECK-SAME: 10FEFFFF1CFEFFFF0000000000000000
// CHECK-SAME: 000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"> : tensor<192xi8> : tensor<4x2xi8, #qcc.packed<"x86.avx2", [8, 4], <u8, per_axis(1), asymmetric>>>
func.func @u8(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %q = arith.constant dense<[[1, 2], [3, 4], [5, 6], [7, 8]]> : tensor<4x2xi8>
  %s = arith.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %z = arith.constant dense<[128, 130]> : tensor<2xi8>
  %a = qcc.qlinear %x, %q, %s zp %z : tensor<2xi8> {weight_params = #qcc.qparams<u8, per_axis(1), asymmetric>} : (tensor<2x4xf32>, tensor<4x2xi8>, tensor<2xf32>) -> tensor<2x2xf32>
  return %a : tensor<2x2xf32>
}

// -----

// Not for the kernels: groups that are not a multiple of 8.
// CHECK-LABEL: func @unpacked
// CHECK-NOT: packed_constant
func.func @unpacked(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %q4 = arith.constant dense<[[1, 2], [3, 4], [5, 6], [7, 0]]> : tensor<4x2xi4>
  %s4 = arith.constant dense<[[1.0, 1.0], [1.0, 1.0]]> : tensor<2x2xf32>
  %b = qcc.qlinear %x, %q4, %s4 {weight_params = #qcc.qparams<s4, per_group(0, 2)>} : (tensor<2x4xf32>, tensor<4x2xi4>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %b : tensor<2x2xf32>
}

// -----

// f16 scales stay f16 (2 bytes each, header flags = 1): 1.0 and -2.0 are
// 0x3C00 and 0xC000.
// CHECK-LABEL: func @f16_scales
// CHECK: qcc.packed_constant dense<"0x51435731000000000400000000000000
// CHECK-SAME: 01000000000000000000000000000000
// CHECK-SAME: 898A8888878688880000000000000000
// CHECK-SAME: 003C00C000000000
// CHECK-SAME: 08080000000000000000000000000000000000000000000000000000000000000000000000000000"> : tensor<128xi8>
func.func @f16_scales(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %q = arith.constant dense<[[1, -1], [2, -2]]> : tensor<2x2xi4>
  %s = arith.constant dense<[[1.0, -2.0]]> : tensor<1x2xf16>
  %y = qcc.qlinear %x, %q, %s {weight_params = #qcc.qparams<s4, per_group(0, 8), scale = f16>} : (tensor<2x2xf32>, tensor<2x2xi4>, tensor<1x2xf16>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// An integer matmul's s8 weight with per-column zero points (1, -2): one
// group of K rounded up to 8, the values stored minus their zero point
// (column 0: 4 5 -1 -> 03 04 FE, column 1: 0 -4 -1 -> 02 FE 01), each
// column's int32 sum of them where the scales go (5 and 1), zero points
// 0, and the sums again where every whole-K 8-bit block ends with them;
// the header's flags (2) say so.
// CHECK-LABEL: func @qmatmul
// CHECK: %[[P:.*]] = qcc.packed_constant dense<"0x51435731000000000800000000000000
// CHECK-SAME: 03000000000000000200000000000000
// CHECK-SAME: 08000000000000000400000000000000
// CHECK-SAME: 02000000000000000000000000000000
// CHECK-SAME: 0304FE0002FE01000000000000000000
// CHECK-SAME: 00000000000000000000000000000000
// CHECK-SAME: 05000000010000000000000000000000
// CHECK-SAME: 00000000
// CHECK-SAME: 05000000010000000000000000000000
// CHECK-SAME: 000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"> : tensor<192xi8> : tensor<3x2xi8, #qcc.packed<"x86.avx2", [8, 4], <s8, per_axis(1)>>>
// CHECK: qcc.qmatmul %arg0, %[[P]] lhs_zp %arg1
func.func @qmatmul(%a: tensor<?x3xi8>, %az: tensor<i8>) -> tensor<?x2xi32> {
  %w = arith.constant dense<[[4, 0], [5, -4], [-1, -1]]> : tensor<3x2xi8>
  %wz = arith.constant dense<[1, -2]> : tensor<2xi8>
  %y = qcc.qmatmul %a, %w lhs_zp %az : tensor<i8> rhs_zp %wz : tensor<2xi8> {lhs_params = #qcc.qparams<u8, per_tensor, asymmetric>, rhs_params = #qcc.qparams<s8, per_axis(1)>} : (tensor<?x3xi8>, tensor<3x2xi8>) -> tensor<?x2xi32>
  return %y : tensor<?x2xi32>
}

// -----

// Integer matmuls the kernels cannot take keep their constants: a centered
// weight of -128 (the kernels' sign trick needs [-127, 127]), a per-row lhs
// zero point whose row count is not known, a weight that is not constant.
// CHECK-LABEL: func @qmatmul_unpacked
// CHECK-NOT: packed_constant
func.func @qmatmul_unpacked(%a: tensor<?x3xi8>, %az: tensor<?xi8>, %b: tensor<3x2xi8>) -> (tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x2xi32>) {
  %w = arith.constant dense<[[4, 0], [-128, -4], [-1, -1]]> : tensor<3x2xi8>
  %w2 = arith.constant dense<[[4, 0], [1, -4], [-1, -1]]> : tensor<3x2xi8>
  %y0 = qcc.qmatmul %a, %w {lhs_params = #qcc.qparams<s8, per_tensor>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<?x3xi8>, tensor<3x2xi8>) -> tensor<?x2xi32>
  %y1 = qcc.qmatmul %a, %w2 lhs_zp %az : tensor<?xi8> {lhs_params = #qcc.qparams<u8, per_tensor, asymmetric>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<?x3xi8>, tensor<3x2xi8>) -> tensor<?x2xi32>
  %y2 = qcc.qmatmul %a, %b {lhs_params = #qcc.qparams<s8, per_tensor>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<?x3xi8>, tensor<3x2xi8>) -> tensor<?x2xi32>
  return %y0, %y1, %y2 : tensor<?x2xi32>, tensor<?x2xi32>, tensor<?x2xi32>
}
