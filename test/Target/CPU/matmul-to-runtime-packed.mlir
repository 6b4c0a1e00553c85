// RUN: qcc-opt %s --qcc-matmul-to-runtime=panel-width=4 --canonicalize | FileCheck %s
// RUN: qcc-opt %s --qcc-matmul-to-runtime --canonicalize | FileCheck %s --check-prefix=NOPACK

#mk = affine_map<(m, k, n) -> (m, k)>
#kn = affine_map<(m, k, n) -> (k, n)>
#nk = affine_map<(m, k, n) -> (n, k)>
#mn = affine_map<(m, k, n) -> (m, n)>

// B[k][n] = 5k + n, stored K x N and, transposed, N x K. Both pack to the
// same panels: 4 columns each, k-major, the fifth column alone in the second
// panel with zeros beside it.
// CHECK-DAG: memref.global "private" constant @w_panels4 : memref<24xf32> = dense<[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00, 1.000000e+01, 1.100000e+01, 1.200000e+01, 1.300000e+01, 4.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 9.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 1.400000e+01, 0.000000e+00, 0.000000e+00, 0.000000e+00]> {alignment = 64 : i64}
// CHECK-DAG: memref.global "private" constant @wt_panels4_t : memref<24xf32> = dense<[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00, 1.000000e+01, 1.100000e+01, 1.200000e+01, 1.300000e+01, 4.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 9.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 1.400000e+01, 0.000000e+00, 0.000000e+00, 0.000000e+00]> {alignment = 64 : i64}
// Packed once though read twice; the originals have no readers left.
// CHECK-NOT: @w_panels4_0
// CHECK-NOT: memref.global "private" constant @w :
// CHECK-NOT: memref.global "private" constant @wt :
// A weight a batched B also reads stays.
// CHECK-DAG: memref.global "private" constant @wb : memref<2x3x5xf32>
// NOPACK-NOT: panels
memref.global "private" constant @w : memref<3x5xf32> = dense<[[0.0, 1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0, 9.0], [10.0, 11.0, 12.0, 13.0, 14.0]]>
memref.global "private" constant @wt : memref<5x3xf32> = dense<[[0.0, 5.0, 10.0], [1.0, 6.0, 11.0], [2.0, 7.0, 12.0], [3.0, 8.0, 13.0], [4.0, 9.0, 14.0]]>
memref.global "private" constant @wb : memref<2x3x5xf32> = dense<1.0>

// CHECK-LABEL: func @packed
// CHECK-SAME: (%[[CTX:.*]]: !llvm.ptr {qcc.runtime_context}
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[C5:.*]] = arith.constant 5 : i64
// CHECK: %[[W:.*]] = memref.get_global @w_panels4 : memref<24xf32>
// CHECK: %[[WP:.*]] = memref.extract_aligned_pointer_as_index %[[W]]
// CHECK: %[[WI:.*]] = arith.index_cast %[[WP]] : index to i64
// CHECK: call @qcc_rt_sgemm_packed(%[[CTX]], %[[C2]], %[[C5]], %[[C3]], %[[C1]], %[[C1]], %[[C1]], %{{.*}}, %[[C3]], %[[C1]], %[[C0]], %[[C0]], %[[C0]], %[[WI]], %[[C4]], %{{.*}}, %[[C5]], %[[C1]], %[[C0]], %[[C0]], %[[C0]])
// CHECK: call @qcc_rt_sgemm_packed({{.*}}, %[[C4]],
// CHECK: memref.get_global @wt_panels4_t
// CHECK: call @qcc_rt_sgemm_packed
// NOPACK-LABEL: func @packed
// NOPACK-COUNT-3: call @qcc_rt_sgemm(
func.func @packed(%ctx: !llvm.ptr {qcc.runtime_context}, %a: memref<2x3xf32>, %c: memref<2x5xf32>, %d: memref<2x5xf32>, %e: memref<2x5xf32>) {
  %w = memref.get_global @w : memref<3x5xf32>
  %wt = memref.get_global @wt : memref<5x3xf32>
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %w : memref<2x3xf32>, memref<3x5xf32>) outs(%c : memref<2x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %w : memref<2x3xf32>, memref<3x5xf32>) outs(%d : memref<2x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %wt : memref<2x3xf32>, memref<5x3xf32>) outs(%e : memref<2x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// B indexed by the batch loop: each batch entry has its own weights, so it
// keeps the strided call.
// CHECK-LABEL: func @batched_weights
// CHECK: memref.get_global @wb
// CHECK: call @qcc_rt_sgemm(
func.func @batched_weights(%a: memref<2x2x3xf32>, %c: memref<2x2x5xf32>) {
  %w = memref.get_global @wb : memref<2x3x5xf32>
  linalg.generic {indexing_maps = [affine_map<(b, m, k, n) -> (b, m, k)>,
                                   affine_map<(b, m, k, n) -> (b, k, n)>,
                                   affine_map<(b, m, k, n) -> (b, m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%a, %w : memref<2x2x3xf32>, memref<2x3x5xf32>) outs(%c : memref<2x2x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
