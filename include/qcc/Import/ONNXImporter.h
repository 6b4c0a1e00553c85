//===- ONNXImporter.h - ONNX to qcc import -----------------------*- C++ -*-===//
#ifndef QCC_IMPORT_ONNXIMPORTER_H
#define QCC_IMPORT_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace qcc {

struct ImportOptions {
  /// Fixes named symbolic dims (ONNX dim_param) to a value, e.g. batch=1.
  llvm::StringMap<int64_t> dimValues;
  /// Name of the imported function.
  std::string functionName = "main";
};

/// Reads an ONNX model (with external data resolved relative to the model's
/// directory) and imports its main graph into a new module holding one
/// func.func of qcc ops. On failure, diagnostics naming the offending node or
/// file have been emitted to the context's handler and failure is returned.
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
importONNXFile(mlir::MLIRContext &context, llvm::StringRef path,
               const ImportOptions &options = {});

/// The newest default-domain opset the importer knows. Models may declare
/// any opset from 13 up to this.
constexpr int64_t kMaxSupportedOpset = 28;
constexpr int64_t kMinSupportedOpset = 13;

} // namespace qcc

#endif
