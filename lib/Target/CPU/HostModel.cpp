//===- HostModel.cpp - compiling a module to run in the compiler ----------===//
#include "qcc/Target/CPU/HostModel.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "qcc/Target/CPU/CPUTarget.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>

using namespace mlir;
namespace fs = llvm::sys::fs;
namespace path = llvm::sys::path;

FailureOr<std::vector<std::string>> qcc::listCalibrationSamples(StringRef calibPath,
                                                                Location loc) {
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

FailureOr<qcc::CalibrationSample> qcc::readCalibrationSample(StringRef sample, Location loc) {
  CalibrationSample s;
  if (sample.ends_with(".npz")) {
    auto arrays = readNpz(sample);
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
    auto arr = readNpy(p);
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

/// The artifact's C API (see runtime/include).
struct qcc::HostModel::Api {
  int (*create)(void **);
  void (*destroy)(void *);
  const char *(*lastError)(void *);
  int (*run)(void *, const void *const *, const int64_t *const *);
  int (*output)(void *, int, const void **, const int64_t **);
};

FailureOr<std::unique_ptr<qcc::HostModel>>
qcc::HostModel::compile(ModuleOp module, StringRef function, StringRef name) {
  Location loc = module.getLoc();
  auto func = module.lookupSymbol<func::FuncOp>(function);
  if (!func)
    return emitError(loc) << "no function '" << function << "' to run", failure();
  std::unique_ptr<HostModel> model(new HostModel());
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    auto probe = func.getResultAttrOfType<StringAttr>(i, "qcc.observe");
    model->probeOf.push_back(probe ? probe.str() : "");
  }
  std::string entry = (name + "_forward").str();
  func.setSymName(entry);
  auto signature = getModelSignature(module, entry);
  auto host = resolveCPUTarget(CPUTargetOptions{}, loc);
  if (failed(signature) || failed(host))
    return failure();
  model->sig = *signature;
  {
    PassManager pm(module.getContext());
    buildCPULoweringPipeline(pm, *host);
    if (failed(pm.run(module)))
      return failure();
  }
  SmallString<128> dir;
  if (std::error_code ec = fs::createUniqueDirectory("qcc-host-model", dir))
    return emitError(loc) << "cannot create a temporary directory: " << ec.message(), failure();
  SmallString<128> stem(dir);
  path::append(stem, name);
  ArtifactOptions artifact;
  artifact.name = name.str();
  artifact.outputStem = stem.str().str();
  artifact.compilerVersion = "qcc host model";
  LogicalResult written = writeArtifact(module, *signature, *host, artifact);
  SmallString<128> so(dir);
  path::append(so, "lib" + name + ".so");
  std::string error;
  auto lib = written.succeeded() ? llvm::sys::DynamicLibrary::getLibrary(so.c_str(), &error)
                                 : llvm::sys::DynamicLibrary();
  fs::remove_directories(dir);
  if (failed(written))
    return failure();
  if (!lib.isValid())
    return emitError(loc) << "cannot load the compiled model: " << error, failure();
  auto symbol = [&](StringRef suffix) {
    return lib.getAddressOfSymbol((name + suffix).str().c_str());
  };
  model->api = std::make_unique<Api>();
  Api &api = *model->api;
  api.create = reinterpret_cast<decltype(api.create)>(symbol("_create"));
  api.destroy = reinterpret_cast<decltype(api.destroy)>(symbol("_destroy"));
  api.lastError = reinterpret_cast<decltype(api.lastError)>(symbol("_last_error"));
  api.run = reinterpret_cast<decltype(api.run)>(symbol("_run"));
  api.output = reinterpret_cast<decltype(api.output)>(symbol("_output"));
  if (!api.create || !api.destroy || !api.lastError || !api.run || !api.output)
    return emitError(loc) << "the compiled model lacks its C API", failure();
  if (api.create(&model->instance))
    return emitError(loc) << "cannot create an instance of the compiled model", failure();
  return model;
}

qcc::HostModel::~HostModel() {
  if (instance)
    api->destroy(instance);
}

LogicalResult qcc::HostModel::run(const CalibrationSample &sample, StringRef sampleName,
                                  Location loc) {
  std::vector<const void *> ins;
  std::vector<const int64_t *> shapes;
  for (const TensorSignature &t : sig.inputs) {
    auto it = sample.find(t.name);
    if (it == sample.end())
      return emitError(loc) << "calibration sample '" << sampleName
                            << "' has no array for input '" << t.name << "'";
    const NpyArray &a = it->second;
    if (a.dtype != t.dtype || a.shape.size() != t.dims.size())
      return emitError(loc) << "calibration sample '" << sampleName << "', input '" << t.name
                            << "': got " << manifestDtypeName(a.dtype) << " of rank "
                            << a.shape.size() << ", the model takes "
                            << manifestDtypeName(t.dtype) << " of rank " << t.dims.size();
    ins.push_back(a.data.data());
    shapes.push_back(a.shape.data());
  }
  for (auto &kv : sample)
    if (llvm::none_of(sig.inputs, [&](const TensorSignature &t) { return t.name == kv.getKey(); }))
      return emitError(loc) << "calibration sample '" << sampleName << "' has an array '"
                            << kv.getKey() << "' that is not a model input";
  if (api->run(instance, ins.data(), shapes.data()))
    return emitError(loc) << "calibration sample '" << sampleName
                          << "': the model rejected it: " << api->lastError(instance);
  return success();
}

int64_t qcc::HostModel::Output::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

qcc::HostModel::Output qcc::HostModel::output(unsigned i) const {
  Output out;
  const void *data = nullptr;
  const int64_t *shape = nullptr;
  if (i >= sig.outputs.size() || api->output(instance, int(i), &data, &shape))
    return out;
  out.shape.assign(shape, shape + sig.outputs[i].dims.size());
  if (sig.outputs[i].dtype == 1 /*FLOAT*/)
    out.data = static_cast<const float *>(data);
  return out;
}
