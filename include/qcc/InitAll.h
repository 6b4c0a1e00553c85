//===- InitAll.h - register qcc dialects and passes -------------*- C++ -*-===//
#ifndef QCC_INITALL_H
#define QCC_INITALL_H

#include "mlir/IR/DialectRegistry.h"

namespace qcc {
/// Dialects a qcc module may contain.
void registerAllDialects(mlir::DialectRegistry &registry);
/// qcc's passes plus the upstream ones our pipelines use.
void registerAllPasses();
} // namespace qcc

#endif
