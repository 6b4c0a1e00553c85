//===- EmitObject.cpp - LLVM IR and object emission -----------------------===//
#include "qcc/Target/CPU/CPUTarget.h"
#include "qcc/Target/CPU/Runtime.h"

#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;

static void initializeTargets() {
  static bool done = [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
    LLVMInitializeAArch64TargetInfo();
    LLVMInitializeAArch64Target();
    LLVMInitializeAArch64TargetMC();
    LLVMInitializeAArch64AsmPrinter();
    return true;
  }();
  (void)done;
}

FailureOr<qcc::ResolvedTarget>
qcc::resolveCPUTarget(const CPUTargetOptions &options, Location loc) {
  initializeTargets();
  ResolvedTarget t;
  std::string host = llvm::sys::getDefaultTargetTriple();
  StringRef name = options.target;
  if (name.empty())
    t.triple = host;
  else if (name == "x86_64" || name == "x86-64")
    t.triple = "x86_64-unknown-linux-gnu";
  else if (name == "arm64" || name == "aarch64")
    t.triple = "aarch64-unknown-linux-gnu";
  else if (StringRef(name).contains('-'))
    t.triple = name.str();
  else
    return emitError(loc) << "unknown target '" << name
                          << "' (expected x86_64, arm64 or an LLVM triple)",
           failure();
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(t.triple, error);
  if (!target)
    return emitError(loc) << "unsupported target '" << t.triple << "': " << error,
           failure();
  bool native = options.cpu.empty() || options.cpu == "native";
  bool hostArch = llvm::Triple(t.triple).getArch() == llvm::Triple(host).getArch();
  if (native && hostArch) {
    t.cpu = llvm::sys::getHostCPUName().str();
    llvm::StringMap<bool> feats = llvm::sys::getHostCPUFeatures();
    std::string f;
    for (auto &kv : feats)
      f += (f.empty() ? "" : ",") + std::string(kv.second ? "+" : "-") + kv.getKey().str();
    t.features = f;
  } else {
    t.cpu = native ? "generic" : options.cpu;
  }
  // Reject CPU names this target does not know.
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(t.triple, "", ""));
  if (t.cpu != "generic" && sti && !sti->isCPUStringValid(t.cpu))
    return emitError(loc) << "unknown CPU '" << t.cpu << "' for target "
                          << t.triple,
           failure();
  return t;
}

static FailureOr<std::unique_ptr<llvm::TargetMachine>>
makeTargetMachine(const qcc::ResolvedTarget &t, Location loc) {
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(t.triple, error);
  if (!target)
    return emitError(loc) << error, failure();
  llvm::TargetOptions opts;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      t.triple, t.cpu, t.features, opts, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    return emitError(loc) << "cannot create a target machine for " << t.triple,
           failure();
  return tm;
}

/// Translates and optimizes; returns the module and its target machine.
static FailureOr<std::pair<std::unique_ptr<llvm::Module>,
                           std::unique_ptr<llvm::TargetMachine>>>
translate(ModuleOp module, const qcc::ResolvedTarget &t, llvm::LLVMContext &ctx,
          const qcc::LLVMModuleHook &hook = nullptr) {
  Location loc = module.getLoc();
  auto tm = makeTargetMachine(t, loc);
  if (failed(tm))
    return failure();
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, ctx);
  if (!llvmModule)
    return emitError(loc) << "translation to LLVM IR failed", failure();
  llvmModule->setTargetTriple(t.triple);
  llvmModule->setDataLayout((*tm)->createDataLayout());
  if (hook && failed(hook(*llvmModule)))
    return failure();
  if (failed(qcc::linkKernels(*llvmModule, **tm, loc)))
    return failure();
  // Per-function attributes make the optimizer's cost models see the CPU.
  for (llvm::Function &f : *llvmModule) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", t.cpu);
    if (!t.features.empty())
      f.addFnAttr("target-features", t.features);
  }

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(tm->get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cam, mam);
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(*llvmModule, mam);
  return std::pair(std::move(llvmModule), std::move(*tm));
}

FailureOr<std::string> qcc::emitLLVMIR(ModuleOp module, const ResolvedTarget &t) {
  llvm::LLVMContext ctx;
  auto r = translate(module, t, ctx);
  if (failed(r))
    return failure();
  std::string text;
  llvm::raw_string_ostream os(text);
  r->first->print(os, nullptr);
  return text;
}

FailureOr<std::string> qcc::emitObject(ModuleOp module, const ResolvedTarget &t,
                                       LLVMModuleHook hook) {
  llvm::LLVMContext ctx;
  auto r = translate(module, t, ctx, hook);
  if (failed(r))
    return failure();
  llvm::SmallString<0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (r->second->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
    return emitError(module.getLoc()) << "the target cannot emit object files",
           failure();
  pm.run(*r->first);
  return std::string(buffer.str());
}
