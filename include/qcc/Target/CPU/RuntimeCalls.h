//===- RuntimeCalls.h - generated code calling the runtime ------*- C++ -*-===//
#ifndef QCC_TARGET_CPU_RUNTIMECALLS_H
#define QCC_TARGET_CPU_RUNTIMECALLS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace qcc {

/// The runtime function `name` of `type`, declared private in `module` on
/// first use; with `cInterface`, memref arguments and results cross as
/// descriptor pointers (MLIR's C interface).
mlir::func::FuncOp lookupOrDeclareRuntimeFunc(mlir::ModuleOp module, llvm::StringRef name,
                                              mlir::FunctionType type, bool cInterface);

/// The run-time context for code in `func`: its `qcc.runtime_context`
/// argument, or a null pointer (one thread, per-call memory).
mlir::Value runtimeContext(mlir::OpBuilder &b, mlir::Location loc, mlir::func::FuncOp func);

/// The aligned pointer of `memref` as an i64. Through a memref.view the
/// view's byte shift is added: MLIR folds a view's pointer to its source's.
mlir::Value alignedPointerAsI64(mlir::OpBuilder &b, mlir::Location loc, mlir::Value memref);

} // namespace qcc

#endif
