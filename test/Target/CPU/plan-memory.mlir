// RUN: qcc-opt %s --allow-unregistered-dialect --qcc-plan-memory --canonicalize | FileCheck %s

// Static shapes: offsets are constants. %a (256 B) and %b (64 B, rounded up
// from 8) are live together, so %b goes above %a; %c is allocated after %a
// is freed and %b is still live, so it goes above %b at 320. The arena
// (384 B) is recorded on the module.
// CHECK: module attributes {qcc.arena_bytes = 384 : i64}
// CHECK-LABEL: func @static_plan
// CHECK-SAME: (%[[CTX:.*]]: !llvm.ptr {qcc.runtime_context}
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[C320:.*]] = arith.constant 320 : index
// CHECK-DAG: %[[SIZE:.*]] = arith.constant 384 : i64
// CHECK: %[[ARENA:.*]] = call @qcc_rt_arena(%[[CTX]], %[[SIZE]])
// CHECK: memref.view %[[ARENA]][%[[C0]]][] : memref<?xi8> to memref<64xf32>
// CHECK: memref.view %[[ARENA]][%[[C256]]][] : memref<?xi8> to memref<2xf32>
// CHECK: memref.view %[[ARENA]][%[[C320]]][] : memref<?xi8> to memref<4xf32>
// CHECK-NOT: memref.alloc(
// CHECK-NOT: memref.dealloc
// The escaping result keeps its own allocation.
// CHECK: %[[OUT:.*]] = memref.alloc() {{.*}} : memref<4xf32>
// CHECK: call @qcc_rt_arena_done(%[[CTX]], %[[ARENA]])
// CHECK-NEXT: return %[[OUT]]
func.func @static_plan(%ctx: !llvm.ptr {qcc.runtime_context}, %x: memref<4xf32>) -> memref<4xf32> {
  %a = memref.alloc() {alignment = 64 : i64} : memref<64xf32>
  %b = memref.alloc() {alignment = 64 : i64} : memref<2xf32>
  "test.use"(%a, %b) : (memref<64xf32>, memref<2xf32>) -> ()
  memref.dealloc %a : memref<64xf32>
  %c = memref.alloc() {alignment = 64 : i64} : memref<4xf32>
  "test.use"(%b, %c) : (memref<2xf32>, memref<4xf32>) -> ()
  memref.dealloc %b : memref<2xf32>
  %out = memref.alloc() {alignment = 64 : i64} : memref<4xf32>
  "test.use"(%c, %out) : (memref<4xf32>, memref<4xf32>) -> ()
  memref.dealloc %c : memref<4xf32>
  return %out : memref<4xf32>
}
