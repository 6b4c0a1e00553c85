//===- qcc.cpp - the qcc compiler driver ----------------------------------===//
//
//   qcc model.onnx --emit=mlir [-o out.mlir] [--dim batch=1]
//
//===----------------------------------------------------------------------===//
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "qcc/Dialect/Qcc/Transforms/Passes.h"
#include "qcc/Import/ONNXImporter.h"
#include "qcc/InitAll.h"
#include "qcc/Target/CPU/Artifact.h"
#include "qcc/Target/CPU/CPUTarget.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace {
enum class EmitKind { Auto, Imported, Mlir, LLVMDialect, LLVM, Obj, Artifact };

cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.onnx>"),
                               cl::Required);
cl::opt<std::string> outputFile("o", cl::desc("Output file (default: stdout)"),
                                cl::value_desc("path"), cl::init("-"));
cl::opt<EmitKind> emit(
    "emit", cl::desc("What to produce (default: the artifact with -o, else mlir)"),
    cl::init(EmitKind::Auto),
    cl::values(clEnumValN(EmitKind::Artifact, "artifact",
                          "<o>.o, lib<o>.a, lib<o>.so, <o>.h and <o>.json"),
               clEnumValN(EmitKind::Imported, "imported",
                          "the qcc module exactly as imported"),
               clEnumValN(EmitKind::Mlir, "mlir",
                          "the qcc module after graph cleanup"),
               clEnumValN(EmitKind::LLVMDialect, "llvm-dialect",
                          "the module lowered to MLIR's LLVM dialect"),
               clEnumValN(EmitKind::LLVM, "llvm",
                          "optimized LLVM IR for the target"),
               clEnumValN(EmitKind::Obj, "obj", "an object file for the target")));
cl::opt<std::string> target("target",
                            cl::desc("x86_64, arm64 or an LLVM triple (default: host)"),
                            cl::init(""));
cl::opt<std::string> cpu("cpu", cl::desc("CPU to generate code for (native, generic, "
                                         "skylake-avx512, neoverse-n1, ...)"),
                         cl::init("native"));
cl::opt<std::string> modelName("name",
                              cl::desc("C symbol prefix of the artifact's API"),
                              cl::init("model"));
cl::list<std::string> dims("dim",
                           cl::desc("Fix a symbolic dim: --dim name=value"),
                           cl::value_desc("name=value"));
cl::opt<bool> printWeights("print-weights",
                           cl::desc("Print every weight value (large)"),
                           cl::init(false));
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // Pass names for --mlir-print-ir-after and friends; registered before
  // the pass manager's options, which list them.
  qcc::registerAllPasses();
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  cl::ParseCommandLineOptions(argc, argv, "qcc quantization compiler\n");

  qcc::ImportOptions options;
  for (const std::string &d : dims) {
    auto [name, value] = StringRef(d).split('=');
    int64_t v;
    if (name.empty() || value.getAsInteger(10, v) || v < 0) {
      errs() << "qcc: error: --dim expects name=value with a non-negative "
                "integer, got '"
             << d << "'\n";
      return 1;
    }
    options.dimValues[name] = v;
  }

  mlir::DialectRegistry registry;
  qcc::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  // Diagnostics go to stderr as "file:line:col: error: ...".
  SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context, errs());

  auto module = qcc::importONNXFile(context, inputFile, options);
  if (failed(module))
    return 1;
  if (emit == EmitKind::Auto)
    emit = outputFile == "-" ? EmitKind::Mlir : EmitKind::Artifact;

  auto resolveTarget = [&]() {
    qcc::CPUTargetOptions targetOptions;
    targetOptions.target = target;
    targetOptions.cpu = cpu;
    return qcc::resolveCPUTarget(targetOptions, (*module)->getLoc());
  };
  auto lowerForCPU = [&](const qcc::ResolvedTarget &resolved) -> mlir::LogicalResult {
    mlir::PassManager pm(&context);
    if (failed(mlir::applyPassManagerCLOptions(pm)))
      return mlir::failure();
    qcc::buildCPULoweringPipeline(pm, resolved);
    return pm.run(**module);
  };

  if (emit == EmitKind::Artifact) {
    auto resolved = resolveTarget();
    if (failed(resolved))
      return 1;
    if (outputFile == "-") {
      errs() << "qcc: error: an artifact needs -o <dir>/<stem>\n";
      return 1;
    }
    // The entry point carries the model's prefix so apps can link several.
    auto func = (*module)->lookupSymbol<mlir::func::FuncOp>(options.functionName);
    if (!func) {
      errs() << "qcc: error: the imported module has no function '"
             << options.functionName << "'\n";
      return 1;
    }
    std::string entry = modelName + "_forward";
    func.setSymName(entry);
    auto signature = qcc::getModelSignature(**module, entry);
    if (failed(signature) || failed(lowerForCPU(*resolved)))
      return 1;
    qcc::ArtifactOptions artifact;
    artifact.name = modelName;
    artifact.outputStem = outputFile;
    artifact.sourcePath = inputFile;
    artifact.compilerVersion = "qcc 0.1.0";
    return failed(qcc::writeArtifact(**module, *signature, *resolved, artifact)) ? 1 : 0;
  }

  std::string error;
  auto out = mlir::openOutputFile(outputFile, &error);
  if (!out) {
    errs() << "qcc: error: " << error << "\n";
    return 1;
  }

  if (emit == EmitKind::LLVMDialect || emit == EmitKind::LLVM ||
      emit == EmitKind::Obj) {
    auto resolved = resolveTarget();
    if (failed(resolved) || failed(lowerForCPU(*resolved)))
      return 1;
    if (emit == EmitKind::LLVMDialect) {
      (*module)->print(out->os());
    } else {
      auto bytes = emit == EmitKind::LLVM ? qcc::emitLLVMIR(**module, *resolved)
                                          : qcc::emitObject(**module, *resolved);
      if (failed(bytes))
        return 1;
      out->os() << *bytes;
    }
    out->keep();
    return 0;
  }

  if (emit == EmitKind::Mlir) {
    mlir::PassManager pm(&context);
    if (failed(mlir::applyPassManagerCLOptions(pm)))
      return 1;
    pm.addPass(mlir::createCanonicalizerPass());
    pm.addNestedPass<mlir::func::FuncOp>(qcc::createQccFuseNormalizations());
    pm.addNestedPass<mlir::func::FuncOp>(qcc::createQccFuseActivations());
    pm.addPass(mlir::createCanonicalizerPass());
    pm.addPass(mlir::createCSEPass());
    if (failed(pm.run(**module)))
      return 1;
  }

  mlir::OpPrintingFlags flags;
  if (!printWeights)
    flags.elideLargeElementsAttrs(16);
  (*module)->print(out->os(), flags);
  out->keep();
  return 0;
}
