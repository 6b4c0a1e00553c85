//===- Evaluate.cpp - measured quantization error -------------------------===//
//
// The report's per-layer figures from the weights alone cannot see the error
// activations add, nor how errors accumulate through the model: here both
// models run on the calibration set and their outputs are compared.
//
//===----------------------------------------------------------------------===//
#include "qcc/Target/CPU/Evaluate.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "qcc/Dialect/Qcc/Transforms/Passes.h"
#include "qcc/Target/CPU/HostModel.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;

namespace {

/// `module` cloned with every linear layer's output exposed, compiled.
FailureOr<std::unique_ptr<qcc::HostModel>> probedModel(ModuleOp module, StringRef function,
                                                       StringRef name) {
  OwningOpRef<ModuleOp> probe = module.clone();
  PassManager pm(module.getContext());
  qcc::QccInsertObserversOptions options;
  options.probe = "outputs";
  pm.addNestedPass<func::FuncOp>(qcc::createQccInsertObservers(options));
  pm.addPass(qcc::createQccExposeObservers());
  if (failed(pm.run(*probe)))
    return failure();
  return qcc::HostModel::compile(*probe, function, name);
}

/// KL(p || q) of the softmax distributions of two logit rows, in nats.
double klDivergence(const float *p, const float *q, int64_t n) {
  auto logSumExp = [n](const float *x) {
    double m = -INFINITY;
    for (int64_t i = 0; i < n; ++i)
      m = std::max(m, double(x[i]));
    double s = 0;
    for (int64_t i = 0; i < n; ++i)
      s += std::exp(double(x[i]) - m);
    return m + std::log(s);
  };
  double lp = logSumExp(p), lq = logSumExp(q), kl = 0;
  for (int64_t i = 0; i < n; ++i) {
    double a = double(p[i]) - lp, b = double(q[i]) - lq;
    kl += std::exp(a) * (a - b);
  }
  return std::max(kl, 0.0);
}

} // namespace

FailureOr<qcc::Evaluation> qcc::evaluateQuantization(ModuleOp floatModule, ModuleOp quantModule,
                                                     StringRef function, StringRef calibPath) {
  Location loc = quantModule.getLoc();
  auto samples = listCalibrationSamples(calibPath, loc);
  if (failed(samples))
    return failure();
  auto reference = probedModel(floatModule, function, "qcc_eval_float");
  if (failed(reference))
    return failure();
  auto quantized = probedModel(quantModule, function, "qcc_eval_quant");
  if (failed(quantized))
    return failure();
  HostModel &f = **reference, &q = **quantized;

  // Model outputs come first in both, then the probes, matched by name.
  Evaluation result;
  std::vector<std::pair<unsigned, unsigned>> layerOutputs;
  for (auto [i, name] : llvm::enumerate(f.probes())) {
    if (name.empty()) {
      OutputError o;
      o.name = f.signature().outputs[i].name;
      result.outputs.push_back(o);
      continue;
    }
    auto it = llvm::find(q.probes(), name);
    if (it != q.probes().end())
      layerOutputs.push_back({unsigned(i), unsigned(it - q.probes().begin())});
  }

  bool progress = llvm::sys::Process::StandardErrIsDisplayed();
  for (auto [n, sample] : llvm::enumerate(*samples)) {
    if (progress)
      llvm::errs() << "\rmeasuring the quantization error: sample " << n + 1 << "/"
                   << samples->size();
    auto s = readCalibrationSample(sample, loc);
    if (failed(s) || failed(f.run(*s, sample, loc)) || failed(q.run(*s, sample, loc)))
      return failure();
    for (auto [fi, qi] : layerOutputs) {
      HostModel::Output a = f.output(fi), b = q.output(qi);
      if (!a.data || !b.data || a.shape != b.shape)
        continue;
      auto &[signal, noise] = result.layers[f.probes()[fi]];
      for (int64_t i = 0, e = a.numel(); i < e; ++i) {
        double d = double(a.data[i]) - double(b.data[i]);
        signal += double(a.data[i]) * a.data[i];
        noise += d * d;
      }
    }
    for (auto [i, o] : llvm::enumerate(result.outputs)) {
      HostModel::Output a = f.output(i), b = q.output(i);
      if (!a.data || !b.data || a.shape != b.shape)
        continue;
      double dot = 0, na = 0, nb = 0;
      for (int64_t k = 0, e = a.numel(); k < e; ++k) {
        dot += double(a.data[k]) * b.data[k];
        na += double(a.data[k]) * a.data[k];
        nb += double(b.data[k]) * b.data[k];
      }
      double cosine = na == 0 && nb == 0 ? 1.0 : dot / std::sqrt(na * nb);
      o.cosineSum += cosine;
      o.cosineMin = std::min(o.cosineMin, cosine);
      ++o.samples;
      // Next-token distributions: every position's row of the vocabulary.
      if (StringRef(o.name).contains_insensitive("logits") && !a.shape.empty() &&
          a.shape.back() > 0) {
        int64_t vocab = a.shape.back();
        for (int64_t r = 0, rows = a.numel() / vocab; r < rows; ++r) {
          double kl = klDivergence(a.data + r * vocab, b.data + r * vocab, vocab);
          o.klSum += kl;
          o.klMax = std::max(o.klMax, kl);
          ++o.klCount;
        }
      }
    }
    ++result.samples;
  }
  if (progress)
    llvm::errs() << "\n";
  return result;
}

void qcc::addEvaluation(llvm::json::Object &summary, const Evaluation &evaluation) {
  if (llvm::json::Array *layers = summary.getArray("layers"))
    for (llvm::json::Value &v : *layers) {
      llvm::json::Object &o = *v.getAsObject();
      std::optional<StringRef> name = o.getString("layer");
      auto it = name ? evaluation.layers.find(name->str()) : evaluation.layers.end();
      if (it == evaluation.layers.end())
        continue;
      auto [signal, noise] = it->second;
      o["measured_sqnr_db"] = noise == 0 ? llvm::json::Value(nullptr)
                                         : llvm::json::Value(10 * std::log10(signal / noise));
    }
  llvm::json::Array outputs;
  for (const OutputError &o : evaluation.outputs) {
    if (o.samples == 0)
      continue;
    llvm::json::Object e{{"name", o.name},
                         {"cosine_mean", o.cosineSum / double(o.samples)},
                         {"cosine_min", o.cosineMin}};
    if (o.klCount) {
      e["next_token_kl_mean"] = o.klSum / double(o.klCount);
      e["next_token_kl_max"] = o.klMax;
    }
    outputs.push_back(std::move(e));
  }
  summary["evaluation"] =
      llvm::json::Object{{"samples", evaluation.samples}, {"outputs", std::move(outputs)}};
}
