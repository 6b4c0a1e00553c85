// RUN: qcc-opt %s --qcc-expand-math | FileCheck %s

// Transcendentals become arithmetic: no math op that would call libm is left.
// CHECK-LABEL: func @transcendentals
// CHECK-NOT: math.erf
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.powf
// CHECK-NOT: math.log
// CHECK: arith.mulf
// CHECK: return
func.func @transcendentals(%x: f32, %y: f32) -> (f32, f32, f32, f32, f32) {
  %0 = math.erf %x : f32
  %1 = math.exp %x : f32
  %2 = math.tanh %x : f32
  %3 = math.powf %x, %y : f32
  %4 = math.log %x : f32
  return %0, %1, %2, %3, %4 : f32, f32, f32, f32, f32
}

// sqrt has a hardware instruction and stays.
// CHECK-LABEL: func @sqrt_stays
// CHECK: math.sqrt
func.func @sqrt_stays(%x: f32) -> f32 {
  %0 = math.sqrt %x : f32
  return %0 : f32
}
