//===- AddRuntimeContext.cpp - the run-time context argument --------------===//
#include "qcc/Target/CPU/Passes.h"

namespace qcc {
#define GEN_PASS_DEF_QCCADDRUNTIMECONTEXT
#include "qcc/Target/CPU/Passes.h.inc"
} // namespace qcc

using namespace mlir;

namespace {
struct AddRuntimeContext
    : qcc::impl::QccAddRuntimeContextBase<AddRuntimeContext> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    for (auto f : getOperation().getOps<func::FuncOp>()) {
      if (!f.isPublic() || f.isDeclaration())
        continue;
      // Idempotent: a function that has one keeps it.
      if (f.getNumArguments() > 0 && f.getArgAttr(0, qcc::kRuntimeContextAttr))
        continue;
      f.insertArgument(0, ptr,
                       DictionaryAttr::get(ctx, {NamedAttribute(
                                                    StringAttr::get(ctx, qcc::kRuntimeContextAttr),
                                                    UnitAttr::get(ctx))}),
                       f.getLoc());
    }
  }
};
} // namespace
