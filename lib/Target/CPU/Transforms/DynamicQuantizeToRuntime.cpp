//===- DynamicQuantizeToRuntime.cpp - DynamicQuantizeLinear in the runtime -===//
#include "qcc/Target/CPU/Passes.h"

#include "qcc/Dialect/Qcc/IR/QccOps.h"
#include "qcc/Target/CPU/RuntimeCalls.h"

namespace qcc {
#define GEN_PASS_DEF_QCCDYNAMICQUANTIZETORUNTIME
#include "qcc/Target/CPU/Passes.h.inc"
} // namespace qcc

using namespace mlir;

namespace {
constexpr char kDynamicQuantize[] = "qcc_rt_dynamic_quantize_u8";

/// ONNX DynamicQuantizeLinear's scheme, the one the runtime implements.
bool isRuntimeScheme(qcc::DynamicQuantizeOp op) {
  qcc::QuantParamsAttr p = op.getParams();
  auto in = cast<RankedTensorType>(op.getInput().getType());
  auto scale = cast<RankedTensorType>(op.getScale().getType());
  Type i8 = IntegerType::get(op.getContext(), 8); // u8 values, signless storage
  return p.getGranularity() == qcc::Granularity::PerTensor && p.getBits() == 8 &&
         !p.getIsSigned() && !p.getIsSymmetric() && op.getZeroPoint() &&
         in.getElementType().isF32() && in.getRank() >= 1 && scale.getElementType().isF32() &&
         scale.getRank() <= 1 && scale.getNumElements() == 1 &&
         op.getZeroPoint().getType() == RankedTensorType::get(scale.getShape(), i8) &&
         op.getResult().getType().getElementType() == i8;
}

struct DynamicQuantizeToRuntime
    : qcc::impl::QccDynamicQuantizeToRuntimeBase<DynamicQuantizeToRuntime> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<qcc::DynamicQuantizeOp> ops;
    module.walk([&](qcc::DynamicQuantizeOp op) {
      if (isRuntimeScheme(op))
        ops.push_back(op);
    });
    for (qcc::DynamicQuantizeOp op : ops)
      lower(module, op);
  }

  void lower(ModuleOp module, qcc::DynamicQuantizeOp op) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Type i8 = b.getI8Type(), f32 = b.getF32Type();
    auto xType = cast<RankedTensorType>(op.getInput().getType());
    auto qType = cast<RankedTensorType>(op.getResult().getType());
    auto dyn1d = [](Type elt) { return MemRefType::get({ShapedType::kDynamic}, elt); };
    // All dims in one: the buffers have the identity layout.
    auto flat = [&](Value m) -> Value {
      auto t = cast<MemRefType>(m.getType());
      if (t.getRank() > 1) {
        ReassociationIndices all;
        for (int64_t i = 0; i < t.getRank(); ++i)
          all.push_back(i);
        m = b.create<memref::CollapseShapeOp>(loc, m, ArrayRef<ReassociationIndices>{all});
      }
      Type to = dyn1d(t.getElementType());
      return m.getType() == to ? m : b.create<memref::CastOp>(loc, to, m).getResult();
    };
    Value x = b.create<bufferization::ToMemrefOp>(
        loc, MemRefType::get(xType.getShape(), f32), op.getInput());
    Value q = qcc::allocResultBuffer(b, loc, qType, op.getInput());
    auto one = [&](Type elt) {
      return b.create<memref::AllocOp>(loc, MemRefType::get({1}, elt), b.getI64IntegerAttr(64));
    };
    Value scale = one(f32), zp = one(i8);
    Value context = qcc::runtimeContext(b, loc, op->getParentOfType<func::FuncOp>());
    SmallVector<Type> argTypes = {context.getType(), dyn1d(f32), dyn1d(i8), dyn1d(f32),
                                  dyn1d(i8)};
    func::FuncOp fn = qcc::lookupOrDeclareRuntimeFunc(
        module, kDynamicQuantize, FunctionType::get(&getContext(), argTypes, {}),
        /*cInterface=*/true);
    b.create<func::CallOp>(
        loc, fn,
        ValueRange{context, flat(x), flat(q), b.create<memref::CastOp>(loc, dyn1d(f32), scale),
                   b.create<memref::CastOp>(loc, dyn1d(i8), zp)});
    // The one-element scale and zero point as the results' [1] or [].
    auto asResult = [&](Value m, Value result) -> Value {
      auto type = cast<RankedTensorType>(result.getType());
      auto t1 = RankedTensorType::get({1}, type.getElementType());
      Value t = b.create<bufferization::ToTensorOp>(loc, t1, m, /*restrict=*/true,
                                                    /*writable=*/true);
      if (type.getRank() == 1)
        return t;
      return b.create<tensor::CollapseShapeOp>(loc, type, t, ArrayRef<ReassociationIndices>{});
    };
    Value qt = b.create<bufferization::ToTensorOp>(loc, qType, q, /*restrict=*/true,
                                                   /*writable=*/true);
    Value st = asResult(scale, op.getScale()), zt = asResult(zp, op.getZeroPoint());
    op.getResult().replaceAllUsesWith(qt);
    op.getScale().replaceAllUsesWith(st);
    op.getZeroPoint().replaceAllUsesWith(zt);
    op.erase();
  }
};
} // namespace
