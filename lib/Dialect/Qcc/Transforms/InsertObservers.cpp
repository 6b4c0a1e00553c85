//===- InsertObservers.cpp - qcc-insert-observers --------------------------===//
#include "qcc/Dialect/Qcc/Transforms/Passes.h"
#include "qcc/Dialect/Qcc/Transforms/QuantReport.h"

namespace qcc {
#define GEN_PASS_DEF_QCCINSERTOBSERVERS
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

using namespace mlir;
using namespace qcc;

namespace {
struct InsertObservers : qcc::impl::QccInsertObserversBase<InsertObservers> {
  void runOnOperation() override {
    int64_t index = 0;
    getOperation().walk([&](MatMulOp op) {
      if (!isQuantizableLinear(op))
        return;
      std::string name = linearLayerName(op, index++);
      OpBuilder b(op);
      Value x = op.getLhs();
      auto probe = b.create<ObserveOp>(op.getLoc(), x.getType(), x, b.getStringAttr(name));
      op.getLhsMutable().assign(probe.getResult());
    });
  }
};
} // namespace
