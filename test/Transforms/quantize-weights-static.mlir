// RUN: not qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-quantize-weights{act=static}))' 2>/dev/null | FileCheck %s
// RUN: not qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-quantize-weights{act=static}))' 2>&1 >/dev/null | FileCheck %s --check-prefix=ERR

// Static int8 activations: one scale for the layer, max|x| / 127 from the
// calibration statistics (max|x| = 254 gives 2).
// CHECK-LABEL: func @static
// CHECK: qcc.qlinear {{.*}}act_params = #qcc.qparams<s8, per_axis(0)>, act_scale = 2.000000e+00 : f32, qcc.quant_report = {act_absmax = 2.540000e+02 : f64, act_clipped = 0.000000e+00 : f64, act_range = 2.540000e+02 : f64, act_scale = 2.000000e+00 : f64, {{.*}}scheme = "s8 per-channel, int8 static activations"
func.func @static(%x: tensor<?x3xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[127.0, 0.0], [2.5, 0.0], [-3.5, 0.0]]> : tensor<3x2xf32>
  %m = qcc.matmul %x, %w {qcc.calib_absmax = 254.0 : f64} : (tensor<?x3xf32>, tensor<3x2xf32>) -> tensor<?x2xf32> loc("proj")
  %r = qcc.relu %m : tensor<?x2xf32>
  return %r : tensor<?x2xf32>
}

// -----

// A range chosen by a calibration method (127 of max|x| = 300, 1 % of the
// values beyond it) sets the scale.
// CHECK-LABEL: func @ranged
// CHECK: qcc.qlinear {{.*}}act_scale = 1.000000e+00 : f32, qcc.quant_report = {act_absmax = 3.000000e+02 : f64, act_clipped = 1.000000e-02 : f64, act_range = 1.270000e+02 : f64, act_scale = 1.000000e+00 : f64
func.func @ranged(%x: tensor<?x3xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<1.0> : tensor<3x2xf32>
  %m = qcc.matmul %x, %w {qcc.calib_absmax = 300.0 : f64, qcc.calib_range = 127.0 : f64, qcc.calib_clipped = 0.01 : f64} : (tensor<?x3xf32>, tensor<3x2xf32>) -> tensor<?x2xf32> loc("proj")
  %r = qcc.relu %m : tensor<?x2xf32>
  return %r : tensor<?x2xf32>
}

// -----

// A layer the calibration did not reach is an error.
// ERR: error: loc("proj"): layer 'proj': static activation scales need calibration statistics (--calib)
func.func @uncalibrated(%x: tensor<?x3xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<1.0> : tensor<3x2xf32>
  %m = qcc.matmul %x, %w : (tensor<?x3xf32>, tensor<3x2xf32>) -> tensor<?x2xf32> loc("proj")
  %r = qcc.relu %m : tensor<?x2xf32>
  return %r : tensor<?x2xf32>
}
