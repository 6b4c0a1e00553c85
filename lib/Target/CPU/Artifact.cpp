//===- Artifact.cpp - model artifacts: object, libraries, header ----------===//
#include "qcc/Target/CPU/Artifact.h"
#include "qcc/Target/CPU/Runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/Object/ArchiveWriter.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Triple.h"


using namespace mlir;

namespace qcc {

FailureOr<ModelSignature> getModelSignature(ModuleOp module, StringRef function) {
  auto func = module.lookupSymbol<func::FuncOp>(function);
  if (!func)
    return emitError(module.getLoc()) << "no function '" << function << "' to compile",
           failure();
  ModelSignature sig;
  sig.function = function.str();
  auto read = [&](Type type, DictionaryAttr attrs, unsigned i,
                  bool isInput) -> TensorSignature {
    TensorSignature t;
    auto tt = cast<RankedTensorType>(type);
    auto name = attrs ? attrs.getAs<StringAttr>("qcc.name") : nullptr;
    t.name = name ? name.str() : (isInput ? "input" : "output") + std::to_string(i);
    auto dtype = attrs ? attrs.getAs<IntegerAttr>("qcc.dtype") : nullptr;
    t.dtype = dtype ? dtype.getInt() : 1;
    auto dims = attrs ? attrs.getAs<ArrayAttr>("qcc.dims") : nullptr;
    for (int64_t d = 0; d < tt.getRank(); ++d) {
      t.dims.push_back(tt.isDynamicDim(d) ? -1 : tt.getDimSize(d));
      std::string dimName;
      if (tt.isDynamicDim(d)) {
        dimName = t.name + "_dim" + std::to_string(d);
        if (dims && d < (int64_t)dims.size())
          if (auto s = dyn_cast<StringAttr>(dims[d]))
            dimName = s.str();
      }
      t.dimNames.push_back(dimName);
    }
    return t;
  };
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    sig.inputs.push_back(read(func.getArgument(i).getType(), func.getArgAttrDict(i), i, true));
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    sig.outputs.push_back(read(func.getResultTypes()[i], func.getResultAttrDict(i), i, false));
  return sig;
}

const char *manifestDtypeName(int32_t d) {
  switch (d) {
  case 1: return "float32";
  case 2: return "uint8";
  case 3: return "int8";
  case 4: return "uint16";
  case 5: return "int16";
  case 6: return "int32";
  case 7: return "int64";
  case 9: return "bool";
  case 10: return "float16";
  case 11: return "float64";
  case 12: return "uint32";
  case 13: return "uint64";
  case 16: return "bfloat16";
  default: return "unknown";
  }
}

/// The signature tables and the invoke thunk the runtime calls.
static LogicalResult addModelTables(llvm::Module &m, const ModelSignature &sig,
                                    Location loc) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::IRBuilder<> b(ctx);
  auto *ptrTy = llvm::PointerType::get(ctx, 0);
  auto *i32 = b.getInt32Ty(), *i64 = b.getInt64Ty();
  auto *infoTy = llvm::StructType::get(ctx, {ptrTy, i32, i32, ptrTy, ptrTy});
  auto str = [&](StringRef s) -> llvm::Constant * {
    return b.CreateGlobalStringPtr(s, "qcc.str", 0, &m);
  };
  auto table = [&](const std::vector<TensorSignature> &ts, StringRef sym) {
    std::vector<llvm::Constant *> entries;
    for (const TensorSignature &t : ts) {
      std::vector<llvm::Constant *> dims, names;
      for (size_t d = 0; d < t.dims.size(); ++d) {
        dims.push_back(llvm::ConstantInt::get(i64, t.dims[d]));
        names.push_back(t.dimNames[d].empty() ? llvm::ConstantPointerNull::get(ptrTy)
                                              : str(t.dimNames[d]));
      }
      auto global = [&](llvm::Type *elt, std::vector<llvm::Constant *> &vals) -> llvm::Constant * {
        if (vals.empty())
          return llvm::ConstantPointerNull::get(ptrTy);
        auto *ty = llvm::ArrayType::get(elt, vals.size());
        return new llvm::GlobalVariable(m, ty, true, llvm::GlobalValue::PrivateLinkage,
                                        llvm::ConstantArray::get(ty, vals), "qcc.table");
      };
      entries.push_back(llvm::ConstantStruct::get(
          infoTy, {str(t.name), llvm::ConstantInt::get(i32, t.dtype),
                   llvm::ConstantInt::get(i32, t.dims.size()), global(i64, dims),
                   global(ptrTy, names)}));
    }
    if (entries.empty()) // keep the symbol defined
      entries.push_back(llvm::Constant::getNullValue(infoTy));
    auto *ty = llvm::ArrayType::get(infoTy, entries.size());
    new llvm::GlobalVariable(m, ty, true, llvm::GlobalValue::ExternalLinkage,
                             llvm::ConstantArray::get(ty, entries), sym);
  };
  table(sig.inputs, "qcc_model_inputs");
  table(sig.outputs, "qcc_model_outputs");
  new llvm::GlobalVariable(m, i32, true, llvm::GlobalValue::ExternalLinkage,
                           llvm::ConstantInt::get(i32, sig.inputs.size()),
                           "qcc_model_input_count");
  new llvm::GlobalVariable(m, i32, true, llvm::GlobalValue::ExternalLinkage,
                           llvm::ConstantInt::get(i32, sig.outputs.size()),
                           "qcc_model_output_count");

  // void qcc_model_invoke(qcc_rt_context *ctx, void *results, void **args)
  llvm::Function *entry = m.getFunction("_mlir_ciface_" + sig.function);
  if (!entry)
    return emitError(loc) << "entry point _mlir_ciface_" << sig.function
                          << " is missing from the lowered module",
           failure();
  auto *fnTy = llvm::FunctionType::get(b.getVoidTy(), {ptrTy, ptrTy, ptrTy}, false);
  auto *invoke = llvm::Function::Create(fnTy, llvm::GlobalValue::ExternalLinkage,
                                        "qcc_model_invoke", m);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", invoke));
  std::vector<llvm::Value *> args;
  if (!sig.outputs.empty())
    args.push_back(invoke->getArg(1));
  args.push_back(invoke->getArg(0)); // the run-time context
  for (size_t i = 0; i < sig.inputs.size(); ++i) {
    llvm::Value *slot = b.CreateConstGEP1_64(ptrTy, invoke->getArg(2), i);
    args.push_back(b.CreateLoad(ptrTy, slot));
  }
  if (args.size() != entry->arg_size())
    return emitError(loc) << "entry point takes " << entry->arg_size()
                          << " arguments, the signature implies " << args.size(),
           failure();
  b.CreateCall(entry, args);
  b.CreateRetVoid();
  return success();
}

/// qcc_model_* -> <name>_*, so several models link into one program.
static void applyPrefix(llvm::Module &m, StringRef name) {
  auto rename = [&](llvm::GlobalValue &g) {
    if (g.getName().starts_with("qcc_model_"))
      g.setName(name.str() + "_" + g.getName().drop_front(10).str());
  };
  for (llvm::Function &f : m)
    rename(f);
  for (llvm::GlobalVariable &g : m.globals())
    rename(g);
}

std::string generateHeader(const ModelSignature &sig, const std::string &name) {
  std::string guard = "QCC_MODEL_" + StringRef(name).upper() + "_H";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "/* " << name << ": a model compiled by qcc. Generated; do not edit.\n *\n";
  auto describe = [&](StringRef title, const std::vector<TensorSignature> &ts) {
    os << " * " << title << ":\n";
    for (const TensorSignature &t : ts) {
      os << " *   " << t.name << ": " << manifestDtypeName(t.dtype) << " [";
      for (size_t d = 0; d < t.dims.size(); ++d)
        os << (d ? ", " : "") << (t.dims[d] < 0 ? t.dimNames[d] : std::to_string(t.dims[d]));
      os << "]\n";
    }
  };
  describe("Inputs", sig.inputs);
  describe("Outputs", sig.outputs);
  os << " */\n#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <stddef.h>\n#include <stdint.h>\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
     << "#ifndef QCC_STATUS_DEFINED\n#define QCC_STATUS_DEFINED\n"
     << "/* Status codes returned by every call. */\n"
     << "enum { QCC_OK = 0, QCC_ERROR_INVALID_ARGUMENT = 1, QCC_ERROR_OUT_OF_MEMORY = 2 };\n"
     << "/* Element types use ONNX's TensorProto numbering. */\n"
     << "enum { QCC_FLOAT32 = 1, QCC_UINT8 = 2, QCC_INT8 = 3, QCC_UINT16 = 4, QCC_INT16 = 5,\n"
     << "       QCC_INT32 = 6, QCC_INT64 = 7, QCC_BOOL = 9, QCC_FLOAT16 = 10, QCC_FLOAT64 = 11,\n"
     << "       QCC_UINT32 = 12, QCC_UINT64 = 13, QCC_BFLOAT16 = 16 };\n#endif\n\n";
  std::string n = name;
  os << "typedef struct " << n << "_instance " << n << "_instance;\n\n"
     << "/* An instance holds one run's outputs and its last error; separate\n"
     << " * instances may be used from separate threads at the same time. */\n"
     << "int " << n << "_create(" << n << "_instance **out);\n"
     << "void " << n << "_destroy(" << n << "_instance *instance);\n"
     << "const char *" << n << "_last_error(const " << n << "_instance *instance);\n"
     << "int " << n << "_set_num_threads(" << n << "_instance *instance, int num_threads);\n\n"
     << "/* Inputs and outputs: dims are -1 where symbolic (named by *_dim_name). */\n"
     << "int " << n << "_num_inputs(void);\n"
     << "int " << n << "_num_outputs(void);\n";
  for (const char *io : {"input", "output"})
    os << "const char *" << n << "_" << io << "_name(int i);\n"
       << "int " << n << "_" << io << "_dtype(int i);\n"
       << "int " << n << "_" << io << "_rank(int i);\n"
       << "int64_t " << n << "_" << io << "_dim(int i, int d);\n"
       << "const char *" << n << "_" << io << "_dim_name(int i, int d);\n";
  os << "\n/* Runs the model. inputs[i] points to row-major data of\n"
     << " * input_shapes[i]; outputs stay owned by the instance until the next run\n"
     << " * (read them with _output), or are copied into caller buffers by\n"
     << " * _run_into, whose capacities are in bytes. */\n"
     << "int " << n << "_run(" << n
     << "_instance *instance, const void *const *inputs,\n"
     << "           const int64_t *const *input_shapes);\n"
     << "int " << n << "_run_into(" << n
     << "_instance *instance, const void *const *inputs,\n"
     << "           const int64_t *const *input_shapes, void *const *outputs,\n"
     << "           const size_t *output_capacities);\n"
     << "int " << n << "_output(const " << n
     << "_instance *instance, int i, const void **data,\n"
     << "           const int64_t **shape);\n\n"
     << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
  return s;
}

static std::string sha256File(StringRef path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    return "";
  std::array<uint8_t, 32> hash = llvm::SHA256::hash(
      llvm::arrayRefFromStringRef((*buf)->getBuffer()));
  return llvm::toHex(hash, /*LowerCase=*/true);
}

static llvm::json::Value tensorJson(const TensorSignature &t) {
  llvm::json::Array dims;
  for (size_t d = 0; d < t.dims.size(); ++d)
    dims.push_back(t.dims[d] < 0 ? llvm::json::Value(t.dimNames[d])
                                 : llvm::json::Value(t.dims[d]));
  return llvm::json::Object{{"name", t.name}, {"dtype", manifestDtypeName(t.dtype)}, {"shape", std::move(dims)}};
}

static LogicalResult writeFile(StringRef path, StringRef data, Location loc) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return emitError(loc) << "cannot write '" << path << "': " << ec.message(), failure();
  os << data;
  return success();
}

LogicalResult writeArtifact(ModuleOp lowered, const ModelSignature &sig,
                            const ResolvedTarget &target, const ArtifactOptions &opts) {
  Location loc = lowered.getLoc();
  StringRef name = opts.name;
  if (name.empty() || !(isalpha(name[0]) || name[0] == '_') ||
      !llvm::all_of(name, [](char c) { return isalnum(c) || c == '_'; }))
    return emitError(loc) << "--name '" << name
                          << "' is not a C identifier (letters, digits, '_')",
           failure();
  FailureOr<std::string> object = emitObject(lowered, target, [&](llvm::Module &m) {
    if (failed(addModelTables(m, sig, loc)) || failed(linkModelApi(m, loc)))
      return failure();
    applyPrefix(m, name);
    return success();
  });
  if (failed(object))
    return failure();

  SmallString<256> dir(llvm::sys::path::parent_path(opts.outputStem));
  std::string stem = llvm::sys::path::filename(opts.outputStem).str();
  if (dir.empty())
    dir = ".";
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return emitError(loc) << "cannot create '" << dir << "': " << ec.message(), failure();
  auto at = [&](StringRef file) {
    SmallString<256> p(dir);
    llvm::sys::path::append(p, file);
    return std::string(p);
  };
  std::string objPath = at(stem + ".o");
  if (failed(writeFile(objPath, *object, loc)) ||
      failed(writeFile(at(stem + ".h"), generateHeader(sig, name.str()), loc)))
    return failure();

  // Static library.
  auto member = llvm::NewArchiveMember::getFile(objPath, /*Deterministic=*/true);
  if (!member)
    return emitError(loc) << "cannot read back '" << objPath << "'", failure();
  std::vector<llvm::NewArchiveMember> members;
  members.push_back(std::move(*member));
  if (llvm::Error e = llvm::writeArchive(
          at("lib" + stem + ".a"), members, llvm::SymtabWritingMode::NormalSymtab,
          llvm::object::Archive::K_GNU, /*Deterministic=*/true, /*Thin=*/false))
    return emitError(loc) << "cannot write the static library: "
                          << llvm::toString(std::move(e)),
           failure();

  // Shared library, linked by lld.
  std::string soPath = at("lib" + stem + ".so");
  auto lld = llvm::sys::findProgramByName(QCC_LLD_NAME);
  if (!lld)
    return emitError(loc) << "cannot find the linker '" << QCC_LLD_NAME
                          << "' to write " << soPath,
           failure();
  std::string soname = "-soname=lib" + stem + ".so";
  llvm::SmallVector<StringRef> argv{*lld, "-shared", "--hash-style=gnu", soname,
                                    "-o", soPath, objPath};
  std::string err;
  if (llvm::sys::ExecuteAndWait(*lld, argv, std::nullopt, {}, 0, 0, &err) != 0)
    return emitError(loc) << "linking " << soPath << " failed" << (err.empty() ? "" : ": ") << err,
           failure();

  llvm::json::Array ins, outs;
  for (auto &t : sig.inputs)
    ins.push_back(tensorJson(t));
  for (auto &t : sig.outputs)
    outs.push_back(tensorJson(t));
  llvm::json::Object manifest{
      {"name", name},
      {"entry_points", llvm::json::Object{{"create", (name + "_create").str()},
                                          {"run", (name + "_run").str()}}},
      {"inputs", std::move(ins)},
      {"outputs", std::move(outs)},
      {"target", llvm::json::Object{{"triple", target.triple}, {"cpu", target.cpu}}},
      {"compiler", opts.compilerVersion},
      {"source", llvm::json::Object{{"path", opts.sourcePath},
                                    {"sha256", sha256File(opts.sourcePath)}}},
      {"files", llvm::json::Array{stem + ".o", "lib" + stem + ".a", "lib" + stem + ".so",
                                  stem + ".h"}},
  };
  if (opts.quantization.kind() != llvm::json::Value::Null)
    manifest["quantization"] = opts.quantization;
  std::string json;
  llvm::raw_string_ostream js(json);
  js << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest))) << "\n";
  return writeFile(at(stem + ".json"), json, loc);
}

} // namespace qcc
