//===- FuseQMatMulScale.cpp - qcc-fuse-qmatmul-scale ----------------------===//
//
// An integer matmul in a dynamic int8 graph is followed by a cast to f32 and
// a multiply by the product of its scales. Apart, the i32 matrix is written
// by the kernel, read by a loop that writes the f32 one, single-threaded; as
// the qmatmul's out_scale the kernel does both while the sums are in
// registers, with the same roundings.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/Passes.h"

#include "qcc/Dialect/Qcc/IR/QccOps.h"

namespace qcc {
#define GEN_PASS_DEF_QCCFUSEQMATMULSCALE
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

using namespace mlir;
using namespace qcc;

namespace {

/// The qmatmul behind `v` = cast(qmatmul) when both have `v`'s user as
/// their only use and the qmatmul has no scale yet.
QMatMulOp castQMatMul(Value v) {
  auto cast = v.getDefiningOp<CastOp>();
  if (!cast || !cast->hasOneUse() || !cast.getType().getElementType().isF32())
    return {};
  auto mm = cast.getInput().getDefiningOp<QMatMulOp>();
  if (!mm || mm.getOutScale() || !mm->hasOneUse())
    return {};
  return mm;
}

/// Whether `s` scales a [.., N] f32 result per column or as one value.
bool isColumnScale(Value s, RankedTensorType result) {
  auto t = dyn_cast<RankedTensorType>(s.getType());
  if (!t || !t.getElementType().isF32() || t.getRank() > 1)
    return false;
  int64_t n = result.getDimSize(result.getRank() - 1);
  return t.getRank() == 0 || t.getDimSize(0) == 1 ||
         (t.getDimSize(0) == n && !ShapedType::isDynamic(n));
}

struct FuseQMatMulScale : qcc::impl::QccFuseQMatMulScaleBase<FuseQMatMulScale> {
  void runOnOperation() override {
    SmallVector<MulOp> muls;
    getOperation().walk([&](MulOp mul) { muls.push_back(mul); });
    for (MulOp mul : muls) {
      // Float multiplication commutes exactly: the product may be either side.
      Value scale = mul.getRhs();
      QMatMulOp mm = castQMatMul(mul.getLhs());
      if (!mm) {
        mm = castQMatMul(mul.getRhs());
        scale = mul.getLhs();
      }
      if (!mm)
        continue;
      auto resultType = mm.getType().clone(Float32Type::get(&getContext()));
      if (mul.getType() != resultType || !isColumnScale(scale, resultType))
        continue;
      // Built at the mul, where the scale is defined.
      OpBuilder b(mul);
      auto fused = b.create<QMatMulOp>(mm.getLoc(), resultType, mm.getLhs(), mm.getRhs(),
                                       mm.getLhsZeroPoint(), mm.getRhsZeroPoint(), scale,
                                       mm.getLhsParams(), mm.getRhsParams());
      fused->setDiscardableAttrs(mm->getDiscardableAttrDictionary());
      Operation *cast = *mm->getUsers().begin();
      mul.replaceAllUsesWith(fused.getResult());
      mul.erase();
      cast->erase();
      mm.erase();
    }
  }
};

} // namespace
