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

/// A probe of `v` whose result replaces `v`. Probes are f32, what the
/// calibration and measurement runs read: an f16 or bf16 value is widened
/// for the probe and narrowed back (exactly) for its users.
Value probeOf(OpBuilder &b, Value v, StringRef name) {
  auto type = cast<RankedTensorType>(v.getType());
  Value x = v;
  if (!type.getElementType().isF32())
    x = b.create<CastOp>(v.getLoc(), type.clone(b.getF32Type()), v);
  Value p = b.create<ObserveOp>(v.getLoc(), x.getType(), x, b.getStringAttr(name));
  if (x != v)
    p = b.create<CastOp>(v.getLoc(), type, p);
  return p;
}

/// Routes every use of `v` except the probe's own through a probe.
void observeValue(Value v, StringRef name) {
  OpBuilder b(v.getContext());
  b.setInsertionPointAfterValue(v);
  Value probe = probeOf(b, v, name);
  Operation *first = probe.getDefiningOp();
  while (first->getNumOperands() && first->getOperand(0) != v)
    first = first->getOperand(0).getDefiningOp();
  v.replaceAllUsesExcept(probe, first);
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
        mm.getLhsMutable().assign(probeOf(b, mm.getLhs(), name));
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
