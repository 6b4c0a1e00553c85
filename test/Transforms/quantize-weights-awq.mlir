// RUN: not qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-quantize-weights{bits=4 algo=awq}))' 2>/dev/null | FileCheck %s
// RUN: not qcc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(qcc-quantize-weights{bits=4 algo=awq}))' 2>&1 >/dev/null | FileCheck %s --check-prefix=ERR

// AWQ: the calibration Hessian's diagonal says input 0 carries 100x the
// RMS of the others; its weight row is scaled up (finer steps) and the
// activation divided by the same factor before the layer, by a qcc.mul.
// CHECK-LABEL: func @awq
// CHECK: %[[INV:.*]] = arith.constant dense<[[[SMALL:[0-9.e+-]+]], [[BIG:[0-9.e+-]+]], [[BIG]], [[BIG]]]> : tensor<4xf32>
// CHECK: %[[X:.*]] = qcc.mul %arg0, %[[INV]] : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
// CHECK: qcc.qlinear %[[X]], {{.*}}algo = "awq", awq_alpha = {{.*}} : f64{{.*}}scheme = "s4 per-channel, float activations"
func.func @awq(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[0.3, -0.2], [0.9, 0.1], [-0.7, 0.5], [0.05, -1.0]]> : tensor<4x2xf32>
  %m = qcc.matmul %x, %w {qcc.calib_hessian = dense<[[10000.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]> : tensor<4x4xf32>} : (tensor<?x4xf32>, tensor<4x2xf32>) -> tensor<?x2xf32> loc("fc")
  %r = qcc.relu %m : tensor<?x2xf32>
  return %r : tensor<?x2xf32>
}

// -----

// Without calibration statistics there is nothing to scale by.
// ERR: error: loc("fc"): layer 'fc': awq needs the calibration statistics of its input (--calib)
func.func @no_stats(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<0.5> : tensor<4x2xf32>
  %m = qcc.matmul %x, %w : (tensor<?x4xf32>, tensor<4x2xf32>) -> tensor<?x2xf32> loc("fc")
  return %m : tensor<?x2xf32>
}
