//===- Runtime.h - linking the run-time support into model code -*- C++ -*-===//
#ifndef QCC_TARGET_CPU_RUNTIME_H
#define QCC_TARGET_CPU_RUNTIME_H

#include "mlir/IR/Location.h"
#include "mlir/Support/LogicalResult.h"
#include "qcc/Target/CPU/CPUTarget.h"

namespace llvm {
class Module;
class TargetMachine;
} // namespace llvm

namespace qcc {

/// Links the artifact's C API (create/run/... and the instance) into `m`.
mlir::LogicalResult linkModelApi(llvm::Module &m, mlir::Location loc);

/// Links the parts of the thread pool and kernels that `m` references, in
/// the kernel variant for the target machine's vector ISA. The runtime's own
/// CPU attributes are dropped so it is compiled for the target's CPU.
mlir::LogicalResult linkKernels(llvm::Module &m, const llvm::TargetMachine &tm,
                                mlir::Location loc);

/// The panel width (columns per packed panel) of the float matmul kernel
/// linkKernels picks for `target`: the layout the compiler packs constant
/// weights in. 0 if the target cannot be queried.
int64_t sgemmPanelWidth(const ResolvedTarget &target);

/// The packed-weight layout read by the quantized-linear kernel linkKernels
/// picks for a target: its `#qcc.packed` layout name and output columns per
/// tile.
struct QgemmLayout {
  std::string name;
  int64_t nr;
};

/// The layout for `target`; an empty name if the target cannot be queried.
QgemmLayout qgemmLayout(const ResolvedTarget &target);

} // namespace qcc

#endif
