//===- FuseResidual.cpp - qcc-fuse-residual -------------------------------===//
//
// A transformer adds each attention output projection and each FFN down
// projection onto its skip connection. As a separate op that sum reads the
// layer's output back and writes a second tensor; as the layer's residual
// operand the kernels add it while their results are still in registers.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/Passes.h"

namespace qcc {
#define GEN_PASS_DEF_QCCFUSERESIDUAL
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

using namespace mlir;
using namespace qcc;

namespace {

/// The producer of an add's operand `v` when it is a linear layer that can
/// take the add into its epilogue: the add is its only use and it has no
/// residual yet.
QLinearOp fusibleLayer(Value v) {
  auto op = v.getDefiningOp<QLinearOp>();
  if (!op || op.getResidual() || !op->hasOneUse())
    return {};
  return op;
}

struct FuseResidual : qcc::impl::QccFuseResidualBase<FuseResidual> {
  void runOnOperation() override {
    SmallVector<AddOp> adds;
    getOperation().walk([&](AddOp add) { adds.push_back(add); });
    for (AddOp add : adds) {
      // Broadcasting sums stay separate: the residual has the layer's shape.
      if (add.getLhs().getType() != add.getType() || add.getRhs().getType() != add.getType())
        continue;
      // Float addition commutes exactly, so either side may be the layer.
      QLinearOp layer = fusibleLayer(add.getLhs());
      Value residual = add.getRhs();
      if (!layer) {
        layer = fusibleLayer(add.getRhs());
        residual = add.getLhs();
      }
      if (!layer)
        continue;
      // Built at the add, where both the layer's operands and the residual
      // are defined.
      OpBuilder b(add);
      auto fused = b.create<QLinearOp>(
          layer.getLoc(), layer.getType(), layer.getInput(), layer.getWeight(),
          layer.getWeightScale(), layer.getWeightZeroPoint(), layer.getBias(), residual,
          layer.getWeightParams(), layer.getActParamsAttr(), layer.getActScaleAttr());
      fused->setDiscardableAttrs(layer->getDiscardableAttrDictionary());
      add.replaceAllUsesWith(fused.getResult());
      add.erase();
      layer.erase();
    }
  }
};

} // namespace
