//===- Passes.td - qcc dialect passes ----------------------*- tablegen -*-===//
#ifndef QCC_TRANSFORMS_PASSES_TD
#define QCC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def QccFuseNormalizations : Pass<"qcc-fuse-normalizations", "mlir::func::FuncOp"> {
  let summary = "fuse decomposed LayerNorm and RMSNorm into qcc.layer_norm / qcc.rms_norm";
  let description = [{
    Exporters often spell normalizations out as ReduceMean / Sub / Pow / Sqrt
    / Div / Mul / Add chains. This pass recognizes
    `x * rsqrt(mean(x^2) + eps) * w` (RMSNorm) and
    `(x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) * w + b` (LayerNorm)
    over the last axis and replaces them with the fused ops, which later
    passes treat as a unit.
  }];
  let dependentDialects = ["::qcc::QccDialect"];
}

def QccFuseActivations : Pass<"qcc-fuse-activations", "mlir::func::FuncOp"> {
  let summary = "fuse decomposed GELU and SiLU into qcc.gelu / qcc.silu";
  let description = [{
    Recognizes `0.5 * x * (1 + erf(x / sqrt(2)))` as exact GELU,
    `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))` as tanh GELU and
    `x * sigmoid(x)` as SiLU.
  }];
  let dependentDialects = ["::qcc::QccDialect"];
}

def QccExpandMath : Pass<"qcc-expand-math"> {
  let summary = "expand transcendental math ops into polynomial approximations";
  let description = [{
    Rewrites `math.exp`, `log`, `tanh`, `erf`, `powf` and friends into
    arithmetic (MLIR's polynomial approximations), so compiled models do not
    call the platform's libm and give the same results everywhere.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // QCC_TRANSFORMS_PASSES_TD
