//===- QuantizeAttention.cpp - qcc-quantize-attention ---------------------===//
//
// Products of two activations (attention scores Q K^T and the weighted sum
// P V) have no constant weight to pre-quantize: both operands are quantized
// when the model runs, and the product runs on int8 with i32 accumulators.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/Passes.h"
#include "qcc/Dialect/Qcc/Transforms/QuantReport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

namespace qcc {
#define GEN_PASS_DEF_QCCQUANTIZEATTENTION
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

using namespace mlir;
using namespace qcc;

namespace {

bool isActivation(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.getElementType().isF32() && t.getRank() >= 2 && !matchPattern(v, m_Constant());
}

struct QuantizeAttention : qcc::impl::QccQuantizeAttentionBase<QuantizeAttention> {
  void runOnOperation() override {
    SmallVector<MatMulOp> products;
    getOperation().walk([&](MatMulOp op) {
      if (isActivation(op.getLhs()) && isActivation(op.getRhs()))
        products.push_back(op);
    });
    for (auto [i, op] : llvm::enumerate(products))
      rewrite(op, i);
  }

  /// int8 per-tensor integers of `v` and their scale (a scalar tensor): the
  /// scale is fixed when `v` comes from a fixed-range op, else computed
  /// from the data.
  std::pair<Value, Value> quantize(OpBuilder &b, Location loc, Value v, QuantParamsAttr s8,
                                   std::string &note) {
    auto t = cast<RankedTensorType>(v.getType());
    auto intType = t.clone(b.getI8Type());
    auto scaleType = RankedTensorType::get({}, b.getF32Type());
    if (FixedRangeOpInterface src = fixedRangeSource(v)) {
      auto [lo, hi] = src.getFixedOutputRange();
      float scale = float(std::max(std::fabs(lo), std::fabs(hi))) / float(s8.getQMax());
      Value s = b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(scaleType, scale));
      note += (note.empty() ? "" : ", ") + src->getName().getStringRef().str() +
              " range fixes a scale";
      return {b.create<QuantizeOp>(loc, intType, v, s, Value(), s8), s};
    }
    auto dq = b.create<DynamicQuantizeOp>(loc, intType, scaleType, Type(), v, s8);
    return {dq.getResult(), dq.getScale()};
  }

  void rewrite(MatMulOp op, int64_t index) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    MLIRContext *ctx = &getContext();
    auto s8 = QuantParamsAttr::get(ctx, 8, true, Granularity::PerTensor, 0, 0, true,
                                   b.getF32Type());
    std::string note;
    auto [qa, sa] = quantize(b, loc, op.getLhs(), s8, note);
    auto [qb, sb] = quantize(b, loc, op.getRhs(), s8, note);
    auto type = op.getType();
    auto acc = b.create<QMatMulOp>(loc, type.clone(b.getI32Type()), qa, qb, Value(), Value(),
                                   /*out_scale=*/Value(), s8, s8);
    Value scale = b.create<MulOp>(loc, sa.getType(), sa, sb);
    Value y = b.create<CastOp>(loc, type, acc.getResult());
    y = b.create<MulOp>(loc, type, y, scale);
    std::string name = linearLayerName(op, index);
    if (name.rfind("linear_", 0) == 0)
      name = "attention_" + std::to_string(index);
    SmallVector<NamedAttribute> report{
        b.getNamedAttr("layer", b.getStringAttr(name)),
        b.getNamedAttr("scheme", b.getStringAttr("activation product, int8 x int8 per-tensor")),
        b.getNamedAttr("algo", b.getStringAttr("-"))};
    if (!note.empty())
      report.push_back(b.getNamedAttr("note", b.getStringAttr(note)));
    acc->setAttr("qcc.quant_report", b.getDictionaryAttr(report));
    op.replaceAllUsesWith(y);
    op.erase();
  }
};

} // namespace
