//===- LinalgBuilders.h - helpers shared by the qcc -> linalg patterns ----===//
#ifndef QCC_LIB_CONVERSION_QCCTOLINALG_LINALGBUILDERS_H
#define QCC_LIB_CONVERSION_QCCTOLINALG_LINALGBUILDERS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace qcc::lowering {

mlir::RankedTensorType ttype(mlir::Value v);
mlir::Value indexConst(mlir::OpBuilder &b, mlir::Location loc, int64_t v);
mlir::Value dimOf(mlir::OpBuilder &b, mlir::Location loc, mlir::Value t, int64_t i);
mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type, mlir::ValueRange dynDims);
/// Dynamic dims of a numpy-broadcast result, read from the operands.
llvm::SmallVector<mlir::Value> broadcastDynamicDims(mlir::OpBuilder &b, mlir::Location loc,
                                                    mlir::RankedTensorType result,
                                                    mlir::ValueRange operands);

using BodyFn =
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// A parallel linalg.generic over the result shape, operands numpy-broadcast.
mlir::Value elementwise(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType resultType, mlir::ValueRange inputs,
                        BodyFn body);

/// out = sum over the reduction loops of lhs * rhs, into a zero-filled
/// tensor of `type`, in float or integer arithmetic by its element type.
mlir::Value contract(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType type,
                     mlir::ValueRange dynDims, mlir::Value lhs, mlir::Value rhs,
                     llvm::ArrayRef<mlir::AffineMap> maps,
                     llvm::ArrayRef<mlir::utils::IteratorType> iters);

mlir::Value floatConst(mlir::OpBuilder &b, mlir::Location loc, mlir::Type t, double v);

} // namespace qcc::lowering

namespace qcc {
/// Patterns lowering quantize / dequantize / dynamic_quantize / requantize /
/// qmatmul / qlinear to linalg on tensors (QuantToLinalg.cpp).
void populateQuantToLinalgPatterns(mlir::RewritePatternSet &patterns);
} // namespace qcc

#endif
