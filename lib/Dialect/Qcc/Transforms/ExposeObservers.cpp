//===- ExposeObservers.cpp - qcc-expose-observers --------------------------===//
#include "qcc/Dialect/Qcc/Transforms/Passes.h"

namespace qcc {
#define GEN_PASS_DEF_QCCEXPOSEOBSERVERS
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

using namespace mlir;
using namespace qcc;

namespace {
struct ExposeObservers : qcc::impl::QccExposeObserversBase<ExposeObservers> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isPrivate() || func.isExternal())
        continue;
      SmallVector<ObserveOp> probes;
      func.walk([&](ObserveOp op) { probes.push_back(op); });
      if (probes.empty())
        continue;
      auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
      // A probed value may itself be returned: unhook the probes first.
      for (ObserveOp op : probes)
        op.replaceAllUsesWith(op.getInput());
      SmallVector<Value> results(ret.getOperands());
      unsigned first = results.size();
      for (ObserveOp op : probes)
        results.push_back(op.getInput());
      OpBuilder(ret).create<func::ReturnOp>(ret.getLoc(), results);
      ret.erase();
      for (auto [i, op] : llvm::enumerate(probes)) {
        OpBuilder b(op);
        NamedAttribute attrs[] = {
            b.getNamedAttr("qcc.name", b.getStringAttr("qcc_observe_" + std::to_string(i))),
            b.getNamedAttr("qcc.observe", op.getNameAttr())};
        func.insertResult(first + i, op.getInput().getType(), b.getDictionaryAttr(attrs));
        op.erase();
      }
    }
  }
};
} // namespace
