//===- Artifact.h - model artifacts: object, libraries, header -*- C++ -*-===//
#ifndef QCC_TARGET_CPU_ARTIFACT_H
#define QCC_TARGET_CPU_ARTIFACT_H

#include "qcc/Target/CPU/CPUTarget.h"
#include "llvm/Support/JSON.h"

#include <string>
#include <vector>

namespace qcc {

/// One model input or output as the artifact describes it.
struct TensorSignature {
  std::string name;
  int32_t dtype = 0;                // ONNX TensorProto numbering
  std::vector<int64_t> dims;        // -1 where symbolic
  std::vector<std::string> dimNames; // empty where static
};

struct ModelSignature {
  std::string function;
  std::vector<TensorSignature> inputs, outputs;
};

/// An ONNX element type's name in manifests and messages ("float32", ...).
const char *manifestDtypeName(int32_t dtype);

/// Reads the imported function's signature (names, dtypes, symbolic dims);
/// call before lowering, which drops these attributes.
mlir::FailureOr<ModelSignature> getModelSignature(mlir::ModuleOp module,
                                                  llvm::StringRef function);

struct ArtifactOptions {
  std::string name;       // C symbol prefix
  std::string outputStem; // e.g. out/model -> out/model.o, out/libmodel.a
  std::string sourcePath; // the ONNX model, for the manifest
  std::string compilerVersion;
  /// The quantization summary for the manifest (null for float models).
  llvm::json::Value quantization = nullptr;
};

/// Emits the lowered (LLVM dialect) module with the C API runtime and the
/// signature tables linked in, and writes <stem>.o, lib<stem>.a,
/// lib<stem>.so, <stem>.h and <stem>.json.
mlir::LogicalResult writeArtifact(mlir::ModuleOp lowered,
                                  const ModelSignature &signature,
                                  const ResolvedTarget &target,
                                  const ArtifactOptions &options);

/// The C header an artifact ships (exposed for tests and tools).
std::string generateHeader(const ModelSignature &signature,
                           const std::string &name);

} // namespace qcc

#endif
