//===- Passes.h - qcc conversion passes -------------------------*- C++ -*-===//
#ifndef QCC_CONVERSION_PASSES_H
#define QCC_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace qcc {
#define GEN_PASS_DECL
#include "qcc/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qcc/Conversion/Passes.h.inc"
} // namespace qcc

#endif
