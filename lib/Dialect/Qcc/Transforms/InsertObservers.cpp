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

/// The layer name qcc-quantize-weights recorded on `op`, if any.
std::optional<std::string> reportedName(Operation *op) {
  if (auto rec = op->getAttrOfType<DictionaryAttr>("qcc.quant_report"))
    if (auto name = rec.getAs<StringAttr>("layer"))
      return name.str();
  return std::nullopt;
}

/// Routes every use of `v` except the probe's own through a probe.
void observeValue(Value v, StringRef name) {
  OpBuilder b(v.getContext());
  b.setInsertionPointAfterValue(v);
  auto probe = b.create<ObserveOp>(v.getLoc(), v.getType(), v, b.getStringAttr(name));
  v.replaceAllUsesExcept(probe.getResult(), probe);
}

struct InsertObservers : qcc::impl::QccInsertObserversBase<InsertObservers> {
  using Base::Base;

  void runOnOperation() override {
    if (probe != "inputs" && probe != "outputs") {
      getOperation().emitError() << "qcc-insert-observers: unknown probe '" << probe
                                 << "' (inputs or outputs)";
      return signalPassFailure();
    }
    SmallVector<std::pair<Operation *, std::string>> layers;
    int64_t index = 0;
    getOperation().walk([&](Operation *op) {
      if (auto mm = dyn_cast<MatMulOp>(op)) {
        if (!isQuantizableLinear(mm))
          return;
        std::string name = linearLayerName(op, index++);
        layers.push_back({op, reportedName(op).value_or(name)});
      } else if (isa<QLinearOp>(op) && probe == "outputs") {
        if (std::optional<std::string> name = reportedName(op))
          layers.push_back({op, *name});
      }
    });
    for (auto &[op, name] : layers) {
      if (probe == "inputs") {
        auto mm = cast<MatMulOp>(op);
        OpBuilder b(op);
        auto p = b.create<ObserveOp>(op->getLoc(), mm.getLhs().getType(), mm.getLhs(),
                                     b.getStringAttr(name));
        mm.getLhsMutable().assign(p.getResult());
        continue;
      }
      Value out = op->getResult(0);
      if (auto mm = dyn_cast<MatMulOp>(op))
        if (AddOp bias = linearBiasAdd(mm))
          out = bias.getResult();
      observeValue(out, name);
    }
  }
};
} // namespace
