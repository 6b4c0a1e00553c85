//===- QuantReport.h - per-layer quantization records -----------*- C++ -*-===//
#ifndef QCC_DIALECT_QCC_TRANSFORMS_QUANTREPORT_H
#define QCC_DIALECT_QCC_TRANSFORMS_QUANTREPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

namespace qcc {

/// The `qcc.quant_report` records qcc-quantize-weights left on the module's
/// quantized layers, in program order, as JSON objects.
llvm::json::Array collectQuantReport(mlir::ModuleOp module);

/// A readable table of those records.
void printQuantReport(const llvm::json::Array &layers, llvm::raw_ostream &os);

} // namespace qcc

#endif
