//===- F16Scales.cpp - qcc-f16-scales -------------------------------------===//
//
// A model that arrives quantized brings its weight scales as f32. Decode
// streams every weight once, so the scale bytes cost as much time as the
// weight bytes; f16 scales halve them for a rounding far below the
// quantization error. Scales the rounding would flush, saturate or leave
// subnormal are refused rather than changed silently.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/Passes.h"
#include "qcc/Dialect/Qcc/Transforms/QuantReport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/DenseMap.h"

namespace qcc {
#define GEN_PASS_DEF_QCCF16SCALES
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

using namespace mlir;
using namespace qcc;

namespace {

struct F16Scales : qcc::impl::QccF16ScalesBase<F16Scales> {
  void runOnOperation() override {
    SmallVector<QLinearOp> layers;
    getOperation().walk([&](QLinearOp op) {
      if (op.getWeightParams().getScaleType().isF32())
        layers.push_back(op);
    });
    // A scale constant shared by several layers gets one f16 copy.
    llvm::DenseMap<Value, Value> narrowed;
    for (auto [index, op] : llvm::enumerate(layers)) {
      Value scale = op.getWeightScale();
      DenseElementsAttr values;
      if (!matchPattern(scale, m_Constant(&values)))
        continue;
      Value &half = narrowed[scale];
      if (!half) {
        FailureOr<Value> h = narrow(op, linearLayerName(op, index), scale, values);
        if (failed(h))
          return signalPassFailure();
        half = *h;
      }
      QuantParamsAttr p = op.getWeightParams();
      op.setWeightParamsAttr(QuantParamsAttr::get(
          &getContext(), p.getBits(), p.getIsSigned(), p.getGranularity(), p.getAxis(),
          p.getGroupSize(), p.getIsSymmetric(), Float16Type::get(&getContext())));
      op.getWeightScaleMutable().assign(half);
      if (Operation *def = scale.getDefiningOp(); def->use_empty()) {
        narrowed.erase(scale);
        def->erase();
      }
    }
  }

  /// An f16 constant of `values` beside `scale`'s definition, or an error on
  /// layer `op` (called `name`) for a scale f16 cannot hold to its normal
  /// precision.
  FailureOr<Value> narrow(QLinearOp op, StringRef name, Value scale,
                         DenseElementsAttr values) {
    SmallVector<APFloat> halves;
    halves.reserve(values.getNumElements());
    for (APFloat v : values.getValues<APFloat>()) {
      bool lost;
      APFloat h = v;
      h.convert(APFloat::IEEEhalf(), APFloat::rmNearestTiesToEven, &lost);
      if (!v.isZero() && !h.isNormal())
        return op.emitError() << "layer '" << name << "': weight scale " << v.convertToDouble()
                              << " is outside f16's normal range (--scale-type=f32 keeps it)";
      halves.push_back(h);
    }
    auto type = cast<RankedTensorType>(values.getType());
    OpBuilder b(scale.getDefiningOp());
    return b
        .create<arith::ConstantOp>(
            scale.getLoc(), DenseElementsAttr::get(type.clone(Float16Type::get(&getContext())),
                                                   ArrayRef<APFloat>(halves)))
        .getResult();
  }
};

} // namespace
