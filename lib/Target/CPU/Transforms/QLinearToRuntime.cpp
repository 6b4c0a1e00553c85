//===- QLinearToRuntime.cpp - packed linear layers through the runtime ----===//
#include "qcc/Target/CPU/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "qcc/Dialect/Qcc/IR/QccOps.h"
#include "qcc/Target/CPU/RuntimeCalls.h"

namespace qcc {
#define GEN_PASS_DEF_QCCQLINEARTORUNTIME
#include "qcc/Target/CPU/Passes.h.inc"
} // namespace qcc

using namespace mlir;

namespace {
constexpr char kQLinear[] = "qcc_rt_qlinear";

struct QLinearToRuntime : qcc::impl::QccQLinearToRuntimeBase<QLinearToRuntime> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    qcc::lowerPackedOps<qcc::QLinearOp>(
        module, [](qcc::QLinearOp op) { return op.getWeight(); },
        [&](qcc::QLinearOp op, memref::GlobalOp global) { lower(module, op, global); });
  }

  void lower(ModuleOp module, qcc::QLinearOp op, memref::GlobalOp global) {
    MLIRContext *ctx = &getContext();
    OpBuilder b(op);
    Location loc = op.getLoc();
    Type f32 = b.getF32Type();
    auto xType = op.getInput().getType();
    auto yType = op.getType();
    int64_t K = op.getWeight().getType().getDimSize(0);
    int64_t N = op.getWeight().getType().getDimSize(1);

    auto dynamic2d = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic}, f32);
    auto dynamic1d = [&](Type elt) { return MemRefType::get({ShapedType::kDynamic}, elt); };

    Value x = b.create<bufferization::ToMemrefOp>(
        loc, MemRefType::get(xType.getShape(), f32), op.getInput());
    x = b.create<memref::CastOp>(loc, dynamic2d, qcc::memrefRows(b, loc, x, K));

    Value w = b.create<memref::GetGlobalOp>(loc, global.getType(), global.getSymName());
    w = b.create<memref::CastOp>(loc, dynamic1d(b.getI8Type()), w);

    Value bias;
    if (Value bt = op.getBias())
      bias = b.create<bufferization::ToMemrefOp>(
          loc, MemRefType::get(cast<RankedTensorType>(bt.getType()).getShape(), f32), bt);
    else
      bias = b.create<memref::AllocaOp>(loc, MemRefType::get({0}, f32));
    bias = b.create<memref::CastOp>(loc, dynamic1d(f32), bias);

    // No residual: an empty buffer, which the runtime reads as none.
    Value residual;
    if (Value rt = op.getResidual()) {
      residual = b.create<bufferization::ToMemrefOp>(
          loc, MemRefType::get(yType.getShape(), f32), rt);
      residual = qcc::memrefRows(b, loc, residual, N);
    } else {
      residual = b.create<memref::AllocaOp>(loc, MemRefType::get({0, 0}, f32));
    }
    residual = b.create<memref::CastOp>(loc, dynamic2d, residual);

    Value out = qcc::allocResultBuffer(b, loc, yType, op.getInput());
    Value y = b.create<memref::CastOp>(loc, dynamic2d, qcc::memrefRows(b, loc, out, N));

    Value act = b.create<arith::ConstantIntOp>(loc, op.getActParams() ? 1 : 0, 64);
    FloatAttr staticScale = op.getActScaleAttr();
    Value actScale = b.create<arith::ConstantOp>(
        loc, staticScale ? staticScale : b.getF32FloatAttr(0.0f));
    Value context = qcc::runtimeContext(b, loc, op->getParentOfType<func::FuncOp>());
    func::FuncOp fn = qcc::lookupOrDeclareRuntimeFunc(
        module, kQLinear,
        FunctionType::get(ctx,
                          {context.getType(), dynamic2d, dynamic1d(b.getI8Type()),
                           dynamic1d(f32), dynamic2d, dynamic2d, b.getI64Type(), f32},
                          {}),
        /*cInterface=*/true);
    b.create<func::CallOp>(loc, fn,
                           ValueRange{context, x, w, bias, residual, y, act, actScale});
    Value result = b.create<bufferization::ToTensorOp>(loc, yType, out, /*restrict=*/true,
                                                       /*writable=*/true);
    op.replaceAllUsesWith(result);
    op.erase();
  }
};
} // namespace
