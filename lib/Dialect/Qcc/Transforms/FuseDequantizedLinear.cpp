//===- FuseDequantizedLinear.cpp - qcc-fuse-dequantized-linear ------------===//
//
// Pre-quantized models (QDQ, QLinearMatMul) hand over linear weights as
// dequantize(integer constant) feeding a matmul. Kept that way, every call
// would rebuild the float weight matrix; as qcc.qlinear the integers go
// straight to the packed low-bit kernels, as weights qcc quantized itself do.
//
// When the activations are themselves dequantized 8-bit integers with one
// scale (QDQ activations, QLinearMatMul) and the weight is 8-bit per column
// or per tensor, the scales factor out of the sum:
//   matmul(dq(qa), dq(W)) = float(qmatmul(qa, W)) * (s_a * s_w)
// so the product runs on the int8 kernels in exact integers (one rounding
// instead of one per product) and the float activations never exist.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/Passes.h"
#include "qcc/Dialect/Qcc/Transforms/PatternUtils.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace qcc {
#define GEN_PASS_DEF_QCCFUSEDEQUANTIZEDLINEAR
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

using namespace mlir;
using namespace qcc;

namespace {

bool isConstant(Value v) { return v && matchPattern(v, m_Constant()); }

/// matmul(x, dequantize(W)) with a constant [K, N] W -> qlinear(x, W).
struct FuseDequantizedWeight : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp op, PatternRewriter &b) const override {
    auto dq = op.getRhs().getDefiningOp<DequantizeOp>();
    if (!dq)
      return failure();
    QuantParamsAttr params = dq.getParams();
    auto wType = cast<RankedTensorType>(dq.getInput().getType());
    auto xType = cast<RankedTensorType>(op.getLhs().getType());
    if (wType.getRank() != 2 || xType.getRank() < 2 || !wType.hasStaticShape())
      return b.notifyMatchFailure(op, "not a [K, N] weight applied to rows");
    if (!isConstant(dq.getInput()) || !isConstant(dq.getScale()) ||
        (dq.getZeroPoint() && !isConstant(dq.getZeroPoint())))
      return b.notifyMatchFailure(op, "weight, scale or zero point is not constant");
    if (params.getBits() != 4 && params.getBits() != 8)
      return b.notifyMatchFailure(op, "weights of other widths have no kernel");
    // qlinear's schemes: per output column, per group along K, per tensor.
    Granularity g = params.getGranularity();
    if ((g == Granularity::PerAxis && params.getAxis() != 1) ||
        (g == Granularity::PerGroup && params.getAxis() != 0))
      return b.notifyMatchFailure(op, "scales do not run along the output columns or K");
    if (!isa<FloatType>(xType.getElementType()) || op.getType().getRank() != xType.getRank())
      return failure();
    b.replaceOpWithNewOp<QLinearOp>(op, op.getType(), op.getLhs(), dq.getInput(), dq.getScale(),
                                    dq.getZeroPoint(), /*bias=*/Value(),
                                    /*residual=*/Value(), params,
                                    /*act_params=*/QuantParamsAttr(), /*act_scale=*/FloatAttr());
    return success();
  }
};

/// matmul(dequantize(qa) per tensor, dequantize(W)) with an 8-bit constant
/// [K, N] W per column or per tensor -> float(qmatmul(qa, W)) * (s_a * s_w).
struct FuseDequantizedMatmul : OpRewritePattern<MatMulOp> {
  FuseDequantizedMatmul(MLIRContext *ctx) : OpRewritePattern(ctx, /*benefit=*/2) {}

  LogicalResult matchAndRewrite(MatMulOp op, PatternRewriter &b) const override {
    auto a = op.getLhs().getDefiningOp<DequantizeOp>();
    auto w = op.getRhs().getDefiningOp<DequantizeOp>();
    if (!a || !w)
      return failure();
    QuantParamsAttr ap = a.getParams(), wp = w.getParams();
    auto aType = cast<RankedTensorType>(a.getInput().getType());
    auto wType = cast<RankedTensorType>(w.getInput().getType());
    auto resultType = op.getType();
    if (ap.getBits() != 8 || ap.getGranularity() != Granularity::PerTensor ||
        cast<RankedTensorType>(a.getScale().getType()).getNumElements() != 1)
      return b.notifyMatchFailure(op, "activations are not 8-bit with one scale");
    if (wp.getBits() != 8 || wType.getRank() != 2 || !wType.hasStaticShape() ||
        (wp.getGranularity() == Granularity::PerAxis && wp.getAxis() != 1) ||
        wp.getGranularity() == Granularity::PerGroup)
      return b.notifyMatchFailure(op, "weight is not [K, N] 8-bit per column or per tensor");
    if (!isConstant(w.getScale()) ||
        !centeredInt8Weight(w.getInput(), w.getZeroPoint(), wp.getIsSigned()))
      return b.notifyMatchFailure(op, "weight is not constant or not in the kernels' range");
    if (!resultType.getElementType().isF32() || aType.getRank() < 1 ||
        resultType.getRank() != aType.getRank())
      return failure();
    Value sa = a.getScale(), sw = w.getScale();
    auto saType = cast<RankedTensorType>(sa.getType()), swType = cast<RankedTensorType>(sw.getType());
    if (!saType.getElementType().isF32() || !swType.getElementType().isF32())
      return b.notifyMatchFailure(op, "scales are not f32");
    Location loc = op.getLoc();
    Value acc = b.create<QMatMulOp>(loc, resultType.clone(b.getI32Type()), a.getInput(),
                                    w.getInput(), a.getZeroPoint(), w.getZeroPoint(),
                                    /*out_scale=*/Value(), ap, wp);
    auto scaleType = swType.getRank() >= saType.getRank() ? swType : saType;
    Value scale = b.create<MulOp>(loc, scaleType, sa, sw);
    Value y = b.create<CastOp>(loc, resultType, acc);
    b.replaceOpWithNewOp<MulOp>(op, resultType, y, scale);
    return success();
  }
};

struct FuseDequantizedLinear
    : qcc::impl::QccFuseDequantizedLinearBase<FuseDequantizedLinear> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseDequantizedWeight, FuseDequantizedMatmul>(&getContext());
    (void)applyPatternsAndFoldGreedily(getOperation(), std::move(patterns));
  }
};

} // namespace
