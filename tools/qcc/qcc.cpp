//===- qcc.cpp - the qcc compiler driver ----------------------------------===//
//
//   qcc model.onnx --emit=mlir [-o out.mlir] [--dim batch=1]
//   qcc model.onnx --w4a8 [--group=32] [--algo=mse] -o out/model
//
//===----------------------------------------------------------------------===//
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "ReportCommand.h"
#include "qcc/Dialect/Qcc/Transforms/Passes.h"
#include "qcc/Dialect/Qcc/Transforms/QuantReport.h"
#include "qcc/Import/ONNXImporter.h"
#include "qcc/InitAll.h"
#include "qcc/Target/CPU/Artifact.h"
#include "qcc/Target/CPU/Calibrate.h"
#include "qcc/Target/CPU/Evaluate.h"
#include "qcc/Support/YamlJson.h"
#include "qcc/Target/CPU/CPUTarget.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace llvm;

namespace {
// Only qcc's own options show in --help; LLVM's and MLIR's still work
// (--help-hidden lists them).
cl::OptionCategory qccCategory("qcc options");

enum class EmitKind { Auto, Imported, Mlir, LLVMDialect, LLVM, Obj, Artifact };

cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.onnx>"),
                               cl::Required, cl::cat(qccCategory));
cl::opt<std::string> outputFile("o", cl::desc("Output file (default: stdout)"),
                                cl::value_desc("path"), cl::init("-"), cl::cat(qccCategory));
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
               clEnumValN(EmitKind::Obj, "obj", "an object file for the target")), cl::cat(qccCategory));
cl::opt<std::string> target("target",
                            cl::desc("x86_64, arm64 or an LLVM triple (default: host)"),
                            cl::init(""), cl::cat(qccCategory));
cl::opt<std::string> cpu("cpu", cl::desc("CPU to generate code for (native, generic, "
                                         "skylake-avx512, neoverse-n1, ...)"),
                         cl::init("native"), cl::cat(qccCategory));
cl::opt<std::string> modelName("name",
                              cl::desc("C symbol prefix of the artifact's API"),
                              cl::init("model"), cl::cat(qccCategory));
cl::list<std::string> dims("dim",
                           cl::desc("Fix a symbolic dim: --dim name=value"),
                           cl::value_desc("name=value"), cl::cat(qccCategory));
enum class Scheme { Float, W8A8, W4A8, W4A16, W8A16 };
cl::opt<Scheme> scheme(
    cl::desc("Quantization scheme (default: float):"), cl::init(Scheme::Float),
    cl::values(clEnumValN(Scheme::W8A8, "w8a8",
                          "int8 weights per output channel, int8 activations"),
               clEnumValN(Scheme::W4A8, "w4a8", "int4 weights per group, int8 activations"),
               clEnumValN(Scheme::W4A16, "w4a16", "int4 weights per group, float activations"),
               clEnumValN(Scheme::W8A16, "w8a16",
                          "int8 weights per output channel, float activations")), cl::cat(qccCategory));
cl::opt<std::string> groupOpt(
    "group",
    cl::desc("Weight scale block along K: a size (32, 64, 128, ...) or per-channel "
             "(default: 32 for 4-bit weights, per-channel for 8-bit)"),
    cl::value_desc("size|per-channel"), cl::init(""), cl::cat(qccCategory));
cl::opt<bool> asymOpt("asym", cl::desc("Unsigned weights with zero points"), cl::init(false), cl::cat(qccCategory));
cl::opt<std::string> algoOpt("algo",
                             cl::desc("Weight rounding: rtn, mse, gptq or awq (both need --calib) "
                                      "(default rtn)"),
                             cl::init("rtn"), cl::cat(qccCategory));
cl::opt<double> gptqDampOpt("gptq-damp",
                            cl::desc("GPTQ: fraction of the calibration Hessian's mean diagonal "
                                     "added to its diagonal (default 0.1)"),
                            cl::init(0.1), cl::cat(qccCategory));
cl::opt<std::string> calibPath(
    "calib",
    cl::desc("Calibration samples: a directory of .npz files or of sample directories of "
             "<input>.npy, or a list file"),
    cl::value_desc("path"), cl::init(""), cl::cat(qccCategory));
cl::opt<std::string> actOpt("act",
                            cl::desc("int8 activation scales: dynamic (per token; the default "
                                     "without --calib) or static (one per layer from --calib; "
                                     "the default with it)"),
                            cl::init("dynamic"), cl::cat(qccCategory));
cl::opt<std::string> scaleTypeOpt("scale-type",
                                  cl::desc("Weight scale storage: f32 (default) or f16 (half "
                                           "the scale bytes; also rounds the f32 scales of "
                                           "weights the model brings quantized)"),
                                  cl::init("f32"), cl::cat(qccCategory));
cl::opt<std::string> calibMethod(
    "calib-method",
    cl::desc("Static activation range from the calibration histogram: minmax (default), "
             "percentile, entropy, mse"),
    cl::init("minmax"), cl::cat(qccCategory));
cl::opt<double> percentileOpt("percentile",
                              cl::desc("Percentile of |x| kept by --calib-method=percentile "
                                       "(default 99.99)"),
                              cl::init(99.99), cl::cat(qccCategory));
cl::opt<std::string> recipeFile(
    "recipe", cl::desc("Per-layer overrides (JSON, or YAML for .yaml/.yml; see docs/Quantization.md)"),
    cl::value_desc("recipe.json|recipe.yaml"), cl::init(""), cl::cat(qccCategory));
cl::opt<std::string> reportFile("report",
                                cl::desc("Write the per-layer quantization report as JSON"),
                                cl::value_desc("report.json"), cl::init(""), cl::cat(qccCategory));
cl::opt<bool> evaluateOpt(
    "evaluate",
    cl::desc("With --calib, run the float and the quantized model on the calibration set and "
             "report each layer's measured output SQNR and each output's cosine similarity (and "
             "next-token KL for logits) versus float (default true; --evaluate=false skips it)"),
    cl::init(true), cl::cat(qccCategory));
cl::opt<bool> quantizeAttention(
    "quantize-attention",
    cl::desc("With --w8a8, also run the attention products (Q K^T, P V) on int8 (per-tensor "
             "scales; softmax probabilities take their fixed range)"),
    cl::init(false), cl::cat(qccCategory));
cl::opt<bool> printWeights("print-weights",
                           cl::desc("Print every weight value (large)"),
                           cl::init(false), cl::cat(qccCategory));
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  if (argc > 1 && StringRef(argv[1]) == "report")
    return qcc::runReportCommand(ArrayRef<const char *>(argv + 2, argv + argc));
  // Pass names for --mlir-print-ir-after and friends; registered before
  // the pass manager's options, which list them.
  qcc::registerAllPasses();
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  cl::HideUnrelatedOptions(qccCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "qcc quantization compiler\n\n"
                              "  qcc report report.json [--plot=chart.svg]  prints a saved "
                              "quantization report and draws its per-layer error chart\n");

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

  // Quantization, ahead of every emission but the raw import.
  llvm::json::Value quantSummary = nullptr;
  bool quantOptionGiven = !groupOpt.empty() || asymOpt || algoOpt != "rtn" ||
                          actOpt != "dynamic" || !reportFile.empty() || !recipeFile.empty() ||
                          !calibPath.empty() || calibMethod.getNumOccurrences() ||
                          gptqDampOpt.getNumOccurrences() ||
                          percentileOpt.getNumOccurrences() || evaluateOpt.getNumOccurrences() ||
                          quantizeAttention;
  if (scaleTypeOpt != "f32" && scaleTypeOpt != "f16") {
    errs() << "qcc: error: unknown --scale-type '" << scaleTypeOpt << "' (f32, f16)\n";
    return 1;
  }
  if (scheme == Scheme::Float && quantOptionGiven) {
    errs() << "qcc: error: --group, --asym, --algo, --act, --calib, --recipe, --report, "
              "--evaluate and --quantize-attention need a quantization scheme (--w8a8, --w4a8, "
              "--w4a16 or --w8a16)\n";
    return 1;
  }
  if (scheme != Scheme::Float && emit != EmitKind::Imported) {
    bool fourBit = scheme == Scheme::W4A8 || scheme == Scheme::W4A16;
    bool actInt8 = scheme == Scheme::W8A8 || scheme == Scheme::W4A8;
    int64_t group = fourBit ? 32 : 0;
    if (groupOpt == "per-channel") {
      group = 0;
    } else if (!groupOpt.empty() &&
               (StringRef(groupOpt).getAsInteger(10, group) || group < 2 ||
                (group & (group - 1)))) {
      errs() << "qcc: error: --group expects a power of two >= 2 or per-channel, got '"
             << groupOpt << "'\n";
      return 1;
    }
    if ((algoOpt == "gptq" || algoOpt == "awq") && calibPath.empty()) {
      errs() << "qcc: error: --algo=" << algoOpt << " needs calibration data (--calib)\n";
      return 1;
    }
    if (algoOpt != "rtn" && algoOpt != "mse" && algoOpt != "gptq" && algoOpt != "awq") {
      errs() << "qcc: error: unknown --algo '" << algoOpt << "' (rtn, mse, gptq, awq)\n";
      return 1;
    }
    if (!(gptqDampOpt > 0) || !std::isfinite(double(gptqDampOpt))) {
      errs() << "qcc: error: --gptq-damp must be a positive number, got " << gptqDampOpt << "\n";
      return 1;
    }
    auto rangeMethod = qcc::parseRangeMethod(calibMethod);
    if (!rangeMethod) {
      errs() << "qcc: error: unknown --calib-method '" << calibMethod
             << "' (minmax, percentile, entropy, mse)\n";
      return 1;
    }
    if (!(percentileOpt > 0 && percentileOpt <= 100)) {
      errs() << "qcc: error: --percentile must be in (0, 100], got " << percentileOpt << "\n";
      return 1;
    }
    if ((calibMethod.getNumOccurrences() || percentileOpt.getNumOccurrences()) &&
        calibPath.empty()) {
      errs() << "qcc: error: --calib-method and --percentile need calibration data (--calib)\n";
      return 1;
    }
    if (percentileOpt.getNumOccurrences() && *rangeMethod != qcc::RangeMethod::Percentile) {
      errs() << "qcc: error: --percentile applies to --calib-method=percentile\n";
      return 1;
    }
    if (actOpt == "static" && calibPath.empty()) {
      errs() << "qcc: error: --act=static needs calibration data (--calib)\n";
      return 1;
    }
    if (actOpt != "dynamic" && actOpt != "static") {
      errs() << "qcc: error: unknown --act '" << actOpt << "' (dynamic, static)\n";
      return 1;
    }
    if (quantizeAttention && scheme != Scheme::W8A8) {
      errs() << "qcc: error: --quantize-attention applies to --w8a8\n";
      return 1;
    }
    if (!actInt8 && actOpt.getNumOccurrences()) {
      errs() << "qcc: error: --act applies to int8 activations; --w4a16 and --w8a16 keep "
                "them float\n";
      return 1;
    }
    {
      mlir::PassManager cleanup(&context);
      cleanup.addPass(mlir::createCanonicalizerPass());
      if (failed(cleanup.run(**module)))
        return 1;
    }
    if (evaluateOpt.getNumOccurrences() && evaluateOpt && calibPath.empty()) {
      errs() << "qcc: error: --evaluate needs calibration data (--calib)\n";
      return 1;
    }
    // The float model the quantized one is measured against.
    mlir::OwningOpRef<mlir::ModuleOp> floatModel;
    if (!calibPath.empty() && evaluateOpt)
      floatModel = (*module)->clone();
    if (!calibPath.empty()) {
      auto calibration = qcc::calibrate(**module, options.functionName, calibPath);
      if (failed(calibration))
        return 1;
      qcc::attachCalibration(**module, *calibration, *rangeMethod, percentileOpt);
      (outputFile == "-" ? errs() : outs())
          << "calibrated on " << calibration->samples << " samples\n";
    }
    if (!recipeFile.empty()) {
      auto buf = llvm::MemoryBuffer::getFile(recipeFile);
      if (!buf) {
        errs() << "qcc: error: cannot read recipe '" << recipeFile
               << "': " << buf.getError().message() << "\n";
        return 1;
      }
      bool yaml = StringRef(recipeFile).ends_with(".yaml") ||
                  StringRef(recipeFile).ends_with(".yml");
      llvm::Expected<llvm::json::Value> recipe =
          yaml ? qcc::parseYamlAsJson((*buf)->getBuffer(), recipeFile)
               : llvm::json::parse((*buf)->getBuffer());
      if (!recipe) {
        errs() << "qcc: error: recipe '" << recipeFile << "' is not valid "
               << (yaml ? "YAML" : "JSON") << ": " << llvm::toString(recipe.takeError()) << "\n";
        return 1;
      }
      if (failed(qcc::applyQuantRecipe(**module, *recipe)))
        return 1;
    }
    mlir::PassManager pm(&context);
    if (failed(mlir::applyPassManagerCLOptions(pm)))
      return 1;
    qcc::QccQuantizeWeightsOptions q;
    q.bits = fourBit ? 4 : 8;
    q.group = group;
    q.asym = asymOpt;
    q.algo = algoOpt;
    q.damp = gptqDampOpt;
    q.scaleType = scaleTypeOpt;
    // Calibrated runs default to static activation scales.
    std::string act = actOpt.getNumOccurrences() ? actOpt.getValue()
                      : calibPath.empty()         ? "dynamic"
                                                  : "static";
    q.act = actInt8 ? act : "none";
    pm.addNestedPass<mlir::func::FuncOp>(qcc::createQccQuantizeWeights(q));
    if (quantizeAttention)
      pm.addNestedPass<mlir::func::FuncOp>(qcc::createQccQuantizeAttention());
    pm.addNestedPass<mlir::func::FuncOp>(qcc::createQccPropagateScales());
    if (failed(pm.run(**module)))
      return 1;
    llvm::json::Array layers = qcc::collectQuantReport(**module);
    std::string name = StringRef(scheme.getValue() == Scheme::W8A8    ? "w8a8"
                                 : scheme.getValue() == Scheme::W4A8  ? "w4a8"
                                 : scheme.getValue() == Scheme::W4A16 ? "w4a16"
                                                                      : "w8a16")
                           .str();
    llvm::json::Object summary{{"scheme", name},
                               {"group", group},
                               {"asymmetric", (bool)asymOpt},
                               {"algo", algoOpt.getValue()},
                               {"gptq_damp", gptqDampOpt.getValue()},
                               {"scale_type", scaleTypeOpt.getValue()},
                               {"layers", std::move(layers)}};
    if (floatModel) {
      auto evaluation =
          qcc::evaluateQuantization(*floatModel, **module, options.functionName, calibPath);
      if (failed(evaluation))
        return 1;
      qcc::addEvaluation(summary, *evaluation);
    }
    // The table goes to stdout unless the compiled output does.
    raw_ostream &table = outputFile == "-" ? errs() : outs();
    qcc::printQuantReport(*summary.getArray("layers"), table);
    qcc::printQuantEvaluation(summary, table);
    quantSummary = std::move(summary);
    if (!reportFile.empty()) {
      std::string error;
      auto rf = mlir::openOutputFile(reportFile, &error);
      if (!rf) {
        errs() << "qcc: error: " << error << "\n";
        return 1;
      }
      rf->os() << llvm::formatv("{0:2}", quantSummary) << "\n";
      rf->keep();
    }
  }

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
    // Layers the model brings quantized keep their f32 scales up to here.
    qcc::buildCPULoweringPipeline(pm, resolved, scaleTypeOpt == "f16");
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
    artifact.quantization = quantSummary;
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
