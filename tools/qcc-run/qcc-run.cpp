//===- qcc-run.cpp - run any compiled model artifact ----------------------===//
//
//   qcc-run out/libmodel.so --input name=file.npy ... [--output-dir dir]
//           [--bench N] [--num-threads T] [--name model]
//
// Loads the shared library, finds the model's prefix from the manifest
// beside it (or --name), reads inputs from .npy files, runs, writes each
// output as <dir>/<output name>.npy and prints timings.
//
//===----------------------------------------------------------------------===//
#include "qcc/Support/Npy.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

using namespace llvm;

namespace {
cl::opt<std::string> libraryPath(cl::Positional, cl::desc("<libmodel.so>"), cl::Required);
cl::list<std::string> inputArgs("input", cl::desc("name=file.npy"), cl::value_desc("name=file"));
cl::opt<std::string> outputDir("output-dir", cl::desc("Write outputs as .npy here"), cl::init(""));
cl::opt<unsigned> benchRuns("bench", cl::desc("Time this many runs"), cl::init(0));
cl::opt<int> numThreads("num-threads", cl::desc("Thread count"), cl::init(0));
cl::opt<std::string> nameOpt("name", cl::desc("Model prefix (default: from the manifest)"),
                             cl::init(""));

[[noreturn]] void die(const Twine &msg) {
  errs() << "qcc-run: error: " << msg << "\n";
  exit(1);
}

template <typename T> T lookup(sys::DynamicLibrary &lib, const std::string &sym) {
  void *p = lib.getAddressOfSymbol(sym.c_str());
  if (!p)
    die("the library has no symbol '" + sym + "' (wrong --name?)");
  return reinterpret_cast<T>(p);
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "run a model compiled by qcc\n");

  std::string name = nameOpt;
  if (name.empty()) {
    // libfoo.so -> foo.json beside it.
    StringRef file = sys::path::filename(libraryPath);
    StringRef stem = sys::path::stem(file);
    if (stem.starts_with("lib"))
      stem = stem.drop_front(3);
    SmallString<256> manifest(sys::path::parent_path(libraryPath));
    sys::path::append(manifest, stem + ".json");
    auto buf = MemoryBuffer::getFile(manifest);
    if (!buf)
      die("no manifest '" + manifest + "'; pass --name");
    auto json = json::parse((*buf)->getBuffer());
    if (!json)
      die("cannot parse '" + manifest + "': " + toString(json.takeError()));
    auto n = json->getAsObject() ? json->getAsObject()->getString("name") : std::nullopt;
    if (!n)
      die("'" + manifest + "' names no model");
    name = n->str();
  }

  std::string err;
  auto lib = sys::DynamicLibrary::getPermanentLibrary(libraryPath.c_str(), &err);
  if (!lib.isValid())
    die("cannot load '" + libraryPath + "': " + err);
  using CreateFn = int (*)(void **);
  using DestroyFn = void (*)(void *);
  using ErrorFn = const char *(*)(void *);
  using CountFn = int (*)();
  using NameFn = const char *(*)(int);
  using IntFn = int (*)(int);
  using RunFn = int (*)(void *, const void *const *, const int64_t *const *);
  using OutputFn = int (*)(void *, int, const void **, const int64_t **);
  using ThreadsFn = int (*)(void *, int);
  auto create = lookup<CreateFn>(lib, name + "_create");
  auto destroy = lookup<DestroyFn>(lib, name + "_destroy");
  auto lastError = lookup<ErrorFn>(lib, name + "_last_error");
  auto numInputs = lookup<CountFn>(lib, name + "_num_inputs")();
  auto numOutputs = lookup<CountFn>(lib, name + "_num_outputs")();
  auto inputName = lookup<NameFn>(lib, name + "_input_name");
  auto inputDtype = lookup<IntFn>(lib, name + "_input_dtype");
  auto inputRank = lookup<IntFn>(lib, name + "_input_rank");
  auto outputName = lookup<NameFn>(lib, name + "_output_name");
  auto outputDtype = lookup<IntFn>(lib, name + "_output_dtype");
  auto outputRank = lookup<IntFn>(lib, name + "_output_rank");
  auto runFn = lookup<RunFn>(lib, name + "_run");
  auto outputFn = lookup<OutputFn>(lib, name + "_output");
  auto setThreads = lookup<ThreadsFn>(lib, name + "_set_num_threads");

  StringMap<qcc::NpyArray> given;
  for (const std::string &arg : inputArgs) {
    auto [key, file] = StringRef(arg).split('=');
    if (key.empty() || file.empty())
      die("--input expects name=file.npy, got '" + arg + "'");
    auto arr = qcc::readNpy(file);
    if (!arr)
      die(toString(arr.takeError()));
    given[key] = std::move(*arr);
  }
  std::vector<const void *> inputs(numInputs);
  std::vector<const int64_t *> shapes(numInputs);
  for (int i = 0; i < numInputs; ++i) {
    auto it = given.find(inputName(i));
    if (it == given.end())
      die("missing --input for model input '" + Twine(inputName(i)) + "'");
    qcc::NpyArray &npy = it->second;
    if (npy.dtype != inputDtype(i))
      die("input '" + Twine(inputName(i)) + "' has the wrong element type");
    if ((int)npy.shape.size() != inputRank(i))
      die("input '" + Twine(inputName(i)) + "' must have rank " + Twine(inputRank(i)));
    inputs[i] = npy.data.data();
    shapes[i] = npy.shape.data();
  }
  if ((int)given.size() != numInputs)
    for (auto &kv : given) {
      bool known = false;
      for (int i = 0; i < numInputs; ++i)
        known |= kv.getKey() == inputName(i);
      if (!known)
        die("the model has no input '" + kv.getKey() + "'");
    }

  void *instance = nullptr;
  if (create(&instance))
    die("cannot create an instance");
  if (numThreads > 0 && setThreads(instance, numThreads))
    die(lastError(instance));
  auto start = std::chrono::steady_clock::now();
  if (runFn(instance, inputs.data(), shapes.data()))
    die(lastError(instance));
  double first = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  outs() << "run: " << format("%.3f", first) << " ms\n";

  if (benchRuns > 0) {
    std::vector<double> times;
    for (unsigned r = 0; r < benchRuns; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      if (runFn(instance, inputs.data(), shapes.data()))
        die(lastError(instance));
      times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    double sum = 0;
    for (double t : times)
      sum += t;
    outs() << "bench: " << benchRuns << " runs, median " << format("%.3f", times[times.size() / 2])
           << " ms, min " << format("%.3f", times.front()) << " ms, mean "
           << format("%.3f", sum / times.size()) << " ms\n";
  }

  for (int i = 0; i < numOutputs; ++i) {
    const void *data;
    const int64_t *shape;
    if (outputFn(instance, i, &data, &shape))
      die(lastError(instance));
    std::vector<int64_t> dims(shape, shape + outputRank(i));
    outs() << "output " << outputName(i) << ": [";
    for (size_t d = 0; d < dims.size(); ++d)
      outs() << (d ? ", " : "") << dims[d];
    outs() << "]\n";
    if (!outputDir.empty()) {
      if (auto ec = sys::fs::create_directories(outputDir))
        die("cannot create '" + outputDir + "': " + ec.message());
      SmallString<256> p(outputDir);
      sys::path::append(p, std::string(outputName(i)) + ".npy");
      if (Error e = qcc::writeNpy(p, outputDtype(i), dims, data))
        die(toString(std::move(e)));
    }
  }
  destroy(instance);
  return 0;
}
