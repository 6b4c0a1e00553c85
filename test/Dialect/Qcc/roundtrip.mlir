// RUN: qcc-opt %s | qcc-opt | FileCheck %s
// RUN: qcc-opt %s --mlir-print-op-generic | qcc-opt | FileCheck %s

// CHECK-LABEL: func @elementwise
func.func @elementwise(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %c: tensor<2x3xi1>) -> tensor<2x3xf32> {
  // CHECK: qcc.add %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %0 = qcc.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: qcc.less {{.*}} -> tensor<2x3xi1>
  %1 = qcc.less %0, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xi1>
  // CHECK: qcc.where
  %2 = qcc.where %1, %0, %a : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: qcc.gelu %{{.*}} {approximate = #qcc<gelu_approx tanh>}
  %3 = qcc.gelu %2 {approximate = #qcc<gelu_approx tanh>} : tensor<2x3xf32>
  // CHECK: qcc.clip %{{.*}} {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64}
  %4 = qcc.clip %3 {min = 0.0 : f64, max = 6.0 : f64} : tensor<2x3xf32>
  // CHECK: qcc.cast %{{.*}} {to_unsigned} : tensor<2x3xf32> -> tensor<2x3xi8>
  %5 = qcc.cast %4 {to_unsigned} : tensor<2x3xf32> -> tensor<2x3xi8>
  return %4 : tensor<2x3xf32>
}

// CHECK-LABEL: func @linear_algebra
func.func @linear_algebra(%x: tensor<?x4x8xf32>, %w: tensor<8x16xf32>, %g: tensor<8xf32>) -> tensor<?x4x16xf32> {
  // CHECK: qcc.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {axis = 2 : i64, epsilon = 1.000000e-05 : f64}
  %0 = qcc.layer_norm %x, %g, %g {axis = 2 : i64, epsilon = 1.0e-5 : f64} : (tensor<?x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x4x8xf32>
  // CHECK: qcc.rms_norm
  %1 = qcc.rms_norm %0, %g {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<?x4x8xf32>, tensor<8xf32>) -> tensor<?x4x8xf32>
  // CHECK: qcc.matmul {{.*}} -> tensor<?x4x16xf32>
  %2 = qcc.matmul %1, %w : (tensor<?x4x8xf32>, tensor<8x16xf32>) -> tensor<?x4x16xf32>
  // CHECK: qcc.softmax %{{.*}} {axis = 2 : i64}
  %3 = qcc.softmax %2 {axis = 2 : i64} : tensor<?x4x16xf32>
  // CHECK: qcc.reduce mean %{{.*}} {axes = array<i64: 2>, keepdims = true}
  %4 = qcc.reduce mean %3 {axes = array<i64: 2>, keepdims = true} : tensor<?x4x16xf32> -> tensor<?x4x1xf32>
  return %3 : tensor<?x4x16xf32>
}

// CHECK-LABEL: func @attention
func.func @attention(%q: tensor<1x8x5x16xf32>, %k: tensor<1x2x9x16xf32>, %v: tensor<1x2x9x16xf32>, %cos: tensor<1x5x8xf32>, %m: tensor<1x1x5x9xf32>) -> tensor<1x8x5x16xf32> {
  // CHECK: qcc.rotary
  %0 = qcc.rotary %q, %cos, %cos : tensor<1x8x5x16xf32>, tensor<1x5x8xf32>, tensor<1x5x8xf32> -> tensor<1x8x5x16xf32>
  // CHECK: qcc.attention %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} : tensor<1x1x5x9xf32> {causal = true, scale = 2.500000e-01 : f64}
  %1 = qcc.attention %0, %k, %v mask %m : tensor<1x1x5x9xf32> {causal = true, scale = 0.25 : f64} : tensor<1x8x5x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32> -> tensor<1x8x5x16xf32>
  return %1 : tensor<1x8x5x16xf32>
}

// CHECK-LABEL: func @shapes
func.func @shapes(%x: tensor<?x6xf32>, %i: tensor<3xi64>) -> tensor<?x2x3xf32> {
  // CHECK: %[[D:.*]] = qcc.dim %{{.*}}, 0
  %d = qcc.dim %x, 0 : tensor<?x6xf32>
  // CHECK: qcc.reshape %{{.*}}[%[[D]]] : tensor<?x6xf32> -> tensor<?x2x3xf32>
  %0 = qcc.reshape %x[%d] : tensor<?x6xf32> -> tensor<?x2x3xf32>
  // CHECK: qcc.transpose %{{.*}} {perm = array<i64: 0, 2, 1>}
  %1 = qcc.transpose %0 {perm = array<i64: 0, 2, 1>} : tensor<?x2x3xf32> -> tensor<?x3x2xf32>
  // CHECK: qcc.slice %{{.*}}[0, 1, 0] [%{{.*}}, 2, 2] {strides = array<i64: 1, 1, 1>}
  %2 = qcc.slice %1 [0, 1, 0] [%d, 2, 2] {strides = array<i64: 1, 1, 1>} : tensor<?x3x2xf32> -> tensor<?x2x2xf32>
  // CHECK: qcc.concat
  %3 = qcc.concat %2, %2 {axis = 2 : i64} : (tensor<?x2x2xf32>, tensor<?x2x2xf32>) -> tensor<?x2x4xf32>
  // CHECK: qcc.gather
  %4 = qcc.gather %x[%i] {axis = 1 : i64} : (tensor<?x6xf32>, tensor<3xi64>) -> tensor<?x3xf32>
  // CHECK: qcc.expand
  %5 = qcc.expand %4[%d] : tensor<?x3xf32> -> tensor<?x2x3xf32>
  // CHECK: qcc.fill[%{{.*}}] 1.000000e+00 : f32 : tensor<?x4xf32>
  %6 = qcc.fill[%d] 1.0 : f32 : tensor<?x4xf32>
  // CHECK: qcc.shape %{{.*}} : tensor<?x6xf32> -> tensor<2xi64>
  %7 = qcc.shape %x : tensor<?x6xf32> -> tensor<2xi64>
  return %5 : tensor<?x2x3xf32>
}

// CHECK-LABEL: func @quant
func.func @quant(%x: tensor<4x64xf32>, %s: tensor<f32>, %zp: tensor<i8>, %gs: tensor<2x8xf16>, %w: tensor<64x8xi4>, %ws: tensor<2x8xf32>) -> tensor<4x8xf32> {
  // CHECK: qcc.quantize <u8, per_tensor, asymmetric> %{{.*}}, %{{.*}}, %{{.*}}
  %q = qcc.quantize #qcc.qparams<u8, per_tensor, asymmetric> %x, %s, %zp : (tensor<4x64xf32>, tensor<f32>, tensor<i8>) -> tensor<4x64xi8>
  // CHECK: qcc.dequantize <s4, per_group(0, 32), scale = f16> %{{.*}}, %{{.*}}
  %d = qcc.dequantize #qcc.qparams<s4, per_group(0, 32), scale = f16> %w, %gs : (tensor<64x8xi4>, tensor<2x8xf16>) -> tensor<64x8xf16>
  // CHECK: qcc.requantize <s8, per_tensor> %{{.*}} {input_zp = 0 : i64, multiplier = array<i32: 1073741824>, output_zp = 0 : i64, shift = array<i32: 31>}
  %r = qcc.requantize #qcc.qparams<s8, per_tensor> %q {multiplier = array<i32: 1073741824>, shift = array<i32: 31>, input_zp = 0 : i64, output_zp = 0 : i64} : tensor<4x64xi8> -> tensor<4x64xi8>
  // CHECK: qcc.dynamic_quantize <s8, per_axis(0)> %{{.*}} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  %dq:2 = qcc.dynamic_quantize #qcc.qparams<s8, per_axis(0)> %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  // CHECK: qcc.observe %{{.*}} "probe0"
  %o = qcc.observe %x "probe0" : tensor<4x64xf32>
  // CHECK: qcc.qmatmul {{.*}} -> tensor<4x8xi32>
  %i = qcc.qmatmul %q, %w {lhs_params = #qcc.qparams<u8, per_tensor>, rhs_params = #qcc.qparams<s4, per_tensor>} : (tensor<4x64xi8>, tensor<64x8xi4>) -> tensor<4x8xi32>
  // CHECK: qcc.qlinear %{{.*}}, %{{.*}}, %{{.*}} {act_params = #qcc.qparams<s8, per_axis(0)>, weight_params = #qcc.qparams<s4, per_group(0, 32)>}
  %y = qcc.qlinear %x, %w, %ws {weight_params = #qcc.qparams<s4, per_group(0, 32)>, act_params = #qcc.qparams<s8, per_axis(0)>} : (tensor<4x64xf32>, tensor<64x8xi4>, tensor<2x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// CHECK-LABEL: func @packed
func.func @packed(%x: tensor<1x32xf32>, %s: tensor<1x16xf32>) -> tensor<1x16xf32> {
  // CHECK: qcc.packed_constant dense<0> : tensor<448xi8> : tensor<32x16xi4, #qcc.packed<"x86.avx2", [32, 8], <s4, per_group(0, 32)>>>
  %w = qcc.packed_constant dense<0> : tensor<448xi8> : tensor<32x16xi4, #qcc.packed<"x86.avx2", [32, 8], #qcc.qparams<s4, per_group(0, 32)>>>
  %y = qcc.qlinear %x, %w, %s {weight_params = #qcc.qparams<s4, per_group(0, 32)>} : (tensor<1x32xf32>, tensor<32x16xi4, #qcc.packed<"x86.avx2", [32, 8], #qcc.qparams<s4, per_group(0, 32)>>>, tensor<1x16xf32>) -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}
