//===- CPUTarget.h - ahead-of-time CPU code generation ----------*- C++ -*-===//
#ifndef QCC_TARGET_CPU_CPUTARGET_H
#define QCC_TARGET_CPU_CPUTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <functional>
#include <string>

namespace llvm {
class Module;
}

namespace qcc {

struct CPUTargetOptions {
  /// "x86_64" or "arm64" (or a full triple); empty means the host.
  std::string target;
  /// A CPU name LLVM knows ("native" for the host, "generic" for a baseline).
  std::string cpu = "native";
};

/// A resolved target: LLVM triple, CPU name and feature string.
struct ResolvedTarget {
  std::string triple, cpu, features;
};

/// Checks the options against the targets this build of LLVM supports;
/// emits a diagnostic at `loc` naming the unknown target or CPU.
mlir::FailureOr<ResolvedTarget> resolveCPUTarget(const CPUTargetOptions &options,
                                                 mlir::Location loc);

/// qcc dialect (float graph) -> LLVM dialect, on tensors through one-shot
/// bufferization. Every public function gets a C-compatible wrapper
/// (_mlir_ciface_<name>) taking memref descriptors. Kernel layouts (packed
/// weights) follow `target`. f16Scales rounds the f32 weight scales of the
/// layers the model brings quantized to f16 (qcc-f16-scales).
void buildCPULoweringPipeline(mlir::OpPassManager &pm, const ResolvedTarget &target,
                              bool f16Scales = false);

/// Registers what the pipeline and the LLVM IR translation need.
void registerCPUTargetDialects(mlir::DialectRegistry &registry);

/// Translates an LLVM-dialect module, optimizes it at -O3 for the target and
/// returns LLVM IR text (asm = false) or an object file's bytes.
mlir::FailureOr<std::string> emitLLVMIR(mlir::ModuleOp module,
                                        const ResolvedTarget &target);
/// Called on the translated module before optimization, to link in more
/// code (the artifact's runtime and tables).
using LLVMModuleHook = std::function<mlir::LogicalResult(llvm::Module &)>;
mlir::FailureOr<std::string> emitObject(mlir::ModuleOp module,
                                        const ResolvedTarget &target,
                                        LLVMModuleHook hook = nullptr);

} // namespace qcc

#endif
