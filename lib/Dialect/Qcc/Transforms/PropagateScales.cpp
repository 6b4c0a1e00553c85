//===- PropagateScales.cpp - qcc-propagate-scales -------------------------===//
//
// Pre-quantized graphs bracket every op with dequantize / quantize, so data
// movement (reshape, transpose, ...) runs on float copies of integers and
// every hop pays a round trip. The ops' quantization traits say where the
// integers may flow instead; this pass applies them and turns the remaining
// quantize(dequantize) hops into integer requantization.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/Passes.h"
#include "qcc/Dialect/Qcc/Transforms/PatternUtils.h"
#include "qcc/Support/FixedPoint.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace qcc {
#define GEN_PASS_DEF_QCCPROPAGATESCALES
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

using namespace mlir;
using namespace qcc;

namespace {

/// A per-tensor scheme whose scale and zero point are constants.
struct TensorScheme {
  QuantParamsAttr params;
  Value scale, zeroPoint;
  double scaleValue = 0;
  int64_t zeroPointValue = 0;

  /// Same integers mean the same reals.
  bool sameAs(const TensorScheme &o) const {
    return params == o.params && scaleValue == o.scaleValue &&
           zeroPointValue == o.zeroPointValue;
  }
  /// Width of the real interval the integers span.
  double span() const { return scaleValue * double(params.getQMax() - params.getQMin()); }
};

std::optional<TensorScheme> perTensorScheme(QuantParamsAttr params, Value scale, Value zp) {
  if (params.getGranularity() != Granularity::PerTensor)
    return std::nullopt;
  std::optional<std::vector<double>> s = constantFloats(scale);
  if (!s || s->size() != 1)
    return std::nullopt;
  TensorScheme t{params, scale, zp, (*s)[0], 0};
  if (zp) {
    std::optional<std::vector<int64_t>> z = constantInts(zp, params.getIsSigned());
    if (!z || z->size() != 1)
      return std::nullopt;
    t.zeroPointValue = (*z)[0];
  }
  return t;
}

std::optional<TensorScheme> perTensorScheme(DequantizeOp op) {
  return perTensorScheme(op.getParams(), op.getScale(), op.getZeroPoint());
}

/// Integers of scheme `from` re-expressed in scheme `to` (same storage
/// width), or null when the scale ratio has no fixed-point form.
Value requantize(PatternRewriter &b, Location loc, Value x, const TensorScheme &from,
                 const TensorScheme &to) {
  std::optional<FixedPointMultiplier> m =
      fixedPointMultiplier(from.scaleValue / to.scaleValue);
  if (!m)
    return {};
  auto type = cast<RankedTensorType>(x.getType());
  return b.create<RequantizeOp>(
      loc, type.clone(to.params.getStorageType()), x, b.getDenseI32ArrayAttr({m->multiplier}),
      b.getDenseI32ArrayAttr({m->shift}), b.getI64IntegerAttr(from.zeroPointValue),
      b.getI64IntegerAttr(to.zeroPointValue), IntegerAttr(), to.params, from.params);
}

bool isFloatTensor(Type t) {
  auto rt = dyn_cast<RankedTensorType>(t);
  return rt && isa<FloatType>(rt.getElementType());
}

/// op(dequantize(x), ...) -> dequantize(op(x, ...)) for a same-scale op.
struct SinkDequantize : RewritePattern {
  explicit SinkDequantize(MLIRContext *ctx) : RewritePattern(MatchAnyOpTypeTag(), 1, ctx) {}

  LogicalResult matchAndRewrite(Operation *op, PatternRewriter &b) const override {
    if (!op->hasTrait<QuantTrait::QuantSameScale>() || op->getNumResults() != 1 ||
        !isFloatTensor(op->getResult(0).getType()))
      return failure();
    SmallVector<std::pair<OpOperand *, TensorScheme>> inputs;
    for (OpOperand &o : op->getOpOperands()) {
      if (!isFloatTensor(o.get().getType()))
        continue; // indices, dynamic sizes
      auto dq = o.get().getDefiningOp<DequantizeOp>();
      std::optional<TensorScheme> s = dq ? perTensorScheme(dq) : std::nullopt;
      if (!s)
        return b.notifyMatchFailure(op, "a float operand is not a per-tensor dequantize");
      inputs.push_back({&o, *s});
    }
    if (inputs.empty())
      return failure();
    // The result's scheme: the shared one; for a concat of differing inputs
    // the scheme its quantized consumer asks for (values then round once),
    // else the widest input's, so no input is clipped.
    TensorScheme target = inputs.front().second;
    bool agree = llvm::all_of(inputs, [&](auto &in) { return in.second.sameAs(target); });
    bool fromConsumer = false;
    if (!agree) {
      if (!isa<ConcatOp>(op))
        return b.notifyMatchFailure(op, "operands carry different scales");
      for (auto &in : inputs)
        if (in.second.span() > target.span())
          target = in.second;
      if (op->hasOneUse()) {
        auto q = dyn_cast<QuantizeOp>(*op->getUsers().begin());
        if (std::optional<TensorScheme> s =
                q ? perTensorScheme(q.getParams(), q.getScale(), q.getZeroPoint())
                  : std::nullopt) {
          target = *s;
          fromConsumer = true;
        }
      }
      for (auto &in : inputs) {
        if (in.second.params.getStorageType() != target.params.getStorageType() ||
            in.second.params.getIsSigned() != target.params.getIsSigned())
          return b.notifyMatchFailure(op, "operands have different storage types");
        if (!in.second.sameAs(target) &&
            !fixedPointMultiplier(in.second.scaleValue / target.scaleValue))
          return b.notifyMatchFailure(op, "scale ratio has no fixed-point form");
      }
    }
    if (fromConsumer) {
      // The consumer's constants may sit after `op`: copy them before it.
      target.scale = b.clone(*target.scale.getDefiningOp())->getResult(0);
      if (target.zeroPoint)
        target.zeroPoint = b.clone(*target.zeroPoint.getDefiningOp())->getResult(0);
    }
    IRMapping map;
    for (auto &[operand, scheme] : inputs) {
      Value x = operand->get().getDefiningOp<DequantizeOp>().getInput();
      if (!scheme.sameAs(target))
        x = requantize(b, op->getLoc(), x, scheme, target);
      map.map(operand->get(), x);
    }
    Operation *intOp = b.clone(*op, map);
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    intOp->getResult(0).setType(resultType.clone(target.params.getStorageType()));
    b.replaceOpWithNewOp<DequantizeOp>(op, resultType, intOp->getResult(0), target.scale,
                                       target.zeroPoint, target.params);
    return success();
  }
};

/// transpose(dequantize(x)) with per-axis or per-group scales ->
/// dequantize(transpose(x)) along the moved axis (per-group scales and zero
/// points transposed alike). Weights stored transposed in pre-quantized
/// models (Gemm with transB) so reach the linear-layer fusion as [K, N]
/// integer constants: the transposes of constants fold.
struct SinkAxisDequantizeThroughTranspose : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &b) const override {
    auto dq = op.getInput().getDefiningOp<DequantizeOp>();
    if (!dq)
      return failure();
    QuantParamsAttr p = dq.getParams();
    Granularity g = p.getGranularity();
    if (g != Granularity::PerAxis && g != Granularity::PerGroup)
      return b.notifyMatchFailure(op, "per-tensor dequantizes sink as same-scale ops");
    ArrayRef<int64_t> perm = op.getPerm();
    int64_t axis = llvm::find(perm, p.getAxis()) - perm.begin();
    Location loc = op.getLoc();
    auto transposed = [&](Value v) -> Value {
      if (!v)
        return v;
      auto t = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> shape;
      for (int64_t d : perm)
        shape.push_back(t.getDimSize(d));
      return b.create<TransposeOp>(loc, t.clone(shape), v, op.getPermAttr());
    };
    Value x = transposed(dq.getInput());
    Value scale = dq.getScale(), zp = dq.getZeroPoint();
    if (g == Granularity::PerGroup) {
      scale = transposed(scale);
      zp = transposed(zp);
    }
    auto params = QuantParamsAttr::get(op.getContext(), p.getBits(), p.getIsSigned(), g, axis,
                                       p.getGroupSize(), p.getIsSymmetric(), p.getScaleType());
    b.replaceOpWithNewOp<DequantizeOp>(op, op.getType(), x, scale, zp, params);
    return success();
  }
};

/// quantize(dequantize(x)): x itself when the schemes agree, else an
/// integer requantize.
struct FoldQuantizeOfDequantize : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QuantizeOp op, PatternRewriter &b) const override {
    auto dq = op.getInput().getDefiningOp<DequantizeOp>();
    if (!dq)
      return failure();
    std::optional<TensorScheme> out =
        perTensorScheme(op.getParams(), op.getScale(), op.getZeroPoint());
    if (!out)
      return b.notifyMatchFailure(op, "output scheme is not constant per-tensor");
    Value x = dq.getInput();
    QuantParamsAttr inParams = dq.getParams();
    if (inParams.getGranularity() == Granularity::PerTensor) {
      std::optional<TensorScheme> in = perTensorScheme(dq);
      if (!in)
        return b.notifyMatchFailure(op, "input scheme is not constant");
      if (in->sameAs(*out) && x.getType() == op.getType()) {
        b.replaceOp(op, x);
        return success();
      }
      Value r = requantize(b, op.getLoc(), x, *in, *out);
      if (!r)
        return b.notifyMatchFailure(op, "scale ratio has no fixed-point form");
      b.replaceOp(op, r);
      return success();
    }
    if (inParams.getGranularity() != Granularity::PerAxis)
      return b.notifyMatchFailure(op, "per-group input");
    // One multiplier per channel; the zero point must be shared.
    std::optional<std::vector<double>> scales = constantFloats(dq.getScale());
    if (!scales)
      return b.notifyMatchFailure(op, "input scales are not constant");
    int64_t inZp = 0;
    if (Value zp = dq.getZeroPoint()) {
      std::optional<std::vector<int64_t>> zps = constantInts(zp, inParams.getIsSigned());
      if (!zps || llvm::any_of(*zps, [&](int64_t z) { return z != zps->front(); }))
        return b.notifyMatchFailure(op, "per-channel zero points differ");
      inZp = zps->front();
    }
    SmallVector<int32_t> mult, shift;
    for (double s : *scales) {
      std::optional<FixedPointMultiplier> m = fixedPointMultiplier(s / out->scaleValue);
      if (!m)
        return b.notifyMatchFailure(op, "scale ratio has no fixed-point form");
      mult.push_back(m->multiplier);
      shift.push_back(m->shift);
    }
    b.replaceOpWithNewOp<RequantizeOp>(
        op, op.getType(), x, b.getDenseI32ArrayAttr(mult), b.getDenseI32ArrayAttr(shift),
        b.getI64IntegerAttr(inZp), b.getI64IntegerAttr(out->zeroPointValue),
        b.getI64IntegerAttr(inParams.getAxis()), out->params, inParams);
    return success();
  }
};

/// Static activation scales of linear layers fed by fixed-range ops.
void applyFixedRanges(func::FuncOp func) {
  func.walk([](QLinearOp op) {
    if (!op.getActScale() || !op.getActParams())
      return;
    FixedRangeOpInterface src = fixedRangeSource(op.getInput());
    if (!src)
      return;
    auto [lo, hi] = src.getFixedOutputRange();
    double scale = std::max(std::fabs(lo), std::fabs(hi)) / double(op.getActParams()->getQMax());
    Builder b(op);
    op.setActScaleAttr(b.getF32FloatAttr(float(scale)));
    if (auto report = op->getAttrOfType<DictionaryAttr>("qcc.quant_report")) {
      NamedAttrList fields(report);
      fields.set("act_scale", b.getF64FloatAttr(float(scale)));
      fields.set("act_range", b.getF64FloatAttr(std::max(std::fabs(lo), std::fabs(hi))));
      fields.set("act_range_rule", b.getStringAttr(src->getName().getStringRef()));
      op->setAttr("qcc.quant_report", fields.getDictionary(op.getContext()));
    }
  });
}

struct PropagateScales : qcc::impl::QccPropagateScalesBase<PropagateScales> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<SinkDequantize, SinkAxisDequantizeThroughTranspose, FoldQuantizeOfDequantize>(
        &getContext());
    // Every rewrite is valid on its own: a graph the driver leaves partly
    // rewritten (iteration limit) is still correct.
    (void)applyPatternsAndFoldGreedily(getOperation(), std::move(patterns));
    applyFixedRanges(getOperation());
  }
};

} // namespace
