// RUN: qcc-opt %s --allow-unregistered-dialect --qcc-plan-memory --canonicalize | FileCheck %s

// Symbolic sizes: the size computations move to the top, the runtime plans
// the offsets from the sizes and the constant table of live ranges
// (allocation and deallocation positions), and each buffer is a view at
// its planned offset. The arena size is not known at compile time.
// CHECK: module attributes {qcc.arena_bytes = -1 : i64}
// CHECK: memref.global "private" constant @dynamic_plan_arena_intervals : memref<4xi64> = dense<[2, 5, 4, 7]>
// CHECK-LABEL: func @dynamic_plan
// CHECK: %[[N:.*]] = memref.dim %arg0
// CHECK: %[[BYTES:.*]] = arith.muli %[[N]], %{{.*}} : index
// CHECK: memref.store
// CHECK: %[[TOTAL:.*]] = call @qcc_rt_plan(
// CHECK: %[[ARENA:.*]] = call @qcc_rt_arena(%{{.*}}, %[[TOTAL]])
// CHECK: memref.view %[[ARENA]][%{{.*}}][%[[N]]] : memref<?xi8> to memref<?xf32>
// CHECK: memref.view %[[ARENA]][%{{.*}}][] : memref<?xi8> to memref<8xi8>
// CHECK-NOT: memref.alloc
// CHECK: call @qcc_rt_arena_done
func.func @dynamic_plan(%x: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?xf32>
  %a = memref.alloc(%n) {alignment = 64 : i64} : memref<?xf32>
  "test.use"(%a) : (memref<?xf32>) -> ()
  %b = memref.alloc() {alignment = 64 : i64} : memref<8xi8>
  memref.dealloc %a : memref<?xf32>
  "test.use"(%b) : (memref<8xi8>) -> ()
  memref.dealloc %b : memref<8xi8>
  return
}
