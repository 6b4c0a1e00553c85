//===- Calibrate.cpp - running a float model on calibration samples -------===//
#include "qcc/Target/CPU/Calibrate.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Pass/PassManager.h"
#include "qcc/Dialect/Qcc/Transforms/Passes.h"
#include "qcc/Dialect/Qcc/Transforms/QuantReport.h"
#include "qcc/Target/CPU/HostModel.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

FailureOr<qcc::Calibration> qcc::calibrate(ModuleOp module, StringRef function,
                                           StringRef calibPath) {
  Location loc = module.getLoc();
  auto samples = listCalibrationSamples(calibPath, loc);
  if (failed(samples))
    return failure();

  // The float model with every linear's input as an extra output.
  OwningOpRef<ModuleOp> probe = module.clone();
  {
    PassManager pm(module.getContext());
    pm.addNestedPass<func::FuncOp>(createQccInsertObservers());
    pm.addPass(createQccExposeObservers());
    if (failed(pm.run(*probe)))
      return failure();
  }
  auto model = HostModel::compile(*probe, function, "qcc_calibration");
  if (failed(model))
    return failure();

  Calibration result;
  bool progress = llvm::sys::Process::StandardErrIsDisplayed();
  LogicalResult status = success();
  for (auto [n, sample] : llvm::enumerate(*samples)) {
    if (progress)
      llvm::errs() << "\rcalibrating: sample " << n + 1 << "/" << samples->size();
    auto s = readCalibrationSample(sample, loc);
    if (failed(s) || failed((*model)->run(*s, sample, loc))) {
      status = failure();
      break;
    }
    for (auto [i, layer] : llvm::enumerate((*model)->probes())) {
      if (layer.empty())
        continue;
      HostModel::Output out = (*model)->output(i);
      if (!out.data)
        continue;
      int64_t numel = out.numel();
      int64_t k = out.shape.empty() ? 1 : out.shape.back();
      LayerCalibration &lc = result.layers[layer];
      if (lc.k == 0) {
        lc.k = k;
        lc.xtx.assign(k * k, 0.0);
      }
      const float *x = out.data;
      lc.hist.add(x, numel);
      std::vector<double> row(k);
      for (int64_t r = 0; r < (k ? numel / k : 0); ++r) {
        for (int64_t a = 0; a < k; ++a)
          row[a] = x[r * k + a];
        for (int64_t a = 0; a < k; ++a) {
          double va = row[a];
          if (va == 0)
            continue;
          double *acc = &lc.xtx[a * k];
          for (int64_t b = a; b < k; ++b)
            acc[b] += va * row[b];
        }
      }
      lc.rows += k ? numel / k : 0;
    }
    ++result.samples;
  }
  if (progress)
    llvm::errs() << "\n";
  if (failed(status))
    return failure();
  // Only the upper triangle was summed.
  for (auto &[layer, lc] : result.layers)
    for (int64_t a = 0; a < lc.k; ++a)
      for (int64_t b = 0; b < a; ++b)
        lc.xtx[a * lc.k + b] = lc.xtx[b * lc.k + a];
  return result;
}

void qcc::attachCalibration(ModuleOp module, const Calibration &calibration,
                            RangeMethod method, double percentile) {
  module.walk([&](func::FuncOp f) {
    int64_t index = 0;
    f.walk([&](MatMulOp op) {
      if (!isQuantizableLinear(op))
        return;
      auto it = calibration.layers.find(linearLayerName(op, index++));
      if (it == calibration.layers.end() || it->second.rows == 0)
        return;
      const LayerCalibration &lc = it->second;
      std::vector<float> h(lc.xtx.size());
      for (size_t i = 0; i < h.size(); ++i)
        h[i] = float(lc.xtx[i] / double(lc.rows));
      auto type = RankedTensorType::get({lc.k, lc.k}, Float32Type::get(op.getContext()));
      op->setAttr("qcc.calib_hessian", DenseElementsAttr::get(type, llvm::ArrayRef(h)));
      auto f64 = Float64Type::get(op.getContext());
      ActivationRange range = chooseRange(lc.hist, method, percentile);
      op->setAttr("qcc.calib_absmax", FloatAttr::get(f64, lc.hist.absMax()));
      op->setAttr("qcc.calib_range", FloatAttr::get(f64, range.threshold));
      op->setAttr("qcc.calib_clipped", FloatAttr::get(f64, range.clipped));
    });
  });
}
