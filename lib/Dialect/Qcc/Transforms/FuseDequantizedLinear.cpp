//===- FuseDequantizedLinear.cpp - qcc-fuse-dequantized-linear ------------===//
//
// Pre-quantized models (QDQ, QLinearMatMul) hand over linear weights as
// dequantize(integer constant) feeding a matmul. Kept that way, every call
// would rebuild the float weight matrix; as qcc.qlinear the integers go
// straight to the packed low-bit kernels, as weights qcc quantized itself do.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/Passes.h"

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
                                    dq.getZeroPoint(), /*bias=*/Value(), params,
                                    /*act_params=*/QuantParamsAttr(), /*act_scale=*/FloatAttr());
    return success();
  }
};

struct FuseDequantizedLinear
    : qcc::impl::QccFuseDequantizedLinearBase<FuseDequantizedLinear> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseDequantizedWeight>(&getContext());
    (void)applyPatternsAndFoldGreedily(getOperation(), std::move(patterns));
  }
};

} // namespace
