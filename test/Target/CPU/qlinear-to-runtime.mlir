// RUN: qcc-opt %s --qcc-add-runtime-context --qcc-pack-weights="layout=x86.avx2" --qcc-qlinear-to-runtime | FileCheck %s

// A layer with int8 activations on a [batch, seq, K] input: rows collapse
// to [batch * seq, K], the packed bytes become an aligned constant global
// the call reads, and the output is a fresh buffer the call fills.
// CHECK: memref.global "private" constant @qcc_qweight : memref<{{[0-9]+}}xi8> = dense<"0x51435731{{.*}}> {alignment = 64 : i64}
// CHECK-LABEL: func @layer
// CHECK-SAME: (%[[CTX:.*]]: !llvm.ptr {qcc.runtime_context}, %[[X:.*]]: tensor<?x?x16xf32>
// CHECK: %[[XM:.*]] = bufferization.to_memref %[[X]] : memref<?x?x16xf32>
// CHECK: %[[ROWS:.*]] = memref.collapse_shape %[[XM]] {{\[\[}}0, 1], [2]]
// CHECK: %[[XD:.*]] = memref.cast %[[ROWS]] : memref<?x16xf32> to memref<?x?xf32>
// CHECK: %[[W:.*]] = memref.get_global @qcc_qweight
// CHECK: %[[WD:.*]] = memref.cast %[[W]] : memref<{{[0-9]+}}xi8> to memref<?xi8>
// CHECK: %[[B:.*]] = memref.alloca() : memref<0xf32>
// CHECK: %[[BD:.*]] = memref.cast %[[B]]
// CHECK: %[[R:.*]] = memref.alloca() : memref<0x0xf32>
// CHECK: %[[RD:.*]] = memref.cast %[[R]] : memref<0x0xf32> to memref<?x?xf32>
// CHECK: %[[OUT:.*]] = memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x?x8xf32>
// CHECK: %[[YR:.*]] = memref.collapse_shape %[[OUT]]
// CHECK: %[[YD:.*]] = memref.cast %[[YR]]
// CHECK: %[[ACT:.*]] = arith.constant 1 : i64
// CHECK: %[[SCALE:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: call @qcc_rt_qlinear(%[[CTX]], %[[XD]], %[[WD]], %[[BD]], %[[RD]], %[[YD]], %[[ACT]], %[[SCALE]])
// CHECK: %[[Y:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[Y]]
func.func @layer(%x: tensor<?x?x16xf32>) -> tensor<?x?x8xf32> {
  %q = arith.constant dense<3> : tensor<16x8xi4>
  %s = arith.constant dense<0.5> : tensor<1x8xf32>
  %y = qcc.qlinear %x, %q, %s {act_params = #qcc.qparams<s8, per_axis(0)>, weight_params = #qcc.qparams<s4, per_group(0, 16)>} : (tensor<?x?x16xf32>, tensor<16x8xi4>, tensor<1x8xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// A residual of the result's shape collapses to rows like the output and
// goes to the call in place of the empty buffer.
// CHECK-LABEL: func @with_residual
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<2x3x16xf32>, %[[RES:[a-z0-9]+]]: tensor<2x3x8xf32>
// CHECK: %[[RM:.*]] = bufferization.to_memref %[[RES]] : memref<2x3x8xf32>
// CHECK: %[[RROWS:.*]] = memref.collapse_shape %[[RM]] {{\[\[}}0, 1], [2]] : memref<2x3x8xf32> into memref<6x8xf32>
// CHECK: %[[RD:.*]] = memref.cast %[[RROWS]] : memref<6x8xf32> to memref<?x?xf32>
// CHECK: call @qcc_rt_qlinear(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[RD]], %{{.*}}, %{{.*}}, %{{.*}})
// CHECK: func.func private @qcc_rt_qlinear(!llvm.ptr, memref<?x?xf32>, memref<?xi8>, memref<?xf32>, memref<?x?xf32>, memref<?x?xf32>, i64, f32) attributes {llvm.emit_c_interface}
func.func @with_residual(%x: tensor<2x3x16xf32>, %r: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {
  %q = arith.constant dense<3> : tensor<16x8xi4>
  %s = arith.constant dense<0.5> : tensor<1x8xf32>
  %y = qcc.qlinear %x, %q, %s residual %r : tensor<2x3x8xf32> {act_params = #qcc.qparams<s8, per_axis(0)>, weight_params = #qcc.qparams<s4, per_group(0, 16)>} : (tensor<2x3x16xf32>, tensor<16x8xi4>, tensor<1x8xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}
