//===- Calibrate.h - running a float model on calibration samples -*- C++ -*-===//
#ifndef QCC_TARGET_CPU_CALIBRATE_H
#define QCC_TARGET_CPU_CALIBRATE_H

#include "mlir/IR/BuiltinOps.h"
#include "qcc/Support/ActivationRange.h"

#include <map>
#include <string>
#include <vector>

namespace qcc {

/// What one linear layer's input looked like over the calibration set.
struct LayerCalibration {
  int64_t k = 0;            // input features
  int64_t rows = 0;         // activation rows (tokens) seen
  std::vector<double> xtx;  // sum over rows of x x^T, K x K
  AbsHistogram hist;        // of |x|, for the activation range
};

struct Calibration {
  int64_t samples = 0;
  std::map<std::string, LayerCalibration> layers; // by layer name
};

/// Compiles `module` (the float model; not modified) for the host with a
/// probe on every quantizable linear's input, runs it on each sample of
/// `calibPath` and returns streaming statistics: memory holds one sample's
/// activations and the per-layer sums, whatever the set's size.
///
/// `calibPath` is a directory of samples, each an .npz file or a directory
/// of <input name>.npy files (taken in name order), or a text file listing
/// such sample paths one per line (relative to the list's directory).
/// Missing, unreadable or mismatched samples are errors naming the file.
mlir::FailureOr<Calibration> calibrate(mlir::ModuleOp module, llvm::StringRef function,
                                       llvm::StringRef calibPath);

/// Attaches to the quantizable linears of `module`, for
/// qcc-quantize-weights: each layer's X^T X / rows as `qcc.calib_hessian`
/// (f32 [K, K]), its largest |x| (`qcc.calib_absmax`), and the activation
/// range `method` chooses (`qcc.calib_range`) with the fraction of the
/// calibration values beyond it (`qcc.calib_clipped`).
void attachCalibration(mlir::ModuleOp module, const Calibration &calibration,
                       RangeMethod method, double percentile);

} // namespace qcc

#endif
