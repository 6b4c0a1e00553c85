//===- FuseNormalizations.cpp - qcc-fuse-normalizations -------------------===//
//
// Exporters often emit LayerNorm and RMSNorm as chains of reductions and
// elementwise ops; the fused ops let later passes keep them in float and
// lower them as one kernel.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/PatternUtils.h"
#include "qcc/Dialect/Qcc/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace qcc {
#define GEN_PASS_DEF_QCCFUSENORMALIZATIONS
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

using namespace mlir;
using namespace qcc;

namespace {

/// mean over the last axis with keepdims: returns its input.
Value matchLastAxisMean(Value v) {
  auto r = v.getDefiningOp<ReduceOp>();
  if (!r || r.getKind() != ReduceKind::Mean || !r.getKeepdims() ||
      r.getAxes().size() != 1 ||
      r.getAxes()[0] != r.getInput().getType().getRank() - 1)
    return nullptr;
  return r.getInput();
}

/// y^2 as pow(y, 2) or y * y: returns y.
Value matchSquare(Value v) {
  if (auto p = v.getDefiningOp<PowOp>())
    return isSplatFloat(p.getRhs(), 2.0) ? p.getLhs() : nullptr;
  if (auto m = v.getDefiningOp<MulOp>())
    return m.getLhs() == m.getRhs() ? m.getLhs() : nullptr;
  return nullptr;
}

/// sqrt(stat + eps): returns stat and eps.
Value matchSqrtPlusEps(Value v, double &eps) {
  auto s = v.getDefiningOp<SqrtOp>();
  auto add = s ? s.getInput().getDefiningOp<AddOp>() : nullptr;
  if (!add)
    return nullptr;
  for (auto [stat, e] : {std::pair(add.getLhs(), add.getRhs()),
                         std::pair(add.getRhs(), add.getLhs())})
    if (std::optional<double> c = getSplatFloat(e)) {
      eps = *c;
      return stat;
    }
  return nullptr;
}

/// num / sqrt(stat + eps), or num * reciprocal(sqrt(...)), or
/// num * (1 / sqrt(...)): returns num, stat and eps.
bool matchNormalize(Value v, Value &num, Value &stat, double &eps) {
  if (auto div = v.getDefiningOp<DivOp>()) {
    num = div.getLhs();
    stat = matchSqrtPlusEps(div.getRhs(), eps);
    return stat != nullptr;
  }
  auto mul = v.getDefiningOp<MulOp>();
  if (!mul)
    return false;
  for (auto [n, r] : {std::pair(mul.getLhs(), mul.getRhs()),
                      std::pair(mul.getRhs(), mul.getLhs())}) {
    Value denom;
    if (auto rec = r.getDefiningOp<ReciprocalOp>())
      denom = rec.getInput();
    else if (auto d = r.getDefiningOp<DivOp>(); d && isSplatFloat(d.getLhs(), 1.0))
      denom = d.getRhs();
    if (!denom)
      continue;
    if ((stat = matchSqrtPlusEps(denom, eps))) {
      num = n;
      return true;
    }
  }
  return false;
}

/// A 1-D weight over the last axis of `x`.
bool isLastAxisParam(Value w, Value x) {
  auto wt = cast<RankedTensorType>(w.getType());
  auto xt = cast<RankedTensorType>(x.getType());
  return wt.getRank() == 1 && wt.getElementType() == xt.getElementType() &&
         wt.getDimSize(0) == xt.getDimSize(xt.getRank() - 1) &&
         !wt.isDynamicDim(0);
}

/// w * (x / sqrt(mean(x^2) + eps)) -> rms_norm(x, w).
struct FuseRMSNorm : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op, PatternRewriter &rewriter) const override {
    for (auto [w, n] : {std::pair(op.getLhs(), op.getRhs()),
                        std::pair(op.getRhs(), op.getLhs())}) {
      Value x, stat;
      double eps;
      if (!matchNormalize(n, x, stat, eps))
        continue;
      Value sq = matchLastAxisMean(stat);
      if (!sq || matchSquare(sq) != x || x.getType() != op.getType() ||
          !isLastAxisParam(w, x))
        continue;
      int64_t axis = cast<RankedTensorType>(x.getType()).getRank() - 1;
      rewriter.replaceOpWithNewOp<RMSNormOp>(op, op.getType(), x, w,
                                             rewriter.getI64IntegerAttr(axis),
                                             rewriter.getF64FloatAttr(eps));
      return success();
    }
    return failure();
  }
};

/// (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) * w + b -> layer_norm.
struct FuseLayerNorm : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp op, PatternRewriter &rewriter) const override {
    for (auto [scaled, b] : {std::pair(op.getLhs(), op.getRhs()),
                             std::pair(op.getRhs(), op.getLhs())}) {
      auto mul = scaled.getDefiningOp<MulOp>();
      if (!mul)
        continue;
      for (auto [w, n] : {std::pair(mul.getLhs(), mul.getRhs()),
                          std::pair(mul.getRhs(), mul.getLhs())}) {
        Value centered, stat;
        double eps;
        if (!matchNormalize(n, centered, stat, eps))
          continue;
        auto sub = centered.getDefiningOp<SubOp>();
        if (!sub || matchLastAxisMean(sub.getRhs()) != sub.getLhs())
          continue;
        Value x = sub.getLhs();
        Value sq = matchLastAxisMean(stat);
        if (!sq || matchSquare(sq) != centered || x.getType() != op.getType() ||
            !isLastAxisParam(w, x) || !isLastAxisParam(b, x))
          continue;
        int64_t axis = cast<RankedTensorType>(x.getType()).getRank() - 1;
        rewriter.replaceOpWithNewOp<LayerNormOp>(
            op, op.getType(), x, w, b, rewriter.getI64IntegerAttr(axis),
            rewriter.getF64FloatAttr(eps));
        return success();
      }
    }
    return failure();
  }
};

struct QccFuseNormalizationsPass
    : qcc::impl::QccFuseNormalizationsBase<QccFuseNormalizationsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseRMSNorm, FuseLayerNorm>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
