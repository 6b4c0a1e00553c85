// RUN: qcc-opt %s --split-input-file --qcc-add-runtime-context --qcc-dynamic-quantize-to-runtime | FileCheck %s

// DynamicQuantizeLinear's scheme on a [batch, seq, K] input: the input
// and a new u8 buffer of its shape flattened to one dimension, the scale
// and zero point one-element buffers that become the rank-0 results.
// CHECK-LABEL: func @dql
// CHECK-SAME: (%[[CTX:.*]]: !llvm.ptr {qcc.runtime_context}, %[[X:.*]]: tensor<?x?x16xf32>)
// CHECK: %[[XM:.*]] = bufferization.to_memref %[[X]] : memref<?x?x16xf32>
// CHECK: %[[Q:.*]] = memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x?x16xi8>
// CHECK: %[[S:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1xf32>
// CHECK: %[[Z:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1xi8>
// CHECK: %[[XF:.*]] = memref.collapse_shape %[[XM]] {{\[\[}}0, 1, 2]] : memref<?x?x16xf32> into memref<?xf32>
// CHECK: %[[QF:.*]] = memref.collapse_shape %[[Q]] {{\[\[}}0, 1, 2]] : memref<?x?x16xi8> into memref<?xi8>
// CHECK: %[[SD:.*]] = memref.cast %[[S]] : memref<1xf32> to memref<?xf32>
// CHECK: %[[ZD:.*]] = memref.cast %[[Z]] : memref<1xi8> to memref<?xi8>
// CHECK: call @qcc_rt_dynamic_quantize_u8(%[[CTX]], %[[XF]], %[[QF]], %[[SD]], %[[ZD]])
// CHECK: %[[QT:.*]] = bufferization.to_tensor %[[Q]] restrict writable : memref<?x?x16xi8>
// CHECK: %[[S1:.*]] = bufferization.to_tensor %[[S]] restrict writable : memref<1xf32>
// CHECK: %[[ST:.*]] = tensor.collapse_shape %[[S1]] [] : tensor<1xf32> into tensor<f32>
// CHECK: %[[Z1:.*]] = bufferization.to_tensor %[[Z]] restrict writable : memref<1xi8>
// CHECK: %[[ZT:.*]] = tensor.collapse_shape %[[Z1]] [] : tensor<1xi8> into tensor<i8>
// CHECK: return %[[QT]], %[[ST]], %[[ZT]]
// CHECK: func.func private @qcc_rt_dynamic_quantize_u8(!llvm.ptr, memref<?xf32>, memref<?xi8>, memref<?xf32>, memref<?xi8>) attributes {llvm.emit_c_interface}
func.func @dql(%x: tensor<?x?x16xf32>) -> (tensor<?x?x16xi8>, tensor<f32>, tensor<i8>) {
  %q:3 = qcc.dynamic_quantize #qcc.qparams<u8, per_tensor, asymmetric> %x : tensor<?x?x16xf32> -> tensor<?x?x16xi8>, tensor<f32>, tensor<i8>
  return %q#0, %q#1, %q#2 : tensor<?x?x16xi8>, tensor<f32>, tensor<i8>
}

// -----

// A vector needs no collapse.
// CHECK-LABEL: func @vector
// CHECK: %[[XM:.*]] = bufferization.to_memref %{{.*}} : memref<100xf32>
// CHECK: %[[XD:.*]] = memref.cast %[[XM]] : memref<100xf32> to memref<?xf32>
// CHECK: call @qcc_rt_dynamic_quantize_u8(%{{.*}}, %[[XD]],
func.func @vector(%x: tensor<100xf32>) -> (tensor<100xi8>, tensor<f32>, tensor<i8>) {
  %q:3 = qcc.dynamic_quantize #qcc.qparams<u8, per_tensor, asymmetric> %x : tensor<100xf32> -> tensor<100xi8>, tensor<f32>, tensor<i8>
  return %q#0, %q#1, %q#2 : tensor<100xi8>, tensor<f32>, tensor<i8>
}

// -----

// Other schemes (symmetric s8, per-token rows) keep the linalg lowering.
// CHECK-LABEL: func @other_schemes
// CHECK-NOT: call @qcc_rt_dynamic_quantize_u8
// CHECK: qcc.dynamic_quantize <s8, per_tensor>
// CHECK: qcc.dynamic_quantize <u8, per_axis(0), asymmetric>
func.func @other_schemes(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4x64xi8>) {
  %a:2 = qcc.dynamic_quantize #qcc.qparams<s8, per_tensor> %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<f32>
  %b:3 = qcc.dynamic_quantize #qcc.qparams<u8, per_axis(0), asymmetric> %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>, tensor<4xi8>
  return %a#0, %b#0 : tensor<4x64xi8>, tensor<4x64xi8>
}
