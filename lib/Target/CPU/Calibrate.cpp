//===- Calibrate.cpp - running a float model on calibration samples -------===//
#include "qcc/Target/CPU/Calibrate.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Pass/PassManager.h"
#include "qcc/Dialect/Qcc/Transforms/Passes.h"
#include "qcc/Dialect/Qcc/Transforms/QuantReport.h"
#include "qcc/Support/Npy.h"
#include "qcc/Target/CPU/Artifact.h"
#include "qcc/Target/CPU/CPUTarget.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
namespace fs = llvm::sys::fs;
namespace path = llvm::sys::path;

namespace {

using Sample = llvm::StringMap<qcc::NpyArray>;

/// The samples a --calib path names, in order.
FailureOr<std::vector<std::string>> listSamples(StringRef calibPath, Location loc) {
  std::vector<std::string> samples;
  if (fs::is_directory(calibPath)) {
    std::error_code ec;
    for (fs::directory_iterator it(calibPath, ec), end; it != end && !ec; it.increment(ec)) {
      StringRef p = it->path();
      if (fs::is_directory(p) || p.ends_with(".npz"))
        samples.push_back(p.str());
    }
    if (ec)
      return emitError(loc) << "cannot list calibration directory '" << calibPath
                            << "': " << ec.message(),
             failure();
    std::sort(samples.begin(), samples.end());
  } else if (calibPath.ends_with(".npz")) {
    samples.push_back(calibPath.str());
  } else {
    auto buf = llvm::MemoryBuffer::getFile(calibPath);
    if (!buf)
      return emitError(loc) << "cannot read calibration set '" << calibPath
                            << "': " << buf.getError().message(),
             failure();
    SmallVector<StringRef> lines;
    (*buf)->getBuffer().split(lines, '\n', -1, false);
    for (StringRef line : lines) {
      line = line.trim();
      if (line.empty() || line.starts_with("#"))
        continue;
      SmallString<256> p(line);
      if (path::is_relative(p)) {
        p = path::parent_path(calibPath);
        path::append(p, line);
      }
      samples.push_back(p.str().str());
    }
  }
  if (samples.empty())
    return emitError(loc) << "calibration set '" << calibPath
                          << "' has no samples (.npz files or directories of .npy files)",
           failure();
  return samples;
}

FailureOr<Sample> readSample(StringRef sample, Location loc) {
  Sample s;
  if (sample.ends_with(".npz")) {
    auto arrays = qcc::readNpz(sample);
    if (!arrays)
      return emitError(loc) << llvm::toString(arrays.takeError()), failure();
    for (auto &[name, arr] : *arrays)
      s[name] = std::move(arr);
    return s;
  }
  std::error_code ec;
  for (fs::directory_iterator it(sample, ec), end; it != end && !ec; it.increment(ec)) {
    StringRef p = it->path();
    if (!p.ends_with(".npy"))
      continue;
    auto arr = qcc::readNpy(p);
    if (!arr)
      return emitError(loc) << llvm::toString(arr.takeError()), failure();
    s[path::stem(p)] = std::move(*arr);
  }
  if (ec)
    return emitError(loc) << "cannot read calibration sample '" << sample
                          << "': " << ec.message(),
           failure();
  return s;
}

template <typename T> T symbol(llvm::sys::DynamicLibrary &lib, const std::string &name) {
  return reinterpret_cast<T>(lib.getAddressOfSymbol(name.c_str()));
}

} // namespace

FailureOr<qcc::Calibration> qcc::calibrate(ModuleOp module, StringRef function,
                                           StringRef calibPath) {
  Location loc = module.getLoc();
  auto samples = listSamples(calibPath, loc);
  if (failed(samples))
    return failure();

  // The float model with every linear's input as an extra output, for the host.
  OwningOpRef<ModuleOp> probe = module.clone();
  const std::string name = "qcc_calibration";
  auto func = probe->lookupSymbol<func::FuncOp>(function);
  if (!func)
    return emitError(loc) << "no function '" << function << "' to calibrate", failure();
  {
    PassManager pm(module.getContext());
    pm.addNestedPass<func::FuncOp>(createQccInsertObservers());
    pm.addPass(createQccExposeObservers());
    if (failed(pm.run(*probe)))
      return failure();
  }
  std::string entry = name + "_forward";
  func.setSymName(entry);
  auto signature = getModelSignature(*probe, entry);
  auto host = resolveCPUTarget(CPUTargetOptions{}, loc);
  if (failed(signature) || failed(host))
    return failure();
  std::vector<std::string> layerOf(signature->outputs.size());
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    if (auto l = func.getResultAttrOfType<StringAttr>(i, "qcc.observe"))
      layerOf[i] = l.str();
  {
    PassManager pm(module.getContext());
    buildCPULoweringPipeline(pm, *host);
    if (failed(pm.run(*probe)))
      return failure();
  }
  SmallString<128> dir;
  if (std::error_code ec = fs::createUniqueDirectory("qcc-calibration", dir))
    return emitError(loc) << "cannot create a temporary directory: " << ec.message(), failure();
  SmallString<128> stem(dir);
  path::append(stem, name);
  ArtifactOptions artifact;
  artifact.name = name;
  artifact.outputStem = stem.str().str();
  artifact.sourcePath = "";
  artifact.compilerVersion = "qcc calibration";
  LogicalResult written = writeArtifact(*probe, *signature, *host, artifact);
  SmallString<128> so(dir);
  path::append(so, "lib" + name + ".so");
  std::string error;
  auto lib = written.succeeded()
                 ? llvm::sys::DynamicLibrary::getLibrary(so.c_str(), &error)
                 : llvm::sys::DynamicLibrary();
  fs::remove_directories(dir);
  if (failed(written))
    return failure();
  if (!lib.isValid())
    return emitError(loc) << "cannot load the calibration model: " << error, failure();

  using CreateFn = int (*)(void **);
  using DestroyFn = void (*)(void *);
  using ErrorFn = const char *(*)(void *);
  using RunFn = int (*)(void *, const void *const *, const int64_t *const *);
  using OutputFn = int (*)(void *, int, const void **, const int64_t **);
  auto create = symbol<CreateFn>(lib, name + "_create");
  auto destroy = symbol<DestroyFn>(lib, name + "_destroy");
  auto lastError = symbol<ErrorFn>(lib, name + "_last_error");
  auto run = symbol<RunFn>(lib, name + "_run");
  auto output = symbol<OutputFn>(lib, name + "_output");
  if (!create || !destroy || !lastError || !run || !output)
    return emitError(loc) << "the calibration model lacks its C API", failure();
  void *inst = nullptr;
  if (create(&inst))
    return emitError(loc) << "cannot create the calibration model instance", failure();

  Calibration result;
  bool progress = llvm::sys::Process::StandardErrIsDisplayed();
  LogicalResult status = success();
  for (auto [n, sample] : llvm::enumerate(*samples)) {
    if (progress)
      llvm::errs() << "\rcalibrating: sample " << n + 1 << "/" << samples->size();
    auto s = readSample(sample, loc);
    if (failed(s)) {
      status = failure();
      break;
    }
    std::vector<const void *> ins;
    std::vector<const int64_t *> shapes;
    for (const TensorSignature &t : signature->inputs) {
      auto it = s->find(t.name);
      if (it == s->end()) {
        status = emitError(loc) << "calibration sample '" << sample << "' has no array for input '"
                                << t.name << "'";
        break;
      }
      NpyArray &a = it->second;
      if (a.dtype != t.dtype || a.shape.size() != t.dims.size()) {
        status = emitError(loc) << "calibration sample '" << sample << "', input '" << t.name
                                << "': got " << manifestDtypeName(a.dtype) << " of rank "
                                << a.shape.size() << ", the model takes "
                                << manifestDtypeName(t.dtype) << " of rank " << t.dims.size();
        break;
      }
      ins.push_back(a.data.data());
      shapes.push_back(a.shape.data());
    }
    if (failed(status))
      break;
    for (auto &kv : *s)
      if (llvm::none_of(signature->inputs,
                        [&](const TensorSignature &t) { return t.name == kv.getKey(); })) {
        status = emitError(loc) << "calibration sample '" << sample << "' has an array '"
                                << kv.getKey() << "' that is not a model input";
        break;
      }
    if (failed(status))
      break;
    if (run(inst, ins.data(), shapes.data())) {
      status = emitError(loc) << "calibration sample '" << sample
                              << "': the model rejected it: " << lastError(inst);
      break;
    }
    for (auto [i, layer] : llvm::enumerate(layerOf)) {
      if (layer.empty())
        continue;
      const void *data;
      const int64_t *shape;
      if (output(inst, i, &data, &shape))
        continue;
      int64_t rank = signature->outputs[i].dims.size(), numel = 1;
      for (int64_t d = 0; d < rank; ++d)
        numel *= shape[d];
      int64_t k = rank ? shape[rank - 1] : 1;
      LayerCalibration &lc = result.layers[layer];
      if (lc.k == 0) {
        lc.k = k;
        lc.xtx.assign(k * k, 0.0);
      }
      const float *x = static_cast<const float *>(data);
      lc.hist.add(x, numel);
      std::vector<double> row(k);
      for (int64_t r = 0; r < (k ? numel / k : 0); ++r) {
        for (int64_t a = 0; a < k; ++a)
          row[a] = x[r * k + a];
        for (int64_t a = 0; a < k; ++a) {
          double va = row[a];
          if (va == 0)
            continue;
          double *out = &lc.xtx[a * k];
          for (int64_t b = a; b < k; ++b)
            out[b] += va * row[b];
        }
      }
      lc.rows += k ? numel / k : 0;
    }
    ++result.samples;
  }
  if (progress)
    llvm::errs() << "\n";
  destroy(inst);
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
