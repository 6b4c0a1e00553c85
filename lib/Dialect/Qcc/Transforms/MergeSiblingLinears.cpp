//===- MergeSiblingLinears.cpp - qcc-merge-sibling-linears ----------------===//
//
// Linear layers reading the same activation (a transformer's Q, K and V
// projections; an FFN's gate and up projections) each quantize that
// activation, start the thread pool and stream their own weights. As one
// layer over the concatenated weights the activation is quantized once per
// row, the kernel runs once over all columns, and the wider N splits better
// across threads; slices hand each consumer its columns.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/MapVector.h"

namespace qcc {
#define GEN_PASS_DEF_QCCMERGESIBLINGLINEARS
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

using namespace mlir;
using namespace qcc;

namespace {

DenseElementsAttr constantOf(Value v) {
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return {};
  return attr;
}

/// Row r of the result is row r of every part in turn.
template <typename Element>
DenseElementsAttr interleaveRows(ArrayRef<DenseElementsAttr> parts, RankedTensorType type,
                                 int64_t rows) {
  SmallVector<SmallVector<Element>> values;
  for (DenseElementsAttr p : parts)
    values.push_back(SmallVector<Element>(p.getValues<Element>()));
  SmallVector<Element> out;
  out.reserve(type.getNumElements());
  for (int64_t r = 0; r < rows; ++r)
    for (auto [p, v] : llvm::zip(parts, values)) {
      int64_t w = cast<RankedTensorType>(p.getType()).getShape().back();
      out.append(v.begin() + r * w, v.begin() + (r + 1) * w);
    }
  return DenseElementsAttr::get(type, out);
}

/// Concatenates constants of one element type and equal leading dimensions
/// along their last dimension.
DenseElementsAttr concatLast(ArrayRef<DenseElementsAttr> parts) {
  auto first = cast<RankedTensorType>(parts.front().getType());
  SmallVector<int64_t> shape(first.getShape());
  shape.back() = 0;
  for (DenseElementsAttr p : parts)
    shape.back() += cast<RankedTensorType>(p.getType()).getShape().back();
  auto type = first.clone(shape);
  int64_t rows = type.getNumElements() / shape.back();
  if (isa<FloatType>(type.getElementType()))
    return interleaveRows<APFloat>(parts, type, rows);
  return interleaveRows<APInt>(parts, type, rows);
}

/// What must agree for two layers to become one: the input, the weight's
/// integer type and scheme, the scale and zero-point types, and the
/// activation quantization.
struct Signature {
  Value input;
  Type weightElement, scaleType, zeroPointType;
  Attribute weightParams, actParams, actScale;
  bool operator==(const Signature &o) const {
    return input == o.input && weightElement == o.weightElement && scaleType == o.scaleType &&
           zeroPointType == o.zeroPointType && weightParams == o.weightParams &&
           actParams == o.actParams && actScale == o.actScale;
  }
};

std::optional<Signature> signatureOf(QLinearOp op) {
  auto w = constantOf(op.getWeight());
  auto s = constantOf(op.getWeightScale());
  if (!w || !s || (op.getWeightZeroPoint() && !constantOf(op.getWeightZeroPoint())) ||
      (op.getBias() && !constantOf(op.getBias())) || op.getResidual())
    return std::nullopt;
  // One scale for the whole tensor cannot be shared by weights of
  // different ranges.
  if (op.getWeightParams().getGranularity() == Granularity::PerTensor)
    return std::nullopt;
  auto wType = cast<RankedTensorType>(w.getType());
  if (wType.getRank() != 2 || wType.getEncoding())
    return std::nullopt;
  Type zpType = op.getWeightZeroPoint()
                    ? cast<RankedTensorType>(op.getWeightZeroPoint().getType()).getElementType()
                    : Type();
  return Signature{op.getInput(),
                   wType.getElementType(),
                   cast<RankedTensorType>(s.getType()).getElementType(),
                   zpType,
                   op.getWeightParams(),
                   op.getActParamsAttr(),
                   op.getActScaleAttr()};
}

void merge(ArrayRef<QLinearOp> group) {
  QLinearOp first = group.front();
  OpBuilder b(first);
  auto collect = [&](auto get) {
    SmallVector<DenseElementsAttr> out;
    for (QLinearOp op : group)
      out.push_back(constantOf(get(op)));
    return out;
  };
  SmallVector<DenseElementsAttr> weights = collect([](QLinearOp op) { return op.getWeight(); });
  SmallVector<DenseElementsAttr> scales =
      collect([](QLinearOp op) { return op.getWeightScale(); });
  auto constant = [&](DenseElementsAttr a) {
    return b.create<arith::ConstantOp>(first.getLoc(), a).getResult();
  };
  Value weight = constant(concatLast(weights));
  Value scale = constant(concatLast(scales));
  Value zeroPoint, bias;
  if (first.getWeightZeroPoint()) {
    SmallVector<DenseElementsAttr> zps =
        collect([](QLinearOp op) { return op.getWeightZeroPoint(); });
    zeroPoint = constant(concatLast(zps));
  }
  auto withBias = llvm::find_if(group, [](QLinearOp op) { return op.getBias() != nullptr; });
  if (withBias != group.end()) {
    auto biasElt = cast<FloatType>(
        cast<RankedTensorType>(QLinearOp(*withBias).getBias().getType()).getElementType());
    // A layer without bias contributes zeros of its width.
    SmallVector<DenseElementsAttr> filled;
    for (QLinearOp op : group) {
      int64_t n = cast<RankedTensorType>(op.getType()).getShape().back();
      filled.push_back(op.getBias() ? constantOf(op.getBias())
                                    : DenseElementsAttr::get(
                                          RankedTensorType::get({n}, biasElt),
                                          APFloat::getZero(biasElt.getFloatSemantics())));
    }
    bias = constant(concatLast(filled));
  }
  auto resultType = cast<RankedTensorType>(first.getType());
  SmallVector<int64_t> shape(resultType.getShape());
  shape.back() = cast<RankedTensorType>(weight.getType()).getShape().back();
  SmallVector<Location> locs;
  for (QLinearOp op : group)
    locs.push_back(op.getLoc());
  Location loc = b.getFusedLoc(locs);
  auto merged = b.create<QLinearOp>(loc, resultType.clone(shape), first.getInput(), weight, scale,
                                    zeroPoint, bias, /*residual=*/Value(),
                                    first.getWeightParams(),
                                    first.getActParamsAttr(), first.getActScaleAttr());
  // Each layer's columns, at its old place in the column order.
  int64_t rank = resultType.getRank(), offset = 0;
  for (QLinearOp op : group) {
    auto type = cast<RankedTensorType>(op.getType());
    SmallVector<int64_t> offsets(rank, 0), sizes(type.getShape()), strides(rank, 1);
    SmallVector<Value> dynSizes;
    for (int64_t i = 0; i < rank; ++i)
      if (ShapedType::isDynamic(sizes[i]))
        dynSizes.push_back(b.create<DimOp>(op.getLoc(), merged, i));
    offsets.back() = offset;
    offset += type.getShape().back();
    auto slice = b.create<SliceOp>(op.getLoc(), type, merged, ValueRange(), dynSizes,
                                   b.getDenseI64ArrayAttr(offsets),
                                   b.getDenseI64ArrayAttr(sizes),
                                   b.getDenseI64ArrayAttr(strides));
    op.getResult().replaceAllUsesWith(slice.getResult());
  }
  // Erased last: the builder inserts before the first of them.
  for (QLinearOp op : group)
    op.erase();
}

struct MergeSiblingLinears : qcc::impl::QccMergeSiblingLinearsBase<MergeSiblingLinears> {
  void runOnOperation() override {
    // Groups in program order, each in program order, so the merged layer's
    // columns and the slices follow the source.
    SmallVector<std::pair<Signature, SmallVector<QLinearOp>>> groups;
    getOperation().walk([&](QLinearOp op) {
      auto sig = signatureOf(op);
      if (!sig)
        return;
      // Only layers of one block can be merged without moving ops across
      // control flow; the input dominates them all.
      for (auto &[s, ops] : groups)
        if (s == *sig && ops.front()->getBlock() == op->getBlock()) {
          ops.push_back(op);
          return;
        }
      groups.push_back({*sig, {op}});
    });
    for (auto &[sig, ops] : groups)
      if (ops.size() > 1)
        merge(ops);
  }
};

} // namespace
