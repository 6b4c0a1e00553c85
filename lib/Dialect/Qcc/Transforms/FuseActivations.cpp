//===- FuseActivations.cpp - qcc-fuse-activations -------------------------===//
//
// Exporters spell GELU and SiLU out elementwise; kernels want them whole so
// they can be fused into matmul epilogues.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/PatternUtils.h"
#include "qcc/Dialect/Qcc/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace qcc {
#define GEN_PASS_DEF_QCCFUSEACTIVATIONS
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

using namespace mlir;
using namespace qcc;

namespace {

/// x * sigmoid(x) -> silu(x).
struct FuseSilu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op, PatternRewriter &rewriter) const override {
    for (auto [x, s] : {std::pair(op.getLhs(), op.getRhs()),
                        std::pair(op.getRhs(), op.getLhs())}) {
      auto sig = s.getDefiningOp<SigmoidOp>();
      if (sig && sig.getInput() == x && x.getType() == op.getType()) {
        rewriter.replaceOpWithNewOp<SiluOp>(op, op.getType(), x);
        return success();
      }
    }
    return failure();
  }
};

/// Collects the factors of a product tree of at most `depth` levels.
void collectFactors(Value v, int depth, SmallVectorImpl<Value> &out) {
  auto mul = v.getDefiningOp<MulOp>();
  if (!mul || depth == 0 || !mul->hasOneUse()) {
    out.push_back(v);
    return;
  }
  collectFactors(mul.getLhs(), depth - 1, out);
  collectFactors(mul.getRhs(), depth - 1, out);
}

/// Does `v` compute x * k (or x / (1/k))?
bool isScaled(Value v, Value x, double k) {
  if (auto mul = v.getDefiningOp<MulOp>())
    return otherOperandIf(mul, [&](Value c) { return isSplatFloat(c, k); }) == x;
  if (auto div = v.getDefiningOp<DivOp>())
    return div.getLhs() == x && isSplatFloat(div.getRhs(), 1.0 / k);
  return false;
}

/// Is `v` x^3, as pow(x, 3) or x * x * x?
bool isCube(Value v, Value x) {
  if (auto pow = v.getDefiningOp<PowOp>())
    return pow.getLhs() == x && isSplatFloat(pow.getRhs(), 3.0);
  SmallVector<Value> f;
  collectFactors(v, 2, f);
  return f.size() == 3 && llvm::all_of(f, [&](Value y) { return y == x; });
}

/// 1 + erf(x / sqrt(2)), returning x.
Value matchErfTerm(Value v) {
  auto add = v.getDefiningOp<AddOp>();
  Value e = otherOperandIf(add, [](Value c) { return isSplatFloat(c, 1.0); });
  auto erf = e ? e.getDefiningOp<ErfOp>() : nullptr;
  if (!erf)
    return nullptr;
  Value arg = erf.getInput();
  Operation *def = arg.getDefiningOp();
  if (!def || def->getNumOperands() != 2)
    return nullptr;
  Value x = def->getOperand(0);
  if (isScaled(arg, x, 1.0 / std::sqrt(2.0)))
    return x;
  x = def->getOperand(1);
  return isScaled(arg, x, 1.0 / std::sqrt(2.0)) ? x : nullptr;
}

/// 1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)), returning x.
Value matchTanhTerm(Value v) {
  auto add = v.getDefiningOp<AddOp>();
  Value t = otherOperandIf(add, [](Value c) { return isSplatFloat(c, 1.0); });
  auto tanh = t ? t.getDefiningOp<TanhOp>() : nullptr;
  if (!tanh)
    return nullptr;
  auto outer = tanh.getInput().getDefiningOp<MulOp>();
  Value inner = otherOperandIf(
      outer, [](Value c) { return isSplatFloat(c, std::sqrt(2.0 / M_PI)); });
  auto sum = inner ? inner.getDefiningOp<AddOp>() : nullptr;
  if (!sum)
    return nullptr;
  for (auto [x, cube] : {std::pair(sum.getLhs(), sum.getRhs()),
                         std::pair(sum.getRhs(), sum.getLhs())}) {
    auto m = cube.getDefiningOp<MulOp>();
    Value c3 = otherOperandIf(m, [](Value c) { return isSplatFloat(c, 0.044715); });
    if (c3 && isCube(c3, x))
      return x;
  }
  return nullptr;
}

/// 0.5 * x * (1 + erf(x / sqrt 2)) and the tanh form, in any association.
struct FuseGelu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op, PatternRewriter &rewriter) const override {
    SmallVector<Value> f;
    collectFactors(op.getLhs(), 1, f);
    collectFactors(op.getRhs(), 1, f);
    if (f.size() != 3)
      return failure();
    auto half = llvm::find_if(f, [](Value v) { return isSplatFloat(v, 0.5); });
    if (half == f.end())
      return failure();
    f.erase(half);
    for (auto [x, term] : {std::pair(f[0], f[1]), std::pair(f[1], f[0])}) {
      GeluApprox approx;
      if (matchErfTerm(term) == x)
        approx = GeluApprox::None;
      else if (matchTanhTerm(term) == x)
        approx = GeluApprox::Tanh;
      else
        continue;
      if (x.getType() != op.getType())
        return failure();
      auto gelu = rewriter.create<GeluOp>(op.getLoc(), op.getType(), x);
      gelu.setApproximate(approx);
      rewriter.replaceOp(op, gelu);
      return success();
    }
    return failure();
  }
};

struct QccFuseActivationsPass
    : qcc::impl::QccFuseActivationsBase<QccFuseActivationsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseSilu, FuseGelu>(&getContext());
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
