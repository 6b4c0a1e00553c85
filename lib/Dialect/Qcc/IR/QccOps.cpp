//===- QccOps.cpp - qcc op verifiers and folders --------------------------===//
#include "qcc/Dialect/Qcc/IR/QccOps.h"

#include <cmath>
#include <cstring>

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"

#include <variant>

using namespace mlir;
using namespace qcc;

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

static bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

static std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << '?';
    else
      os << d;
  });
  os << ']';
  return s;
}

FailureOr<SmallVector<int64_t>> qcc::broadcastShapes(ArrayRef<int64_t> a,
                                                     ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == 1)
      out[i] = db;
    else if (db == 1)
      out[i] = da;
    else if (ShapedType::isDynamic(da))
      out[i] = db;
    else if (ShapedType::isDynamic(db) || da == db)
      out[i] = da;
    else
      return failure();
  }
  return out;
}

static LogicalResult verifyBroadcastTo(Operation *op, ArrayRef<Value> inputs,
                                       ShapedType resultType) {
  SmallVector<int64_t> shape;
  for (Value v : inputs) {
    auto t = cast<ShapedType>(v.getType());
    FailureOr<SmallVector<int64_t>> b = broadcastShapes(shape, t.getShape());
    if (failed(b))
      return op->emitOpError("operand shapes do not broadcast: ")
             << shapeStr(shape) << " vs " << shapeStr(t.getShape());
    shape = *b;
  }
  if ((int64_t)shape.size() != resultType.getRank())
    return op->emitOpError("result rank ")
           << resultType.getRank() << " does not match broadcast rank "
           << shape.size();
  for (auto [i, d] : llvm::enumerate(shape))
    if (!dimsCompatible(d, resultType.getDimSize(i)))
      return op->emitOpError("result shape ")
             << shapeStr(resultType.getShape())
             << " does not match broadcast shape " << shapeStr(shape);
  return success();
}

LogicalResult qcc::verifyBroadcastOp(Operation *op) {
  auto lhs = cast<ShapedType>(op->getOperand(0).getType());
  auto rhs = cast<ShapedType>(op->getOperand(1).getType());
  auto result = cast<ShapedType>(op->getResult(0).getType());
  Type i1 = IntegerType::get(op->getContext(), 1);
  if (isa<EqualOp, LessOp, GreaterOp>(op)) {
    if (result.getElementType() != i1)
      return op->emitOpError("comparison result must be i1, got ")
             << result.getElementType();
    if (lhs.getElementType() != rhs.getElementType())
      return op->emitOpError("operand element types differ: ")
             << lhs.getElementType() << " vs " << rhs.getElementType();
  } else if (isa<AndOp, OrOp>(op)) {
    if (lhs.getElementType() != i1 || rhs.getElementType() != i1 ||
        result.getElementType() != i1)
      return op->emitOpError("logical ops take and return i1 tensors");
  } else {
    if (lhs.getElementType() != result.getElementType())
      return op->emitOpError("result element type ")
             << result.getElementType() << " differs from operand's "
             << lhs.getElementType();
    // Pow may raise to an exponent of another type (ONNX allows it).
    if (!isa<PowOp>(op) && rhs.getElementType() != lhs.getElementType())
      return op->emitOpError("operand element types differ: ")
             << lhs.getElementType() << " vs " << rhs.getElementType();
  }
  return verifyBroadcastTo(op, {op->getOperand(0), op->getOperand(1)}, result);
}

static LogicalResult verifyAxis(Operation *op, int64_t axis, int64_t rank,
                                StringRef what = "axis") {
  if (axis < 0 || axis >= rank)
    return op->emitOpError() << what << " " << axis
                             << " is out of range for rank " << rank;
  return success();
}

static int64_t countDynamic(ShapedType t) {
  return llvm::count_if(t.getShape(), ShapedType::isDynamic);
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

OpFoldResult IdentityOp::fold(FoldAdaptor) { return getInput(); }

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType() && getFromUnsigned() == getToUnsigned())
    return getInput();
  return {};
}

LogicalResult WhereOp::verify() {
  auto result = getType();
  if (getTrueValue().getType().getElementType() != result.getElementType() ||
      getFalseValue().getType().getElementType() != result.getElementType())
    return emitOpError("true and false values must have the result's element "
                       "type ")
           << result.getElementType();
  return verifyBroadcastTo(*this,
                           {getCondition(), getTrueValue(), getFalseValue()},
                           result);
}

//===----------------------------------------------------------------------===//
// Linear algebra and normalization
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<int64_t>> qcc::matmulShape(ArrayRef<int64_t> a,
                                                 ArrayRef<int64_t> b) {
  if (a.empty() || b.empty())
    return failure();
  SmallVector<int64_t> lhs(a), rhs(b);
  if (a.size() == 1)
    lhs.insert(lhs.begin(), 1);
  if (b.size() == 1)
    rhs.push_back(1);
  if (!dimsCompatible(lhs.back(), rhs[rhs.size() - 2]))
    return failure();
  FailureOr<SmallVector<int64_t>> batch =
      broadcastShapes(ArrayRef(lhs).drop_back(2), ArrayRef(rhs).drop_back(2));
  if (failed(batch))
    return failure();
  SmallVector<int64_t> shape(*batch);
  if (a.size() != 1)
    shape.push_back(lhs[lhs.size() - 2]);
  if (b.size() != 1)
    shape.push_back(rhs.back());
  return shape;
}

bool qcc::shapesCompatible(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  return a.size() == b.size() &&
         llvm::all_of(llvm::zip(a, b), [](auto p) {
           return dimsCompatible(std::get<0>(p), std::get<1>(p));
         });
}

LogicalResult MatMulOp::verify() {
  Type elt = getType().getElementType();
  if (getLhs().getType().getElementType() != elt ||
      getRhs().getType().getElementType() != elt)
    return emitOpError("operands and result must have one element type");
  ArrayRef<int64_t> a = getLhs().getType().getShape();
  ArrayRef<int64_t> b = getRhs().getType().getShape();
  FailureOr<SmallVector<int64_t>> expected = matmulShape(a, b);
  if (failed(expected))
    return emitOpError("operand shapes do not multiply: lhs ")
           << shapeStr(a) << " vs rhs " << shapeStr(b);
  if (!shapesCompatible(*expected, getType().getShape()))
    return emitOpError("result shape ")
           << shapeStr(getType().getShape()) << " but matmul gives "
           << shapeStr(*expected);
  return success();
}

LogicalResult SoftmaxOp::verify() {
  return verifyAxis(*this, getAxis(), getType().getRank());
}

static LogicalResult verifyNorm(Operation *op, RankedTensorType input,
                                int64_t axis, ArrayRef<Value> params,
                                Type result) {
  if (failed(verifyAxis(op, axis, input.getRank())))
    return failure();
  if (input != result)
    return op->emitOpError("result type must equal the input type");
  ArrayRef<int64_t> normalized = input.getShape().drop_front(axis);
  for (Value v : params) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getElementType() != input.getElementType())
      return op->emitOpError("scale/bias element type ")
             << t.getElementType() << " differs from input's "
             << input.getElementType();
    FailureOr<SmallVector<int64_t>> b =
        broadcastShapes(normalized, t.getShape());
    if (failed(b) || b->size() != normalized.size())
      return op->emitOpError("scale/bias shape ")
             << shapeStr(t.getShape())
             << " does not broadcast to the normalized shape "
             << shapeStr(normalized);
  }
  return success();
}

LogicalResult LayerNormOp::verify() {
  SmallVector<Value> params{getScale()};
  if (getBias())
    params.push_back(getBias());
  return verifyNorm(*this, getInput().getType(), getAxis(), params, getType());
}

LogicalResult RMSNormOp::verify() {
  return verifyNorm(*this, getInput().getType(), getAxis(), {getScale()},
                    getType());
}

LogicalResult ReduceOp::verify() {
  auto input = getInput().getType();
  int64_t rank = input.getRank();
  if (getAxes().empty())
    return emitOpError("needs at least one axis");
  llvm::SmallBitVector seen(rank);
  for (int64_t a : getAxes()) {
    if (failed(verifyAxis(*this, a, rank)))
      return failure();
    if (seen.test(a))
      return emitOpError("axis ") << a << " listed twice";
    seen.set(a);
  }
  SmallVector<int64_t> expected;
  for (int64_t i = 0; i < rank; ++i) {
    if (!seen.test(i))
      expected.push_back(input.getDimSize(i));
    else if (getKeepdims())
      expected.push_back(1);
  }
  auto result = getType();
  if (result.getElementType() != input.getElementType())
    return emitOpError("result element type must equal the input's");
  if (!shapesCompatible(expected, result.getShape()))
    return emitOpError("result shape ") << shapeStr(result.getShape())
                                        << " but reduction gives "
                                        << shapeStr(expected);
  return success();
}

LogicalResult CumSumOp::verify() {
  return verifyAxis(*this, getAxis(), getType().getRank());
}

LogicalResult TriluOp::verify() {
  if (getType().getRank() < 2)
    return emitOpError("input must have rank >= 2");
  return success();
}

LogicalResult AttentionOp::verify() {
  auto q = getQuery().getType(), k = getKey().getType(),
       v = getValue().getType();
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return emitOpError("query, key and value must be rank 4 "
                       "[batch, heads, seq, head_dim]");
  if (!dimsCompatible(q.getDimSize(3), k.getDimSize(3)))
    return emitOpError("query and key head dims differ");
  if (!dimsCompatible(k.getDimSize(1), v.getDimSize(1)) ||
      !dimsCompatible(k.getDimSize(2), v.getDimSize(2)))
    return emitOpError("key and value shapes differ in heads or length");
  int64_t qh = q.getDimSize(1), kh = k.getDimSize(1);
  if (!ShapedType::isDynamic(qh) && !ShapedType::isDynamic(kh) &&
      (kh == 0 || qh % kh != 0))
    return emitOpError("query heads (")
           << qh << ") must be a multiple of key/value heads (" << kh << ")";
  auto r = getType();
  if (r.getRank() != 4 || !dimsCompatible(r.getDimSize(0), q.getDimSize(0)) ||
      !dimsCompatible(r.getDimSize(1), qh) ||
      !dimsCompatible(r.getDimSize(2), q.getDimSize(2)) ||
      !dimsCompatible(r.getDimSize(3), v.getDimSize(3)))
    return emitOpError("result must be [batch, q_heads, seq, v_head_dim]");
  return success();
}

LogicalResult RotaryOp::verify() {
  auto in = getInput().getType();
  if (in.getRank() != 4)
    return emitOpError("input must be [batch, heads, seq, head_dim]");
  if (getCos().getType() != getSin().getType())
    return emitOpError("cos and sin must have the same type");
  auto cs = getCos().getType();
  if (cs.getRank() != 2 && cs.getRank() != 3)
    return emitOpError("cos/sin must be [seq, rotary_dim/2] or "
                       "[batch, seq, rotary_dim/2]");
  int64_t half = cs.getDimSize(cs.getRank() - 1), hd = in.getDimSize(3);
  if (!ShapedType::isDynamic(half) && !ShapedType::isDynamic(hd) &&
      2 * half > hd)
    return emitOpError("rotary dim ") << 2 * half << " exceeds head dim "
                                      << hd;
  if (getType() != in)
    return emitOpError("result type must equal the input type");
  return success();
}

//===----------------------------------------------------------------------===//
// Data movement and shapes
//===----------------------------------------------------------------------===//

static LogicalResult verifyDynamicDims(Operation *op, ShapedType result,
                                       size_t numOperands) {
  int64_t expected = countDynamic(result);
  if (expected != (int64_t)numOperands)
    return op->emitOpError("result type has ")
           << expected << " dynamic dims but " << numOperands
           << " dim operands were given";
  return success();
}

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType();
  auto out = getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError("reshape cannot change the element type");
  if (failed(verifyDynamicDims(*this, out, getDynamicDims().size())))
    return failure();
  if (in.hasStaticShape() && out.hasStaticShape() &&
      in.getNumElements() != out.getNumElements())
    return emitOpError("element count changes from ")
           << in.getNumElements() << " to " << out.getNumElements();
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType() && getType().hasStaticShape())
    return getInput();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    if (getType().hasStaticShape())
      return dense.reshape(getType());
  return {};
}

namespace {
/// reshape(reshape(x)) -> reshape(x): only the final shape matters.
struct FoldReshapeChain : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto producer = op.getInput().getDefiningOp<ReshapeOp>();
    if (!producer)
      return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(),
                                           producer.getInput(),
                                           op.getDynamicDims());
    return success();
  }
};
} // namespace

void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<FoldReshapeChain>(context);
}

LogicalResult ExpandOp::verify() {
  auto in = getInput().getType();
  auto out = getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError("expand cannot change the element type");
  if (failed(verifyDynamicDims(*this, out, getDynamicDims().size())))
    return failure();
  if (in.getRank() > out.getRank())
    return emitOpError("cannot expand rank ")
           << in.getRank() << " to lower rank " << out.getRank();
  int64_t off = out.getRank() - in.getRank();
  for (int64_t i = 0; i < in.getRank(); ++i) {
    int64_t d = in.getDimSize(i), r = out.getDimSize(i + off);
    if (d != 1 && !dimsCompatible(d, r))
      return emitOpError("input dim ")
             << i << " (" << d << ") does not broadcast to " << r;
  }
  return success();
}

LogicalResult FillOp::verify() {
  if (getValue().getType() != getType().getElementType())
    return emitOpError("fill value type ")
           << getValue().getType() << " differs from element type "
           << getType().getElementType();
  return verifyDynamicDims(*this, getType(), getDynamicDims().size());
}

LogicalResult TransposeOp::verify() {
  auto in = getInput().getType();
  auto out = getType();
  ArrayRef<int64_t> perm = getPerm();
  if ((int64_t)perm.size() != in.getRank() || out.getRank() != in.getRank())
    return emitOpError("perm size must equal the rank ") << in.getRank();
  llvm::SmallBitVector seen(perm.size());
  for (auto [i, p] : llvm::enumerate(perm)) {
    if (p < 0 || p >= in.getRank() || seen.test(p))
      return emitOpError("perm is not a permutation of 0..")
             << in.getRank() - 1;
    seen.set(p);
    if (!dimsCompatible(out.getDimSize(i), in.getDimSize(p)))
      return emitOpError("result dim ")
             << i << " must equal input dim " << p;
  }
  if (in.getElementType() != out.getElementType())
    return emitOpError("transpose cannot change the element type");
  return success();
}

/// The elements of a constant in the order of its transpose; elements
/// narrower than a byte (i4 weights) are left to the op.
static DenseElementsAttr transposeConstant(DenseElementsAttr in, RankedTensorType outType,
                                           ArrayRef<int64_t> perm) {
  if (!outType.hasStaticShape())
    return {};
  if (in.isSplat())
    return in.resizeSplat(outType);
  unsigned bits = outType.getElementTypeBitWidth();
  if (bits % 8 != 0 || isa<ComplexType>(outType.getElementType()))
    return {};
  size_t bytes = bits / 8;
  ArrayRef<int64_t> inShape = cast<RankedTensorType>(in.getType()).getShape();
  int64_t rank = inShape.size();
  SmallVector<int64_t> inStrides(rank, 1);
  for (int64_t i = rank - 2; i >= 0; --i)
    inStrides[i] = inStrides[i + 1] * inShape[i + 1];
  ArrayRef<char> src = in.getRawData();
  std::vector<char> dst(src.size());
  SmallVector<int64_t> index(rank, 0);
  ArrayRef<int64_t> outShape = outType.getShape();
  for (int64_t flat = 0, n = outType.getNumElements(); flat < n; ++flat) {
    int64_t from = 0;
    for (int64_t d = 0; d < rank; ++d)
      from += index[d] * inStrides[perm[d]];
    std::memcpy(dst.data() + flat * bytes, src.data() + from * bytes, bytes);
    for (int64_t d = rank - 1; d >= 0 && ++index[d] == outShape[d]; --d)
      index[d] = 0;
  }
  return DenseElementsAttr::getFromRawBuffer(outType, dst);
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  // Constant weights stored transposed (Gemm with transB) become plain
  // constants, so the quantization passes see [K, N] weights.
  if (auto in = dyn_cast_if_present<DenseElementsAttr>(adaptor.getInput()))
    if (DenseElementsAttr out = transposeConstant(in, getType(), getPerm()))
      return out;
  for (auto [i, p] : llvm::enumerate(getPerm()))
    if ((int64_t)i != p)
      return {};
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

LogicalResult ConcatOp::verify() {
  auto out = getType();
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  if (failed(verifyAxis(*this, getAxis(), out.getRank())))
    return failure();
  int64_t sum = 0;
  bool dynamic = false;
  for (Value v : getInputs()) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getRank() != out.getRank() ||
        t.getElementType() != out.getElementType())
      return emitOpError("inputs must have the result's rank and element type");
    for (int64_t i = 0; i < t.getRank(); ++i) {
      if (i == (int64_t)getAxis())
        continue;
      if (!dimsCompatible(t.getDimSize(i), out.getDimSize(i)))
        return emitOpError("input dim ") << i << " differs from the result's";
    }
    int64_t d = t.getDimSize(getAxis());
    if (ShapedType::isDynamic(d))
      dynamic = true;
    else
      sum += d;
  }
  if (!dynamic && !dimsCompatible(sum, out.getDimSize(getAxis())))
    return emitOpError("concatenated size ")
           << sum << " differs from result dim " << out.getDimSize(getAxis());
  return success();
}

LogicalResult SliceOp::verify() {
  auto in = getInput().getType();
  auto out = getType();
  int64_t rank = in.getRank();
  if ((int64_t)getStaticOffsets().size() != rank ||
      (int64_t)getStaticSizes().size() != rank ||
      (int64_t)getStrides().size() != rank || out.getRank() != rank)
    return emitOpError("offsets, sizes, strides and result must have rank ")
           << rank;
  if (llvm::count_if(getStaticOffsets(), ShapedType::isDynamic) !=
      (int64_t)getOffsets().size())
    return emitOpError("dynamic offset count mismatch");
  if (llvm::count_if(getStaticSizes(), ShapedType::isDynamic) !=
      (int64_t)getSizes().size())
    return emitOpError("dynamic size count mismatch");
  for (int64_t i = 0; i < rank; ++i) {
    if (getStrides()[i] <= 0)
      return emitOpError("strides must be positive");
    int64_t size = getStaticSizes()[i];
    if (!dimsCompatible(size, out.getDimSize(i)))
      return emitOpError("result dim ") << i << " differs from slice size "
                                        << size;
    int64_t off = getStaticOffsets()[i], dim = in.getDimSize(i);
    if (!ShapedType::isDynamic(off) && !ShapedType::isDynamic(size) &&
        !ShapedType::isDynamic(dim) && size > 0 &&
        (off < 0 || off + (size - 1) * getStrides()[i] >= dim))
      return emitOpError("slice of dim ")
             << i << " (offset " << off << ", size " << size << ", stride "
             << getStrides()[i] << ") is out of bounds for size " << dim;
  }
  if (in.getElementType() != out.getElementType())
    return emitOpError("slice cannot change the element type");
  return success();
}

LogicalResult GatherOp::verify() {
  auto data = getData().getType();
  auto idx = getIndices().getType();
  auto out = getType();
  if (failed(verifyAxis(*this, getAxis(), data.getRank())))
    return failure();
  SmallVector<int64_t> expected(data.getShape().take_front(getAxis()));
  llvm::append_range(expected, idx.getShape());
  llvm::append_range(expected, data.getShape().drop_front(getAxis() + 1));
  if (!shapesCompatible(expected, out.getShape()))
    return emitOpError("result shape ") << shapeStr(out.getShape())
                                        << " but gather gives "
                                        << shapeStr(expected);
  if (out.getElementType() != data.getElementType())
    return emitOpError("result element type must equal the data's");
  return success();
}

LogicalResult RangeOp::verify() {
  Type e = getStart().getType().getElementType();
  for (Value v : {getStart(), getLimit(), getDelta()}) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getRank() != 0 || t.getElementType() != e)
      return emitOpError("start, limit and delta must be scalars of one type");
  }
  if (getType().getRank() != 1 || getType().getElementType() != e)
    return emitOpError("result must be 1-D of the operands' element type");
  return success();
}

LogicalResult DimOp::verify() {
  return verifyAxis(*this, getIndex(), getInput().getType().getRank(),
                    "dim index");
}

OpFoldResult DimOp::fold(FoldAdaptor) {
  int64_t d = getInput().getType().getDimSize(getIndex());
  if (ShapedType::isDynamic(d))
    return {};
  return IntegerAttr::get(IndexType::get(getContext()), d);
}

/// What a dynamic result dim of `op` equals: another tensor's dim, or an
/// index value the op was given.
using DimSource = std::variant<std::pair<Value, int64_t>, Value>;

static std::optional<DimSource> sourceDim(Operation *op, int64_t i) {
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  int64_t rank = resultType.getRank();
  auto dimOf = [](Value v, int64_t d) -> DimSource { return std::pair(v, d); };
  if (op->hasTrait<OpTrait::SameOperandsAndResultShape>() ||
      op->hasTrait<OpTrait::SameOperandsAndResultType>() ||
      isa<LayerNormOp, RMSNormOp, RotaryOp, QuantizeOp, DequantizeOp,
          RequantizeOp, DynamicQuantizeOp>(op))
    return dimOf(op->getOperand(0), i);
  if (auto t = dyn_cast<TransposeOp>(op))
    return dimOf(t.getInput(), t.getPerm()[i]);
  if (auto c = dyn_cast<ConcatOp>(op)) {
    if (i == (int64_t)c.getAxis())
      return std::nullopt;
    return dimOf(c.getInputs()[0], i);
  }
  if (auto g = dyn_cast<GatherOp>(op)) {
    int64_t axis = g.getAxis(), idxRank = g.getIndices().getType().getRank();
    if (i < axis)
      return dimOf(g.getData(), i);
    if (i < axis + idxRank)
      return dimOf(g.getIndices(), i - axis);
    return dimOf(g.getData(), i - idxRank + 1);
  }
  if (auto m = dyn_cast<MatMulOp>(op)) {
    int64_t lr = m.getLhs().getType().getRank(), rr = m.getRhs().getType().getRank();
    if (rr >= 2 && i == rank - 1)
      return dimOf(m.getRhs(), rr - 1);
    int64_t mPos = rr >= 2 ? rank - 2 : rank - 1;
    if (lr >= 2 && i == mPos)
      return dimOf(m.getLhs(), lr - 2);
    // Batch dims come from whichever operand has them.
    if (i < mPos && rr <= 2 && lr >= 3)
      return dimOf(m.getLhs(), i);
    if (i < mPos && lr <= 2 && rr >= 3)
      return dimOf(m.getRhs(), i);
    return std::nullopt;
  }
  auto dynamicOperand = [&](ValueRange dyn, ArrayRef<int64_t> shape) {
    int64_t k = llvm::count_if(shape.take_front(i), ShapedType::isDynamic);
    return DimSource(dyn[k]);
  };
  if (auto r = dyn_cast<ReshapeOp>(op))
    return dynamicOperand(r.getDynamicDims(), resultType.getShape());
  if (auto e = dyn_cast<ExpandOp>(op))
    return dynamicOperand(e.getDynamicDims(), resultType.getShape());
  if (auto f = dyn_cast<FillOp>(op))
    return dynamicOperand(f.getDynamicDims(), resultType.getShape());
  if (auto sl = dyn_cast<SliceOp>(op))
    return dynamicOperand(sl.getSizes(), sl.getStaticSizes());
  // Broadcasting ops: the one operand with a dynamic dim here, provided the
  // others have 1 or nothing at this position.
  if (isa<AddOp, SubOp, MulOp, DivOp, PowOp, MinOp, MaxOp, EqualOp, LessOp,
          GreaterOp, AndOp, OrOp, WhereOp>(op)) {
    std::optional<DimSource> found;
    for (Value v : op->getOperands()) {
      auto t = cast<RankedTensorType>(v.getType());
      int64_t j = i - (rank - t.getRank());
      if (j < 0 || t.getDimSize(j) == 1)
        continue;
      if (!t.isDynamicDim(j) || found)
        return std::nullopt;
      found = dimOf(v, j);
    }
    return found;
  }
  return std::nullopt;
}

namespace {
struct DimOfProducer : OpRewritePattern<DimOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DimOp op,
                                PatternRewriter &rewriter) const override {
    Operation *def = op.getInput().getDefiningOp();
    if (!def || !isa<QccDialect>(def->getDialect()) ||
        op.getInput() != def->getResult(0))
      return failure();
    std::optional<DimSource> src = sourceDim(def, op.getIndex());
    if (!src)
      return failure();
    if (auto *v = std::get_if<Value>(&*src)) {
      rewriter.replaceOp(op, *v);
      return success();
    }
    auto [tensor, index] = std::get<std::pair<Value, int64_t>>(*src);
    rewriter.replaceOpWithNewOp<DimOp>(op, tensor, index);
    return success();
  }
};
} // namespace

void DimOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                        MLIRContext *context) {
  results.add<DimOfProducer>(context);
}

LogicalResult ShapeOp::verify() {
  auto r = getType();
  if (r.getRank() != 1 ||
      !dimsCompatible(r.getDimSize(0), getInput().getType().getRank()))
    return emitOpError("result must be a 1-D tensor of size ")
           << getInput().getType().getRank();
  return success();
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

static LogicalResult verifyStorage(Operation *op, Type intTensor,
                                   QuantParamsAttr params, StringRef what) {
  auto t = cast<ShapedType>(intTensor);
  auto it = dyn_cast<IntegerType>(t.getElementType());
  if (!it || it.getWidth() != params.getBits())
    return op->emitOpError() << what << " element type " << t.getElementType()
                             << " does not store " << params.getBits()
                             << "-bit values (expected i" << params.getBits()
                             << ")";
  return success();
}

/// Checks scale / zero point shapes and presence against the scheme.
static LogicalResult verifyScaleAndZp(Operation *op, ShapedType valueType,
                                      Value scale, Value zp,
                                      QuantParamsAttr params) {
  FailureOr<SmallVector<int64_t>> expected =
      params.getScaleShape(valueType.getShape());
  if (failed(expected))
    return op->emitOpError("quantization axis ")
           << params.getAxis() << " is out of range for rank "
           << valueType.getRank();
  auto checkShape = [&](Value v, StringRef what) -> LogicalResult {
    auto t = cast<ShapedType>(v.getType());
    bool ok = shapesCompatible(*expected, t.getShape());
    // A per-tensor parameter may also be spelled as a 1-element vector.
    if (!ok && params.getGranularity() == Granularity::PerTensor)
      ok = t.getRank() == 1 && dimsCompatible(t.getDimSize(0), 1);
    if (!ok)
      return op->emitOpError()
             << what << " shape " << shapeStr(t.getShape()) << " does not fit "
             << stringifyGranularity(params.getGranularity())
             << " quantization of " << shapeStr(valueType.getShape())
             << " (expected " << shapeStr(*expected) << ")";
    return success();
  };
  if (failed(checkShape(scale, "scale")))
    return failure();
  Type scaleElt = cast<ShapedType>(scale.getType()).getElementType();
  if (scaleElt != params.getScaleType())
    return op->emitOpError("scale element type ")
           << scaleElt << " differs from the scheme's " << params.getScaleType();
  if (params.getIsSymmetric() && zp)
    return op->emitOpError("symmetric scheme takes no zero point");
  if (!params.getIsSymmetric() && !zp)
    return op->emitOpError("asymmetric scheme needs a zero point");
  if (zp) {
    if (failed(checkShape(zp, "zero point")) ||
        failed(verifyStorage(op, zp.getType(), params, "zero point")))
      return failure();
  }
  return success();
}

LogicalResult QuantizeOp::verify() {
  if (getInput().getType().getShape() != getType().getShape())
    return emitOpError("result shape must equal the input shape");
  if (failed(verifyStorage(*this, getType(), getParams(), "result")))
    return failure();
  return verifyScaleAndZp(*this, getInput().getType(), getScale(),
                          getZeroPoint(), getParams());
}

OpFoldResult QuantizeOp::fold(FoldAdaptor) {
  auto dq = getInput().getDefiningOp<DequantizeOp>();
  if (!dq || dq.getParams() != getParams() || dq.getScale() != getScale() ||
      dq.getZeroPoint() != getZeroPoint() ||
      dq.getInput().getType() != getType())
    return {};
  return dq.getInput();
}

LogicalResult DequantizeOp::verify() {
  if (getInput().getType().getShape() != getType().getShape())
    return emitOpError("result shape must equal the input shape");
  if (failed(verifyStorage(*this, getInput().getType(), getParams(), "input")))
    return failure();
  return verifyScaleAndZp(*this, getInput().getType(), getScale(),
                          getZeroPoint(), getParams());
}

LogicalResult RequantizeOp::verify() {
  if (getInput().getType().getShape() != getType().getShape())
    return emitOpError("result shape must equal the input shape");
  if (failed(verifyStorage(*this, getType(), getParams(), "result")))
    return failure();
  if (std::optional<QuantParamsAttr> in = getInputParams()) {
    if (failed(verifyStorage(*this, getInput().getType(), *in, "input")))
      return failure();
    int64_t inZp = getInputZp();
    if (inZp < in->getQMin() || inZp > in->getQMax())
      return emitOpError("input zero point ") << inZp << " is not representable";
  }
  if (getMultiplier().size() != getShift().size() || getMultiplier().empty())
    return emitOpError("needs one shift per multiplier, and at least one");
  for (int32_t s : getShift())
    if (s < 0 || s > 62)
      return emitOpError("shift ") << s << " is outside [0, 62]";
  for (int32_t m : getMultiplier())
    if (m < 0)
      return emitOpError("multiplier must be non-negative, got ") << m;
  if (std::optional<int64_t> axis = getAxis()) {
    if (failed(verifyAxis(*this, *axis, getType().getRank())))
      return failure();
    int64_t d = getType().getDimSize(*axis);
    if (!ShapedType::isDynamic(d) && d != (int64_t)getMultiplier().size())
      return emitOpError("per-axis requantize needs ")
             << d << " multipliers, got " << getMultiplier().size();
  } else if (getMultiplier().size() != 1) {
    return emitOpError("per-tensor requantize takes one multiplier");
  }
  int64_t outZp = getOutputZp();
  if (outZp < getParams().getQMin() || outZp > getParams().getQMax())
    return emitOpError("output zero point ")
           << getOutputZp() << " is not representable";
  return success();
}

LogicalResult DynamicQuantizeOp::verify() {
  if (getInput().getType().getShape() != getResult().getType().getShape())
    return emitOpError("result shape must equal the input shape");
  if (failed(verifyStorage(*this, getResult().getType(), getParams(),
                           "result")))
    return failure();
  return verifyScaleAndZp(*this, getInput().getType(), getScale(),
                          getZeroPoint(), getParams());
}

LogicalResult QMatMulOp::verify() {
  if (failed(verifyStorage(*this, getLhs().getType(), getLhsParams(), "lhs")) ||
      failed(verifyStorage(*this, getRhs().getType(), getRhsParams(), "rhs")))
    return failure();
  auto a = getLhs().getType(), b = getRhs().getType();
  if (a.getRank() < 1 || b.getRank() < 1)
    return emitOpError("operands must have rank >= 1");
  int64_t k1 = a.getDimSize(a.getRank() - 1);
  int64_t k2 = b.getRank() == 1 ? b.getDimSize(0) : b.getDimSize(b.getRank() - 2);
  if (!dimsCompatible(k1, k2))
    return emitOpError("contraction dims differ: ") << k1 << " vs " << k2;
  for (auto [zp, params] : {std::pair(getLhsZeroPoint(), getLhsParams()),
                            std::pair(getRhsZeroPoint(), getRhsParams())})
    if (zp && failed(verifyStorage(*this, zp.getType(), params, "zero point")))
      return failure();
  Type elt = getType().getElementType();
  Value scale = getOutScale();
  if (!scale)
    return elt.isInteger(32) ? success() : emitOpError("result must be i32 without out_scale");
  if (!elt.isF32())
    return emitOpError("result must be f32 with out_scale");
  auto st = cast<RankedTensorType>(scale.getType());
  int64_t n = b.getDimSize(b.getRank() - 1);
  if (!st.getElementType().isF32() || st.getRank() > 1 ||
      (st.getRank() == 1 && st.getDimSize(0) != 1 && !dimsCompatible(st.getDimSize(0), n)))
    return emitOpError("out_scale must be f32 with one value or one per output column (")
           << n << ")";
  return success();
}

LogicalResult QLinearOp::verify() {
  auto x = getInput().getType();
  auto w = getWeight().getType();
  QuantParamsAttr params = getWeightParams();
  if (w.getRank() != 2)
    return emitOpError("weight must be 2-D [K, N], got rank ") << w.getRank();
  if (auto enc = dyn_cast_or_null<PackedEncodingAttr>(w.getEncoding()))
    if (enc.getParams() != params)
      return emitOpError("packed weight encoding's params differ from "
                         "weight_params");
  if (failed(verifyStorage(*this, w, params, "weight")))
    return failure();
  if (params.getGranularity() == Granularity::PerGroup && params.getAxis() != 0)
    return emitOpError("per_group weight scheme must group along the "
                       "reduction axis 0");
  if (params.getGranularity() == Granularity::PerAxis && params.getAxis() != 1)
    return emitOpError("per_axis weight scheme must be along the output "
                       "axis 1");
  if (failed(verifyScaleAndZp(*this, w, getWeightScale(), getWeightZeroPoint(),
                              params)))
    return failure();
  if (x.getRank() < 1 ||
      !dimsCompatible(x.getDimSize(x.getRank() - 1), w.getDimSize(0)))
    return emitOpError("input's last dim must equal the weight's K (")
           << w.getDimSize(0) << ")";
  if (Value bias = getBias()) {
    auto bt = cast<RankedTensorType>(bias.getType());
    if (bt.getRank() != 1 || !dimsCompatible(bt.getDimSize(0), w.getDimSize(1)))
      return emitOpError("bias must be [N] with N = ") << w.getDimSize(1);
  }
  auto r = getType();
  if (r.getRank() != x.getRank() ||
      !dimsCompatible(r.getDimSize(r.getRank() - 1), w.getDimSize(1)))
    return emitOpError("result must be the input shape with the last dim N");
  if (Value res = getResidual(); res && res.getType() != r)
    return emitOpError("residual must have the result's type ") << r << ", got "
                                                                << res.getType();
  if (auto act = getActParamsAttr())
    if (act.getBits() != 8)
      return emitOpError("activations quantize to 8 bits, got ")
             << act.getBits();
  if (auto s = getActScaleAttr()) {
    if (!getActParamsAttr())
      return emitOpError("act_scale needs act_params");
    double v = s.getValueAsDouble();
    if (!(v > 0) || !std::isfinite(v))
      return emitOpError("act_scale must be positive and finite, got ") << v;
  }
  return success();
}

LogicalResult PackedConstantOp::verify() {
  auto t = getType();
  auto enc = dyn_cast_or_null<PackedEncodingAttr>(t.getEncoding());
  if (!enc)
    return emitOpError("result type needs a #qcc.packed encoding");
  if (t.getRank() != 2 || !t.hasStaticShape())
    return emitOpError("packed weights must be static 2-D");
  if (failed(verifyStorage(*this, t, enc.getParams(), "result")))
    return failure();
  auto valueType = cast<ShapedType>(getValue().getType());
  if (!valueType.getElementType().isInteger(8))
    return emitOpError("packed data must be i8 bytes");
  int64_t expected = enc.getPackedByteSize(t.getShape());
  if (valueType.getNumElements() != expected)
    return emitOpError("packed data has ")
           << valueType.getNumElements() << " bytes but layout needs "
           << expected;
  return success();
}

OpFoldResult PackedConstantOp::fold(FoldAdaptor) { return getValue(); }

#include "qcc/Dialect/Qcc/IR/QccInterfaces.cpp.inc"

FixedRangeOpInterface qcc::fixedRangeSource(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto fixed = dyn_cast<FixedRangeOpInterface>(def))
      return fixed;
    if (!def->hasTrait<QuantTrait::QuantSameScale>())
      return {};
    Value only;
    for (Value o : def->getOperands()) {
      auto t = dyn_cast<RankedTensorType>(o.getType());
      if (!t || !isa<FloatType>(t.getElementType()))
        continue;
      if (only)
        return {}; // several float inputs: no single range
      only = o;
    }
    if (!only)
      return {};
    v = only;
  }
  return {};
}

std::pair<double, double> SoftmaxOp::getFixedOutputRange() { return {0.0, 1.0}; }
std::pair<double, double> SigmoidOp::getFixedOutputRange() { return {0.0, 1.0}; }
std::pair<double, double> TanhOp::getFixedOutputRange() { return {-1.0, 1.0}; }

#define GET_OP_CLASSES
#include "qcc/Dialect/Qcc/IR/QccOps.cpp.inc"
