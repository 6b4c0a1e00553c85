//===- Passes.h - qcc dialect passes ----------------------------*- C++ -*-===//
#ifndef QCC_DIALECT_QCC_TRANSFORMS_PASSES_H
#define QCC_DIALECT_QCC_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "qcc/Dialect/Qcc/IR/QccOps.h"

namespace qcc {
#define GEN_PASS_DECL
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

#endif
