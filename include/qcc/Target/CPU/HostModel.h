//===- HostModel.h - compiling a module to run in the compiler -*- C++ -*-===//
//
// Calibration and the error report run models on calibration samples inside
// the compiler: the module is compiled by qcc's own CPU path for the host,
// loaded in-process, and fed one sample at a time.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_TARGET_CPU_HOSTMODEL_H
#define QCC_TARGET_CPU_HOSTMODEL_H

#include "mlir/IR/BuiltinOps.h"
#include "qcc/Support/Npy.h"
#include "qcc/Target/CPU/Artifact.h"
#include "llvm/ADT/StringMap.h"

#include <memory>
#include <string>
#include <vector>

namespace qcc {

/// One calibration sample: an array per model input, by input name.
using CalibrationSample = llvm::StringMap<NpyArray>;

/// The samples a --calib path names, in order: a directory of samples (each
/// an .npz file or a directory of <input name>.npy files), one .npz file, or
/// a text file listing sample paths one per line (relative to the list).
mlir::FailureOr<std::vector<std::string>> listCalibrationSamples(llvm::StringRef calibPath,
                                                                 mlir::Location loc);

mlir::FailureOr<CalibrationSample> readCalibrationSample(llvm::StringRef sample,
                                                         mlir::Location loc);

class HostModel {
public:
  /// Compiles function `function` of `module` (lowered in place) for the
  /// host as a library whose C symbols start with `name`, and loads it.
  static mlir::FailureOr<std::unique_ptr<HostModel>>
  compile(mlir::ModuleOp module, llvm::StringRef function, llvm::StringRef name);
  ~HostModel();
  HostModel(const HostModel &) = delete;
  HostModel &operator=(const HostModel &) = delete;

  /// Runs the model on `sample`; wrong, missing or extra arrays are errors
  /// naming the sample (`sampleName`) and the input.
  mlir::LogicalResult run(const CalibrationSample &sample, llvm::StringRef sampleName,
                          mlir::Location loc);

  /// Output `i` of the last run: its f32 data (null for other dtypes) and
  /// its shape.
  struct Output {
    const float *data = nullptr;
    std::vector<int64_t> shape;
    int64_t numel() const;
  };
  Output output(unsigned i) const;

  const ModelSignature &signature() const { return sig; }
  /// Per output, the `qcc.observe` probe name it exposes ("" for the
  /// model's own outputs).
  const std::vector<std::string> &probes() const { return probeOf; }

private:
  HostModel() = default;
  struct Api;
  std::unique_ptr<Api> api;
  void *instance = nullptr;
  ModelSignature sig;
  std::vector<std::string> probeOf;
};

} // namespace qcc

#endif
