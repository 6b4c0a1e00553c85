//===- QMatMulToRuntime.cpp - packed integer matmuls through the runtime --===//
#include "qcc/Target/CPU/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "qcc/Dialect/Qcc/IR/QccOps.h"
#include "qcc/Target/CPU/RuntimeCalls.h"

namespace qcc {
#define GEN_PASS_DEF_QCCQMATMULTORUNTIME
#include "qcc/Target/CPU/Passes.h.inc"
} // namespace qcc

using namespace mlir;

namespace {
constexpr char kQMatMul[] = "qcc_rt_qmatmul";
constexpr char kQMatMulScaled[] = "qcc_rt_qmatmul_scaled";

struct QMatMulToRuntime : qcc::impl::QccQMatMulToRuntimeBase<QMatMulToRuntime> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    qcc::lowerPackedOps<qcc::QMatMulOp>(
        module, [](qcc::QMatMulOp op) { return op.getRhs(); },
        [&](qcc::QMatMulOp op, memref::GlobalOp global) { lower(module, op, global); });
  }

  void lower(ModuleOp module, qcc::QMatMulOp op, memref::GlobalOp global) {
    MLIRContext *ctx = &getContext();
    OpBuilder b(op);
    Location loc = op.getLoc();
    Type i8 = b.getI8Type(), f32 = b.getF32Type();
    auto aType = op.getLhs().getType();
    auto yType = op.getType();
    int64_t K = op.getRhs().getType().getDimSize(0);
    int64_t N = op.getRhs().getType().getDimSize(1);
    auto dynamic2d = [&](Type elt) {
      return MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic}, elt);
    };
    auto dynamic1d = MemRefType::get({ShapedType::kDynamic}, i8);

    Value a = b.create<bufferization::ToMemrefOp>(loc, MemRefType::get(aType.getShape(), i8),
                                                  op.getLhs());
    a = b.create<memref::CastOp>(loc, dynamic2d(i8), qcc::memrefRows(b, loc, a, K));

    // The zero point as a 1-D buffer: empty, one value, or one per row.
    Value zp;
    if (Value z = op.getLhsZeroPoint()) {
      auto zType = cast<RankedTensorType>(z.getType());
      if (zType.getRank() == 0)
        z = b.create<tensor::ExpandShapeOp>(loc, RankedTensorType::get({1}, i8), z,
                                            ArrayRef<ReassociationIndices>{});
      auto zt = cast<RankedTensorType>(z.getType());
      zp = b.create<bufferization::ToMemrefOp>(loc, MemRefType::get(zt.getShape(), i8), z);
    } else {
      zp = b.create<memref::AllocaOp>(loc, MemRefType::get({0}, i8));
    }
    zp = b.create<memref::CastOp>(loc, dynamic1d, zp);

    Value w = b.create<memref::GetGlobalOp>(loc, global.getType(), global.getSymName());
    w = b.create<memref::CastOp>(loc, dynamic1d, w);

    Type yElt = yType.getElementType();
    Value out = qcc::allocResultBuffer(b, loc, yType, op.getLhs());
    Value y = b.create<memref::CastOp>(loc, dynamic2d(yElt), qcc::memrefRows(b, loc, out, N));

    Value isUnsigned =
        b.create<arith::ConstantIntOp>(loc, op.getLhsParams().getIsSigned() ? 0 : 1, 64);
    Value context = qcc::runtimeContext(b, loc, op->getParentOfType<func::FuncOp>());
    SmallVector<Type> argTypes = {context.getType(), dynamic2d(i8), dynamic1d, b.getI64Type(),
                                  dynamic1d};
    SmallVector<Value> args = {context, a, zp, isUnsigned, w};
    // The scales as a 1-D buffer: one value or one per column.
    if (Value s = op.getOutScale()) {
      if (cast<RankedTensorType>(s.getType()).getRank() == 0)
        s = b.create<tensor::ExpandShapeOp>(loc, RankedTensorType::get({1}, f32), s,
                                            ArrayRef<ReassociationIndices>{});
      auto st = cast<RankedTensorType>(s.getType());
      Value sm = b.create<bufferization::ToMemrefOp>(loc, MemRefType::get(st.getShape(), f32), s);
      auto scales1d = MemRefType::get({ShapedType::kDynamic}, f32);
      argTypes.push_back(scales1d);
      args.push_back(b.create<memref::CastOp>(loc, scales1d, sm));
    }
    argTypes.push_back(dynamic2d(yElt));
    args.push_back(y);
    func::FuncOp fn = qcc::lookupOrDeclareRuntimeFunc(
        module, op.getOutScale() ? kQMatMulScaled : kQMatMul,
        FunctionType::get(ctx, argTypes, {}), /*cInterface=*/true);
    b.create<func::CallOp>(loc, fn, args);
    Value result = b.create<bufferization::ToTensorOp>(loc, yType, out, /*restrict=*/true,
                                                       /*writable=*/true);
    op.replaceAllUsesWith(result);
    op.erase();
  }
};
} // namespace
