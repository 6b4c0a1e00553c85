//===- QccOps.h - qcc operations --------------------------------*- C++ -*-===//
#ifndef QCC_DIALECT_QCC_IR_QCCOPS_H
#define QCC_DIALECT_QCC_IR_QCCOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include "qcc/Dialect/Qcc/IR/QccAttrs.h"
#include "qcc/Dialect/Qcc/IR/QccDialect.h"
#include "qcc/Dialect/Qcc/IR/QccQuantTraits.h"

namespace qcc {
/// Verifies that the operands of an elementwise op broadcast (numpy rules) to
/// the result shape.
mlir::LogicalResult verifyBroadcastOp(mlir::Operation *op);

/// Numpy broadcast of two shapes; dynamic dims broadcast against 1 or an
/// equal/dynamic dim. Fails on incompatible static dims.
mlir::FailureOr<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);

/// Result shape of numpy matmul (rank-1 operands promoted, batch dims
/// broadcast). Fails on a contraction or batch mismatch between static dims.
mlir::FailureOr<llvm::SmallVector<int64_t>>
matmulShape(llvm::ArrayRef<int64_t> lhs, llvm::ArrayRef<int64_t> rhs);

/// True if the shapes have equal rank and each dim pair is equal or dynamic.
bool shapesCompatible(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);
} // namespace qcc

#define GET_OP_CLASSES
#include "qcc/Dialect/Qcc/IR/QccOps.h.inc"

#endif
