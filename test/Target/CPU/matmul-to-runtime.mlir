// RUN: qcc-opt %s --qcc-matmul-to-runtime --canonicalize | FileCheck %s

#mk = affine_map<(m, k, n) -> (m, k)>
#kn = affine_map<(m, k, n) -> (k, n)>
#mn = affine_map<(m, k, n) -> (m, n)>

// A plain row-major matmul: m, n, k, no batch, unit column strides.
// CHECK-LABEL: func @plain
// CHECK-SAME: (%[[CTX:.*]]: !llvm.ptr {qcc.runtime_context}
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[C5:.*]] = arith.constant 5 : i64
// CHECK: call @qcc_rt_sgemm(%[[CTX]], %[[C3]], %[[C5]], %[[C4]], %[[C1]], %[[C1]], %[[C1]], %{{.*}}, %[[C4]], %[[C1]], %[[C0]], %[[C0]], %[[C0]], %{{.*}}, %[[C5]], %[[C1]], %[[C0]], %[[C0]], %[[C0]], %{{.*}}, %[[C5]], %[[C1]], %[[C0]], %[[C0]], %[[C0]])
// CHECK-NOT: linalg.generic
func.func @plain(%ctx: !llvm.ptr {qcc.runtime_context}, %a: memref<3x4xf32>, %b: memref<4x5xf32>, %c: memref<3x5xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<3x4xf32>, memref<4x5xf32>) outs(%c : memref<3x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Batched, B broadcast along the batch dim and read transposed (column
// stride 8): strides come from the memref layouts, broadcast is stride 0.
// Without a context argument the kernel gets a null context.
// CHECK-LABEL: func @batched_transposed
// CHECK-DAG: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : i64
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : i64
// CHECK: call @qcc_rt_sgemm(%[[NULL]], %[[C2]], %{{.*}}, %[[C8]], %[[C2]], %[[C1]], %[[C1]], %{{.*}}, %[[C8]], %[[C1]], %[[C16]], %[[C0]], %[[C0]], %{{.*}}, %[[C1]], %[[C8]], %[[C0]], %[[C0]], %[[C0]], %{{.*}}, %{{.*}}, %[[C1]], %{{.*}}, %[[C0]], %[[C0]])
func.func @batched_transposed(%a: memref<2x2x8xf32>, %bt: memref<3x8xf32>, %c: memref<2x2x3xf32>) {
  linalg.generic {indexing_maps = [affine_map<(b, m, k, n) -> (b, m, k)>,
                                   affine_map<(b, m, k, n) -> (n, k)>,
                                   affine_map<(b, m, k, n) -> (b, m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%a, %bt : memref<2x2x8xf32>, memref<3x8xf32>) outs(%c : memref<2x2x3xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// Left to the loops: index arithmetic in a map (grouped-query heads), a
// body that is not a multiply-accumulate, f16 data.
// CHECK-LABEL: func @not_matched
// CHECK-NOT: call @qcc_rt_sgemm
// CHECK-COUNT-3: linalg.generic
func.func @not_matched(%a: memref<4x8xf32>, %b: memref<2x8xf32>, %c: memref<4x2xf32>,
                       %h: memref<4x8xf16>, %hb: memref<8x2xf16>, %hc: memref<4x2xf16>) {
  linalg.generic {indexing_maps = [affine_map<(m, k, n) -> (m, k)>,
                                   affine_map<(m, k, n) -> (m floordiv 2, k)>,
                                   affine_map<(m, k, n) -> (m, n)>],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<4x8xf32>, memref<2x8xf32>) outs(%c : memref<4x2xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#mk, affine_map<(m, k, n) -> (n, k)>, #mn],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<4x8xf32>, memref<2x8xf32>) outs(%c : memref<4x2xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.subf %x, %y : f32
    %s = arith.maximumf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%h, %hb : memref<4x8xf16>, memref<8x2xf16>) outs(%hc : memref<4x2xf16>) {
  ^bb0(%x: f16, %y: f16, %acc: f16):
    %p = arith.mulf %x, %y : f16
    %s = arith.addf %acc, %p : f16
    linalg.yield %s : f16
  }
  return
}

// Operands planned into the arena are views: the byte shift is added to the
// arena's pointer (the base buffer's pointer alone would miss it).
// CHECK-LABEL: func @arena_views
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK: %[[A:.*]] = arith.addi %[[P]], %arg1 : index
// CHECK: %[[AI:.*]] = arith.index_cast %[[A]] : index to i64
// CHECK: call @qcc_rt_sgemm(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[AI]],
func.func @arena_views(%arena: memref<?xi8>, %shift: index, %b: memref<4x5xf32>, %c: memref<3x5xf32>) {
  %a = memref.view %arena[%shift][] : memref<?xi8> to memref<3x4xf32>
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<3x4xf32>, memref<4x5xf32>) outs(%c : memref<3x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
