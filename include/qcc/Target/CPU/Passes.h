//===- Passes.h - CPU target passes -----------------------------*- C++ -*-===//
#ifndef QCC_TARGET_CPU_PASSES_H
#define QCC_TARGET_CPU_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace qcc {
/// Argument attribute marking the run-time context argument.
inline constexpr char kRuntimeContextAttr[] = "qcc.runtime_context";

#define GEN_PASS_DECL
#include "qcc/Target/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qcc/Target/CPU/Passes.h.inc"
} // namespace qcc

#endif
