//===- ImportFused.cpp - fused transformer operator converters ------------===//
//
// RotaryEmbedding (ai.onnx opset 23 and com.microsoft) and com.microsoft
// MultiHeadAttention map onto qcc.rotary / qcc.attention, which work on
// [batch, heads, seq, head_dim]; 3-D [batch, seq, hidden] inputs are split
// into heads around them.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

#include <cmath>

using namespace mlir;

namespace qcc::onnx_import {
namespace {

using Imp = GraphImporter;

/// [B, S, H*D] -> [B, H, S, D].
FailureOr<Value> splitHeads(Imp &imp, Value v, int64_t heads, StringRef what) {
  auto t = tensorType(v);
  if (t.getRank() != 3)
    return imp.error() << what << " must be [batch, seq, hidden], got " << t,
           failure();
  SmallVector<DimValue> d = imp.dimsOf(v);
  if (!d[2].isConstant() || heads <= 0 || d[2].constant % heads != 0)
    return imp.error() << what << " hidden size must be static and divisible "
                       << "by num_heads (" << heads << ")",
           failure();
  Value r = imp.reshapeTo(v, {d[0], d[1], {heads, nullptr},
                              {d[2].constant / heads, nullptr}});
  return imp.transpose(r, {0, 2, 1, 3});
}

/// [B, H, S, D] -> [B, S, H*D].
Value mergeHeads(Imp &imp, Value v) {
  Value t = imp.transpose(v, {0, 2, 1, 3});
  SmallVector<DimValue> d = imp.dimsOf(t);
  return imp.reshapeTo(t, {d[0], d[1], imp.dimArith('*', d[2], d[3])});
}

LogicalResult convertRotary(Imp &imp, const onnx::NodeProto &n) {
  bool ms = n.domain() == "com.microsoft";
  // Operand order differs between the two domains.
  size_t cosIdx = ms ? 2 : 1, sinIdx = ms ? 3 : 2, posIdx = ms ? 1 : 3;
  FailureOr<Entry *> x = imp.requiredInput(0), cosE = imp.requiredInput(cosIdx),
                     sinE = imp.requiredInput(sinIdx);
  if (failed(x) || failed(cosE) || failed(sinE))
    return failure();
  if (imp.attrInt("is_packed_batching", 0))
    return imp.error() << "packed batching is not supported";
  Value xv = imp.materialize(**x);
  Value cosV = imp.materialize(**cosE), sinV = imp.materialize(**sinE);
  if (tensorType(cosV) != tensorType(sinV))
    return imp.error() << "cos_cache and sin_cache types differ";
  int64_t rotDim = imp.attrInt("rotary_embedding_dim", 0);
  int64_t heads = imp.attrInt("num_heads", 0);
  bool threeD = tensorType(xv).getRank() == 3;
  if (tensorType(xv).getRank() != 3 && tensorType(xv).getRank() != 4)
    return imp.error() << "input must be rank 3 or 4";
  int64_t half = tensorType(cosV).getDimSize(tensorType(cosV).getRank() - 1);
  if (ShapedType::isDynamic(half))
    return imp.error() << "cos_cache's last dim must be static";
  if (rotDim && rotDim != 2 * half)
    return imp.error() << "rotary_embedding_dim " << rotDim
                       << " does not match cos_cache's last dim " << half;
  if (threeD) {
    if (heads == 0) {
      int64_t hidden = tensorType(xv).getDimSize(2);
      if (ShapedType::isDynamic(hidden) || rotDim == 0 || hidden % (2 * half))
        return imp.error() << "num_heads is needed for a 3-D input";
      heads = hidden / (2 * half);
    }
    FailureOr<Value> s = splitHeads(imp, xv, heads, "input");
    if (failed(s))
      return failure();
    xv = *s;
  }
  // Positions select rows of the caches: [B, S, half].
  if (Entry *pos = imp.input(posIdx)) {
    Value p = imp.materialize(*pos);
    auto pt = tensorType(p);
    if (tensorType(cosV).getRank() != 2)
      return imp.error() << "with position_ids, caches must be [max_pos, dim/2]";
    if (pt.getRank() != 2)
      return imp.error() << "position_ids must be [batch, seq], got " << pt;
    SmallVector<int64_t> shape{pt.getDimSize(0), pt.getDimSize(1), half};
    auto type = RankedTensorType::get(shape, tensorType(cosV).getElementType());
    cosV = imp.b.create<GatherOp>(imp.loc, type, cosV, p, 0);
    sinV = imp.b.create<GatherOp>(imp.loc, type, sinV, p, 0);
  } else if (tensorType(cosV).getRank() != 3) {
    return imp.error() << "without position_ids, caches must be "
                          "[batch, seq, dim/2]";
  }
  auto op = imp.b.create<RotaryOp>(imp.loc, xv.getType(), xv, cosV, sinV);
  op.setInterleaved(imp.attrInt("interleaved", 0) != 0);
  Value r = op;
  if (threeD)
    r = mergeHeads(imp, r);
  imp.setOutput(0, r, (*x)->dtype);
  return success();
}

/// Splits 3-D query/key/value into heads, runs qcc.attention (scale from the
/// node's `scale` attribute or 1/sqrt(head_dim), causal from
/// `unidirectional`, mask from `makeMask` given the split key) and merges
/// the heads back into output 0.
LogicalResult emitHeadAttention(
    Imp &imp, Value q, Value k, Value v, int64_t heads,
    function_ref<FailureOr<Value>(Value key4)> makeMask) {
  FailureOr<Value> q4 = splitHeads(imp, q, heads, "query");
  if (failed(q4))
    return failure();
  FailureOr<Value> k4 = splitHeads(imp, k, heads, "key");
  if (failed(k4))
    return failure();
  FailureOr<Value> v4 = splitHeads(imp, v, heads, "value");
  if (failed(v4))
    return failure();
  double scale = imp.attrFloat("scale", 0.0f);
  if (scale == 0.0)
    scale = 1.0 / std::sqrt((double)tensorType(*q4).getDimSize(3));
  FailureOr<Value> mask = makeMask(*k4);
  if (failed(mask))
    return failure();
  auto qt = tensorType(*q4), vt = tensorType(*v4);
  auto rType = RankedTensorType::get(
      {qt.getDimSize(0), qt.getDimSize(1), qt.getDimSize(2), vt.getDimSize(3)},
      qt.getElementType());
  Value r = imp.b.create<AttentionOp>(
      imp.loc, rType, *q4, *k4, *v4, *mask, imp.b.getF64FloatAttr(scale),
      imp.b.getBoolAttr(imp.attrInt("unidirectional", 0) != 0));
  imp.setOutput(0, mergeHeads(imp, r), kFloat);
  return success();
}

LogicalResult convertMultiHeadAttention(Imp &imp, const onnx::NodeProto &) {
  for (auto [i, what] : {std::pair(3, "bias"), std::pair(4, "key_padding_mask"),
                         std::pair(6, "past_key"), std::pair(7, "past_value")})
    if (imp.input(i))
      return imp.error() << "input '" << what << "' is not supported";
  if (imp.hasOutput(1) || imp.hasOutput(2) || imp.hasOutput(3))
    return imp.error() << "present key/value outputs are not supported";
  int64_t heads = imp.attrInt("num_heads", 0);
  if (heads <= 0)
    return imp.error() << "num_heads must be positive";
  FailureOr<Value> q = imp.inputValue(0), k = imp.inputValue(1),
                   v = imp.inputValue(2);
  if (failed(q) || failed(k) || failed(v))
    return failure();
  return emitHeadAttention(imp, *q, *k, *v, heads, [&](Value) -> FailureOr<Value> {
    Entry *m = imp.input(5);
    return m ? imp.materialize(*m) : Value();
  });
}

/// Additive attention mask [B, 1, 1 or S, T] from com.microsoft Attention's
/// mask_index: key lengths [B] (right padding) or a raw 0/1 mask [B, T] or
/// [B, S, T]; masked positions get `filter`.
FailureOr<Value> maskFromIndex(Imp &imp, Entry &e, Value keys, double filter) {
  Value m = imp.materialize(e);
  auto mt = tensorType(m);
  Type f32 = imp.b.getF32Type();
  SmallVector<DimValue> kd = imp.dimsOf(keys); // [B, H, T, D]
  Value maskF;
  if (mt.getRank() == 1) {
    if (!ShapedType::isDynamic(mt.getDimSize(0)) &&
        !ShapedType::isDynamic(tensorType(keys).getDimSize(0)) &&
        mt.getDimSize(0) != tensorType(keys).getDimSize(0))
      return imp.error() << "1-D mask_index with start positions ([2 * batch]) "
                            "is not supported",
             failure();
    // valid[b, j] = j < length[b]
    Entry total;
    total.dtype = e.dtype;
    total.known.emplace(1, kd[2]);
    total.knownIsScalar = true;
    Type it = mt.getElementType();
    Value cols = imp.b.create<RangeOp>(
        imp.loc, RankedTensorType::get({tensorType(keys).getDimSize(2)}, it),
        imp.scalarConstant(it, 0), imp.materialize(total),
        imp.scalarConstant(it, 1));
    Value lens = imp.reshapeTo(m, {imp.dimsOf(m)[0], {1, nullptr}});
    FailureOr<Value> valid = imp.binary<LessOp>(cols, lens, imp.b.getI1Type());
    if (failed(valid))
      return failure();
    auto vt = tensorType(*valid);
    maskF = imp.b.create<WhereOp>(
        imp.loc, RankedTensorType::get(vt.getShape(), f32), *valid,
        imp.scalarConstant(f32, 0.0), imp.scalarConstant(f32, filter));
    SmallVector<DimValue> d = imp.dimsOf(maskF);
    maskF = imp.reshapeTo(maskF, {d[0], {1, nullptr}, {1, nullptr}, d[1]});
    return maskF;
  }
  if (mt.getRank() == 2 || mt.getRank() == 3) {
    // (1 - mask) * filter, with the head dim (and query dim) inserted.
    Value mf = imp.b.create<CastOp>(imp.loc, RankedTensorType::get(mt.getShape(), f32), m);
    FailureOr<Value> inv = imp.binary<SubOp>(imp.scalarConstant(f32, 1.0), mf);
    if (failed(inv))
      return failure();
    FailureOr<Value> add = imp.binary<MulOp>(*inv, imp.scalarConstant(f32, filter));
    if (failed(add))
      return failure();
    SmallVector<DimValue> d = imp.dimsOf(*add);
    if (mt.getRank() == 2)
      return imp.reshapeTo(*add, {d[0], {1, nullptr}, {1, nullptr}, d[1]});
    return imp.reshapeTo(*add, {d[0], {1, nullptr}, d[1], d[2]});
  }
  return imp.error() << "mask_index of rank " << mt.getRank()
                     << " is not supported",
         failure();
}

/// com.microsoft Attention: one [hidden, 3 * hidden] QKV projection, then
/// multi-head attention with an optional mask_index and attention_bias.
LogicalResult convertMsAttention(Imp &imp, const onnx::NodeProto &) {
  for (auto [i, what] : {std::pair(4, "past"), std::pair(6, "past_sequence_length")})
    if (imp.input(i))
      return imp.error() << "input '" << what << "' is not supported";
  if (imp.hasOutput(1))
    return imp.error() << "the present output is not supported";
  if (imp.attrInt("do_rotary", 0) || imp.attrInt("past_present_share_buffer", 0))
    return imp.error() << "do_rotary and past_present_share_buffer are not supported";
  int64_t heads = imp.attrInt("num_heads", 0);
  if (heads <= 0)
    return imp.error() << "num_heads must be positive";
  FailureOr<Value> x = imp.inputValue(0), w = imp.inputValue(1);
  if (failed(x) || failed(w))
    return failure();
  auto wt = tensorType(*w);
  if (wt.getRank() != 2 || wt.isDynamicDim(1))
    return imp.error() << "weights must be a static [hidden, q + k + v] matrix";
  SmallVector<int64_t> sizes;
  if (auto q = imp.attrInts("qkv_hidden_sizes"); q && !q->empty())
    sizes = *q;
  else
    sizes.assign(3, wt.getDimSize(1) / 3);
  if (sizes.size() != 3 || sizes[0] + sizes[1] + sizes[2] != wt.getDimSize(1) ||
      sizes[0] != sizes[1])
    return imp.error() << "qkv sizes do not match the weights " << wt;
  FailureOr<RankedTensorType> t =
      matmulResultType(imp, *x, *w, tensorType(*x).getElementType());
  if (failed(t))
    return failure();
  Value qkv = imp.b.create<MatMulOp>(imp.loc, *t, *x, *w);
  if (Entry *bias = imp.input(2)) {
    FailureOr<Value> s = imp.binary<AddOp>(qkv, imp.materialize(*bias));
    if (failed(s))
      return failure();
    qkv = *s;
  }
  if (tensorType(qkv).getRank() != 3)
    return imp.error() << "input must be [batch, seq, hidden]";
  SmallVector<Value> parts;
  int64_t off = 0;
  SmallVector<DimValue> d = imp.dimsOf(qkv);
  for (int64_t size : sizes) {
    SmallVector<Value> dOff, dSize;
    SmallVector<int64_t> sOff{0, 0, off}, sSize, shape;
    for (int i = 0; i < 2; ++i) {
      if (d[i].isConstant()) {
        sSize.push_back(d[i].constant);
      } else {
        sSize.push_back(ShapedType::kDynamic);
        dSize.push_back(d[i].value);
      }
      shape.push_back(sSize.back());
    }
    sSize.push_back(size);
    shape.push_back(size);
    parts.push_back(imp.b.create<SliceOp>(
        imp.loc, RankedTensorType::get(shape, tensorType(qkv).getElementType()),
        qkv, dOff, dSize, imp.b.getDenseI64ArrayAttr(sOff),
        imp.b.getDenseI64ArrayAttr(sSize), imp.b.getDenseI64ArrayAttr({1, 1, 1})));
    off += size;
  }
  return emitHeadAttention(
      imp, parts[0], parts[1], parts[2], heads, [&](Value k4) -> FailureOr<Value> {
        Value mask;
        if (Entry *mi = imp.input(3)) {
          FailureOr<Value> m = maskFromIndex(
              imp, *mi, k4, imp.attrFloat("mask_filter_value", -10000.0f));
          if (failed(m))
            return failure();
          mask = *m;
        }
        if (Entry *ab = imp.input(5)) {
          Value bias = imp.materialize(*ab);
          if (!mask)
            return bias;
          return imp.binary<AddOp>(mask, bias);
        }
        return mask;
      });
}

} // namespace

LogicalResult convertFusedOp(GraphImporter &imp, const onnx::NodeProto &n) {
  if (n.op_type() == "RotaryEmbedding")
    return convertRotary(imp, n);
  if (n.op_type() == "Attention")
    return convertMsAttention(imp, n);
  return convertMultiHeadAttention(imp, n);
}

} // namespace qcc::onnx_import
