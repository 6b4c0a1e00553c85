//===- QuantReport.h - per-layer quantization records -----------*- C++ -*-===//
#ifndef QCC_DIALECT_QCC_TRANSFORMS_QUANTREPORT_H
#define QCC_DIALECT_QCC_TRANSFORMS_QUANTREPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "qcc/Dialect/Qcc/IR/QccOps.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

namespace qcc {

/// A matmul qcc-quantize-weights rewrites: a constant 2-D f32 right operand.
bool isQuantizableLinear(MatMulOp op);

/// The add of a constant [N] bias right after a linear's matmul, which
/// qcc-quantize-weights folds into the layer; null when there is none.
AddOp linearBiasAdd(MatMulOp op);

/// The name a linear layer goes by in reports and recipes: its ONNX node
/// name, else linear_<index> in program order.
std::string linearLayerName(mlir::Operation *op, int64_t index);

/// Applies a recipe (JSON, see docs/Quantization.md) to the module's
/// quantizable linears as `qcc.quant_override` attributes. Errors (unknown
/// keys, impossible settings, a rule matching no layer) are emitted at the
/// module's location.
mlir::LogicalResult applyQuantRecipe(mlir::ModuleOp module, const llvm::json::Value &recipe);

/// The `qcc.quant_report` records qcc-quantize-weights left on the module's
/// quantized layers, in program order, as JSON objects.
llvm::json::Array collectQuantReport(mlir::ModuleOp module);

/// A readable table of those records.
void printQuantReport(const llvm::json::Array &layers, llvm::raw_ostream &os);

/// The model-level lines of a report's `evaluation` object (outputs versus
/// the float model), if it has one.
void printQuantEvaluation(const llvm::json::Object &summary, llvm::raw_ostream &os);

} // namespace qcc

#endif
