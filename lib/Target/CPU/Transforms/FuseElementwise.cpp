//===- FuseElementwise.cpp - elementwise fusion without duplicated work ---===//
#include "qcc/Target/CPU/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace qcc {
#define GEN_PASS_DEF_QCCFUSEELEMENTWISE
#include "qcc/Target/CPU/Passes.h.inc"
} // namespace qcc

using namespace mlir;

namespace {
/// The body yields block arguments only: the op moves data, computes nothing.
bool movesDataOnly(linalg::GenericOp g) {
  Block &body = g.getRegion().front();
  if (body.getOperations().size() != 1)
    return false;
  return llvm::all_of(body.getTerminator()->getOperands(),
                      [](Value v) { return isa<BlockArgument>(v); });
}

bool fuseWithoutReuse(OpOperand *fused) {
  Operation *producer = fused->get().getDefiningOp();
  if (!producer || !producer->hasOneUse())
    return false;
  auto consumer = dyn_cast<linalg::LinalgOp>(fused->getOwner());
  if (!consumer)
    return true;
  if (consumer.getMatchingIndexingMap(fused).isPermutation())
    return true;
  auto gen = dyn_cast<linalg::GenericOp>(producer);
  return gen && movesDataOnly(gen);
}

bool producerHasOneUse(OpOperand *fused) {
  Operation *producer = fused->get().getDefiningOp();
  return producer && producer->hasOneUse();
}

struct FuseElementwise : qcc::impl::QccFuseElementwiseBase<FuseElementwise> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    linalg::populateElementwiseOpsFusionPatterns(patterns, fuseWithoutReuse);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, producerHasOneUse);
    linalg::populateConstantFoldLinalgOperations(patterns, producerHasOneUse);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
    ctx->getLoadedDialect<linalg::LinalgDialect>()->getCanonicalizationPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
