//===- Passes.td - qcc conversion passes -------------------*- tablegen -*-===//
#ifndef QCC_CONVERSION_PASSES_TD
#define QCC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def QccConvertToLinalg : Pass<"qcc-convert-to-linalg", "mlir::func::FuncOp"> {
  let summary = "lower qcc float graph ops to linalg, tensor, arith and math";
  let description = [{
    Rewrites the float graph ops of the qcc dialect on tensors into
    `linalg.generic` / named linalg ops, `tensor` data movement and scalar
    `arith` / `math` bodies, ready for one-shot bufferization.

    Broadcasting follows numpy rules on static dims; a dynamic dim is taken
    to equal the other operand's dim at that position (size-1 broadcasting
    of a dynamic dim is not supported and never produced by the importer's
    exporters' shape logic). Quantization ops are left for the quantization
    lowering.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect"
  ];
}

#endif // QCC_CONVERSION_PASSES_TD
