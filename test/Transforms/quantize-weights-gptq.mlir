// RUN: qcc-opt %s --pass-pipeline='builtin.module(func.func(qcc-quantize-weights{bits=4 algo=gptq}))' | FileCheck %s --check-prefix=DEFAULT
// RUN: qcc-opt %s --pass-pipeline='builtin.module(func.func(qcc-quantize-weights{bits=4 algo=gptq damp=1.0}))' | FileCheck %s --check-prefix=HEAVY
// RUN: not qcc-opt %s --pass-pipeline='builtin.module(func.func(qcc-quantize-weights{bits=4 algo=gptq damp=0}))' 2>&1 | FileCheck %s --check-prefix=ERR

// GPTQ on one 4-bit column, scale 0.7 * 0.98 / 7 = 0.098 (the clipping
// search's choice). Input 2 has the largest Hessian diagonal and goes first:
// 0.16 rounds to 2 (0.196), error e = -0.036. Inputs 0 and 2 are correlated
// (H02 = 0.9), so row 0 absorbs e * H02 / (H00 + damp * mean diag),
// mean diag = 4/3: with the default damp 0.1 that is -0.029 and 0.17 becomes
// 0.141, which rounds to 1; with damp 1.0 only -0.014, and 0.156 rounds to 2.
// Input 1 is uncorrelated and keeps its nearest integer.
// DEFAULT: arith.constant dense<{{\[\[}}1], [7], [2]]> : tensor<3x1xi4>
// HEAVY: arith.constant dense<{{\[\[}}2], [7], [2]]> : tensor<3x1xi4>
// ERR: qcc-quantize-weights: damp must be a positive number, got 0.000000e+00
func.func @gptq(%x: tensor<?x3xf32>) -> tensor<?x1xf32> {
  %w = arith.constant dense<[[0.17], [0.7], [0.16]]> : tensor<3x1xf32>
  %m = qcc.matmul %x, %w {qcc.calib_hessian = dense<[[1.0, 0.0, 0.9], [0.0, 1.0, 0.0], [0.9, 0.0, 2.0]]> : tensor<3x3xf32>} : (tensor<?x3xf32>, tensor<3x1xf32>) -> tensor<?x1xf32> loc("fc")
  %r = qcc.relu %m : tensor<?x1xf32>
  return %r : tensor<?x1xf32>
}
