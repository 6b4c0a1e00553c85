//===- RuntimeCalls.h - generated code calling the runtime ------*- C++ -*-===//
#ifndef QCC_TARGET_CPU_RUNTIMECALLS_H
#define QCC_TARGET_CPU_RUNTIMECALLS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "qcc/Dialect/Qcc/IR/QccOps.h"

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

/// The bytes of packed weight `packed` as a private 64-byte aligned constant
/// global of `module` (renamed on a name collision).
mlir::memref::GlobalOp packedWeightGlobal(mlir::ModuleOp module, mlir::SymbolTable &symbols,
                                          mlir::Operation *packed);

/// `m` (rank >= 1, last dim `cols`) as a 2-D memref of rows: every leading
/// dim collapsed into one, a vector taken as one row.
mlir::Value memrefRows(mlir::OpBuilder &b, mlir::Location loc, mlir::Value m, int64_t cols);

/// A new 64-byte aligned buffer of `type`, its dynamic dims those of
/// `dimSource` at the same positions.
mlir::Value allocResultBuffer(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType type,
                              mlir::Value dimSource);

/// Calls `lower(op, global)` for each op of type OpT in `module` whose
/// operand `packedOperand(op)` is a qcc.packed_constant, `global` holding
/// that constant's bytes (one global per constant); constants left unused
/// are erased.
template <typename OpT, typename OperandFn, typename LowerFn>
void lowerPackedOps(mlir::ModuleOp module, OperandFn packedOperand, LowerFn lower) {
  llvm::SmallVector<OpT> ops;
  module.walk([&](OpT op) {
    if (packedOperand(op).template getDefiningOp<PackedConstantOp>())
      ops.push_back(op);
  });
  if (ops.empty())
    return;
  mlir::SymbolTable symbols(module);
  llvm::DenseMap<mlir::Operation *, mlir::memref::GlobalOp> globals;
  for (OpT op : ops) {
    mlir::Operation *packed = packedOperand(op).getDefiningOp();
    mlir::memref::GlobalOp &global = globals[packed];
    if (!global)
      global = packedWeightGlobal(module, symbols, packed);
    lower(op, global);
  }
  for (auto [packed, global] : globals)
    if (packed->use_empty())
      packed->erase();
}

} // namespace qcc

#endif
