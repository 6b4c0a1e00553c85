//===- Runtime.cpp - linking the run-time support into model code ---------===//
#include "qcc/Target/CPU/Runtime.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/Module.h"
#include "llvm/Linker/Linker.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Triple.h"

#include "qcc/Target/CPU/Runtime_model_api_aarch64.inc"
#include "qcc/Target/CPU/Runtime_model_api_x86_64.inc"
#include "qcc/Target/CPU/Runtime_sgemm_avx2.inc"
#include "qcc/Target/CPU/Runtime_sgemm_avx512.inc"
#include "qcc/Target/CPU/Runtime_sgemm_neon.inc"
#include "qcc/Target/CPU/Runtime_sgemm_sse.inc"
#include "qcc/Target/CPU/Runtime_qgemm_avx2.inc"
#include "qcc/Target/CPU/Runtime_qgemm_avx512vnni.inc"
#include "qcc/Target/CPU/Runtime_qgemm_amx.inc"
#include "qcc/Target/CPU/Runtime_qgemm_neon.inc"
#include "qcc/Target/CPU/Runtime_qgemm_neon_dot.inc"
#include "qcc/Target/CPU/Runtime_qgemm_neon_i8mm.inc"
#include "qcc/Target/CPU/Runtime_qgemm_generic_x86_64.inc"
#include "qcc/Target/CPU/Runtime_context_aarch64.inc"
#include "qcc/Target/CPU/Runtime_context_x86_64.inc"

using namespace mlir;

namespace {
struct Blob {
  const char *name;
  llvm::StringRef bytes;
};
template <size_t N> Blob blob(const char *name, const unsigned char (&data)[N]) {
  return {name, llvm::StringRef(reinterpret_cast<const char *>(data), N)};
}
} // namespace

static LogicalResult link(llvm::Module &m, Blob part, bool onlyNeeded, Location loc) {
  auto rt = llvm::parseBitcodeFile(llvm::MemoryBufferRef(part.bytes, part.name),
                                   m.getContext());
  if (!rt)
    return emitError(loc) << "cannot read the embedded runtime part '" << part.name
                          << "': " << llvm::toString(rt.takeError()),
           failure();
  (*rt)->setTargetTriple(m.getTargetTriple());
  (*rt)->setDataLayout(m.getDataLayout());
  for (llvm::Function &f : **rt) {
    f.removeFnAttr("target-cpu");
    f.removeFnAttr("target-features");
    f.removeFnAttr("tune-cpu");
  }
  unsigned flags = onlyNeeded ? llvm::Linker::Flags::LinkOnlyNeeded : llvm::Linker::Flags::None;
  if (llvm::Linker::linkModules(m, std::move(*rt), flags))
    return emitError(loc) << "linking the runtime part '" << part.name << "' failed",
           failure();
  return success();
}

static bool isArm64(const llvm::Module &m) {
  return llvm::Triple(m.getTargetTriple()).getArch() == llvm::Triple::aarch64;
}
static bool isX86_64(const llvm::Module &m) {
  return llvm::Triple(m.getTargetTriple()).getArch() == llvm::Triple::x86_64;
}

LogicalResult qcc::linkModelApi(llvm::Module &m, Location loc) {
  if (isX86_64(m))
    return link(m, blob("model_api_x86_64", kRuntime_model_api_x86_64), false, loc);
  if (isArm64(m))
    return link(m, blob("model_api_aarch64", kRuntime_model_api_aarch64), false, loc);
  return emitError(loc) << "no C API runtime for " << m.getTargetTriple(), failure();
}

namespace {
/// One compiled variant of the float matmul kernel. The flags each is built
/// with are in runtime/CMakeLists.txt; panelWidth is its QCC_NR there.
struct SgemmVariant {
  Blob code;
  int64_t panelWidth;
};
} // namespace

static SgemmVariant sgemmVariant(const llvm::Triple &triple,
                                 const llvm::MCSubtargetInfo &sti) {
  if (triple.getArch() == llvm::Triple::aarch64)
    return {blob("sgemm_neon", kRuntime_sgemm_neon), 12};
  if (sti.checkFeatures("+avx512f"))
    return {blob("sgemm_avx512", kRuntime_sgemm_avx512), 32};
  if (sti.checkFeatures("+avx2,+fma"))
    return {blob("sgemm_avx2", kRuntime_sgemm_avx2), 16};
  return {blob("sgemm_sse", kRuntime_sgemm_sse), 8};
}

/// The subtarget `t` names, or null if LLVM cannot build it.
static std::unique_ptr<llvm::MCSubtargetInfo> subtargetInfo(const qcc::ResolvedTarget &t) {
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(t.triple, error);
  if (!target)
    return nullptr;
  return std::unique_ptr<llvm::MCSubtargetInfo>(
      target->createMCSubtargetInfo(t.triple, t.cpu, t.features));
}

int64_t qcc::sgemmPanelWidth(const ResolvedTarget &t) {
  auto sti = subtargetInfo(t);
  return sti ? sgemmVariant(llvm::Triple(t.triple), *sti).panelWidth : 0;
}

namespace {
/// One compiled variant of the quantized-linear kernels and the packed
/// weight layout it reads (qcc-pack-weights' `layout` and `nr`).
struct QgemmVariant {
  Blob code;
  const char *layout;
  int64_t nr;
};
} // namespace

static QgemmVariant qgemmVariant(const llvm::Triple &triple, const llvm::MCSubtargetInfo &sti) {
  if (triple.getArch() == llvm::Triple::aarch64) {
    if (sti.checkFeatures("+dotprod,+i8mm"))
      return {blob("qgemm_neon_i8mm", kRuntime_qgemm_neon_i8mm), "arm64.i8mm", 8};
    if (sti.checkFeatures("+dotprod"))
      return {blob("qgemm_neon_dot", kRuntime_qgemm_neon_dot), "arm64.dotprod", 8};
    return {blob("qgemm_neon", kRuntime_qgemm_neon), "arm64.neon", 8};
  }
  // AMX runs the prefill blocks of the VNNI kernels: the same bytes.
  if (sti.checkFeatures("+amx-int8,+amx-tile,+avx512vnni,+avx512bw,+avx512vl,+avx2,+fma,+f16c"))
    return {blob("qgemm_amx", kRuntime_qgemm_amx), "x86.avx512vnni", 16};
  if (sti.checkFeatures("+avx512vnni,+avx512bw,+avx512vl,+avx2,+fma,+f16c"))
    return {blob("qgemm_avx512vnni", kRuntime_qgemm_avx512vnni), "x86.avx512vnni", 16};
  if (sti.checkFeatures("+avx2,+fma"))
    return {blob("qgemm_avx2", kRuntime_qgemm_avx2), "x86.avx2", 8};
  return {blob("qgemm_generic_x86_64", kRuntime_qgemm_generic_x86_64), "x86.generic", 8};
}

qcc::QgemmLayout qcc::qgemmLayout(const ResolvedTarget &t) {
  auto sti = subtargetInfo(t);
  if (!sti)
    return {"", 8};
  QgemmVariant v = qgemmVariant(llvm::Triple(t.triple), *sti);
  return {v.layout, v.nr};
}

LogicalResult qcc::linkKernels(llvm::Module &m, const llvm::TargetMachine &tm,
                               Location loc) {
  Blob context, sgemm;
  if (isX86_64(m))
    context = blob("context_x86_64", kRuntime_context_x86_64);
  else if (isArm64(m))
    context = blob("context_aarch64", kRuntime_context_aarch64);
  else
    return emitError(loc) << "no kernel runtime for " << m.getTargetTriple(), failure();
  llvm::Triple triple(m.getTargetTriple());
  sgemm = sgemmVariant(triple, *tm.getMCSubtargetInfo()).code;
  Blob qgemm = qgemmVariant(triple, *tm.getMCSubtargetInfo()).code;
  // The kernels call the thread pool: link them first so their references
  // pull in what they need.
  if (failed(link(m, sgemm, true, loc)) || failed(link(m, qgemm, true, loc)) ||
      failed(link(m, context, true, loc)))
    return failure();
  // Private to this object: several models link into one program.
  for (llvm::Function &f : m)
    if (!f.isDeclaration() && (f.getName().starts_with("qcc_rt_") ||
                               f.getName().starts_with("_mlir_ciface_qcc_rt_")))
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  return success();
}
