//===- Evaluate.h - measured quantization error ----------------*- C++ -*-===//
#ifndef QCC_TARGET_CPU_EVALUATE_H
#define QCC_TARGET_CPU_EVALUATE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

#include <map>
#include <string>
#include <vector>

namespace qcc {

/// How far one quantized model output is from the float model's.
struct OutputError {
  std::string name;
  int64_t samples = 0;
  double cosineSum = 0, cosineMin = 1;
  /// For language-model logits (an output whose name contains "logits"):
  /// KL(float || quantized) of the next-token distributions, one per
  /// position (each row of the last axis), in nats.
  int64_t klCount = 0;
  double klSum = 0, klMax = 0;
};

struct Evaluation {
  int64_t samples = 0;
  /// Per layer: sum of squares of the float output and of the difference.
  std::map<std::string, std::pair<double, double>> layers;
  std::vector<OutputError> outputs;
};

/// Compiles `floatModule` and `quantModule` (neither is modified) for the
/// host with a probe on every linear layer's output, runs both on every
/// sample of `calibPath` (see listCalibrationSamples), and measures each
/// layer's output and each model output against the float model. Memory
/// holds one sample's outputs, whatever the set's size.
mlir::FailureOr<Evaluation> evaluateQuantization(mlir::ModuleOp floatModule,
                                                 mlir::ModuleOp quantModule,
                                                 llvm::StringRef function,
                                                 llvm::StringRef calibPath);

/// Adds the measurement to a quantization summary: `measured_sqnr_db` on
/// each layer of `summary.layers`, and `summary.evaluation` with the model
/// outputs' cosine similarity and next-token KL.
void addEvaluation(llvm::json::Object &summary, const Evaluation &evaluation);

} // namespace qcc

#endif
