// RUN: qcc-opt %s --split-input-file --qcc-add-runtime-context --qcc-pack-weights="layout=x86.avx2" --qcc-qmatmul-to-runtime | FileCheck %s

// A u8 [batch, seq, K] lhs with a scalar zero point: rows collapse to
// [batch * seq, K], the rank-0 zero point becomes a 1-element buffer, the
// packed weight an aligned constant global (flags 2: column sums), and
// the int32 output a fresh buffer the call fills.
// CHECK: memref.global "private" constant @qcc_qweight : memref<{{[0-9]+}}xi8> = dense<"0x51435731{{.*}}> {alignment = 64 : i64}
// CHECK-LABEL: func @integer_matmul
// CHECK-SAME: (%[[CTX:.*]]: !llvm.ptr {qcc.runtime_context}, %[[A:.*]]: tensor<?x?x16xi8>, %[[AZ:.*]]: tensor<i8>
// CHECK: %[[AM:.*]] = bufferization.to_memref %[[A]] : memref<?x?x16xi8>
// CHECK: %[[ROWS:.*]] = memref.collapse_shape %[[AM]] {{\[\[}}0, 1], [2]]
// CHECK: %[[AD:.*]] = memref.cast %[[ROWS]] : memref<?x16xi8> to memref<?x?xi8>
// CHECK: %[[Z1:.*]] = tensor.expand_shape %[[AZ]] [] output_shape [1] : tensor<i8> into tensor<1xi8>
// CHECK: %[[ZM:.*]] = bufferization.to_memref %[[Z1]] : memref<1xi8>
// CHECK: %[[ZD:.*]] = memref.cast %[[ZM]] : memref<1xi8> to memref<?xi8>
// CHECK: %[[W:.*]] = memref.get_global @qcc_qweight
// CHECK: %[[WD:.*]] = memref.cast %[[W]] : memref<{{[0-9]+}}xi8> to memref<?xi8>
// CHECK: %[[OUT:.*]] = memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x?x8xi32>
// CHECK: %[[YR:.*]] = memref.collapse_shape %[[OUT]]
// CHECK: %[[YD:.*]] = memref.cast %[[YR]] : memref<?x8xi32> to memref<?x?xi32>
// CHECK: %[[U:.*]] = arith.constant 1 : i64
// CHECK: call @qcc_rt_qmatmul(%[[CTX]], %[[AD]], %[[ZD]], %[[U]], %[[WD]], %[[YD]])
// CHECK: %[[Y:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[Y]]
// CHECK: func.func private @qcc_rt_qmatmul(!llvm.ptr, memref<?x?xi8>, memref<?xi8>, i64, memref<?xi8>, memref<?x?xi32>) attributes {llvm.emit_c_interface}
func.func @integer_matmul(%a: tensor<?x?x16xi8>, %az: tensor<i8>) -> tensor<?x?x8xi32> {
  %w = arith.constant dense<3> : tensor<16x8xi8>
  %y = qcc.qmatmul %a, %w lhs_zp %az : tensor<i8> {lhs_params = #qcc.qparams<u8, per_tensor, asymmetric>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<?x?x16xi8>, tensor<16x8xi8>) -> tensor<?x?x8xi32>
  return %y : tensor<?x?x8xi32>
}

// -----

// An s8 vector without a zero point: one row (expand_shape), an empty
// zero-point buffer, signed (0).
// CHECK-LABEL: func @vector
// CHECK: memref.expand_shape {{.*}} {{\[\[}}0, 1]] output_shape [1, 16] : memref<16xi8> into memref<1x16xi8>
// CHECK: %[[Z:.*]] = memref.alloca() : memref<0xi8>
// CHECK: %[[S:.*]] = arith.constant 0 : i64
// CHECK: call @qcc_rt_qmatmul({{.*}}, %[[S]], {{.*}})
func.func @vector(%a: tensor<16xi8>) -> tensor<8xi32> {
  %w = arith.constant dense<-3> : tensor<16x8xi8>
  %y = qcc.qmatmul %a, %w {lhs_params = #qcc.qparams<s8, per_tensor>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<16xi8>, tensor<16x8xi8>) -> tensor<8xi32>
  return %y : tensor<8xi32>
}

// -----

// With out_scale: qcc_rt_qmatmul_scaled takes the per-column scales as a
// 1-D f32 buffer and fills an f32 output; a rank-0 scale becomes one value.
// CHECK-LABEL: func @scaled
// CHECK-SAME: %[[S:[^:]*]]: tensor<8xf32>, %[[S0:[^:]*]]: tensor<f32>
// CHECK: %[[OUT:.*]] = memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x8xf32>
// CHECK: %[[YD:.*]] = memref.cast %[[OUT]] : memref<?x8xf32> to memref<?x?xf32>
// CHECK: %[[SM:.*]] = bufferization.to_memref %[[S]] : memref<8xf32>
// CHECK: %[[SD:.*]] = memref.cast %[[SM]] : memref<8xf32> to memref<?xf32>
// CHECK: call @qcc_rt_qmatmul_scaled({{.*}}, %[[SD]], %[[YD]])
// CHECK: tensor.expand_shape %[[S0]] [] output_shape [1] : tensor<f32> into tensor<1xf32>
// CHECK: call @qcc_rt_qmatmul_scaled
// CHECK: func.func private @qcc_rt_qmatmul_scaled(!llvm.ptr, memref<?x?xi8>, memref<?xi8>, i64, memref<?xi8>, memref<?xf32>, memref<?x?xf32>) attributes {llvm.emit_c_interface}
func.func @scaled(%a: tensor<?x16xi8>, %s: tensor<8xf32>, %s0: tensor<f32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %w = arith.constant dense<3> : tensor<16x8xi8>
  %y = qcc.qmatmul %a, %w scale %s : tensor<8xf32> {lhs_params = #qcc.qparams<s8, per_tensor>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<?x16xi8>, tensor<16x8xi8>) -> tensor<?x8xf32>
  %y0 = qcc.qmatmul %a, %w scale %s0 : tensor<f32> {lhs_params = #qcc.qparams<s8, per_tensor>, rhs_params = #qcc.qparams<s8, per_tensor>} : (tensor<?x16xi8>, tensor<16x8xi8>) -> tensor<?x8xf32>
  return %y, %y0 : tensor<?x8xf32>, tensor<?x8xf32>
}
