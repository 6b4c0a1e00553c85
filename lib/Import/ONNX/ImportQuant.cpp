//===- ImportQuant.cpp - ONNX quantized operator converters ---------------===//
//
// QuantizeLinear / DequantizeLinear, DynamicQuantizeLinear, MatMulInteger,
// QLinearMatMul and com.microsoft MatMulNBits become qcc quantization ops
// whose scheme is a #qcc.qparams attribute.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

using namespace mlir;

namespace qcc::onnx_import {
namespace {

using Imp = GraphImporter;
using Node = onnx::NodeProto;

FailureOr<unsigned> storageBits(Imp &imp, int32_t dtype) {
  switch (dtype) {
  case kInt8: case kUInt8: return 8u;
  case kInt4: case kUInt4: return 4u;
  default:
    return imp.error() << "quantized type " << dtypeName(dtype)
                       << " is not supported (int8, uint8, int4 and uint4 are)",
           failure();
  }
}

bool isAllZero(DenseElementsAttr a) {
  return a && llvm::all_of(a.getValues<APInt>(),
                           [](const APInt &v) { return v.isZero(); });
}

struct QuantOperands {
  QuantParamsAttr params;
  Value scale;
  Value zeroPoint; // null for symmetric schemes
};

/// Derives the scheme of a QuantizeLinear / DequantizeLinear from its scale
/// shape, axis and block size, and the storage type.
FailureOr<QuantOperands> quantOperands(Imp &imp, Value x, int32_t storage,
                                       Entry *scale, Entry *zp, int64_t axis,
                                       int64_t block) {
  FailureOr<unsigned> bits = storageBits(imp, storage);
  if (failed(bits))
    return failure();
  QuantOperands q;
  q.scale = imp.materialize(*scale);
  auto st = tensorType(q.scale);
  int64_t rank = tensorType(x).getRank();
  Granularity g;
  int64_t normAxis = 0, group = 0;
  if (st.hasStaticShape() && st.getNumElements() == 1 && st.getRank() <= 1 &&
      block == 0) {
    g = Granularity::PerTensor;
  } else {
    FailureOr<int64_t> a = imp.normalizeAxis(axis, rank);
    if (failed(a))
      return failure();
    normAxis = *a;
    if (block > 0) {
      g = Granularity::PerGroup;
      group = block;
    } else if (block < 0) {
      return imp.error() << "block_size must be non-negative", failure();
    } else {
      g = Granularity::PerAxis;
    }
  }
  bool symmetric = !zp || isAllZero(zp->constant);
  if (!symmetric)
    q.zeroPoint = imp.materialize(*zp);
  Type scaleType = st.getElementType();
  if (!scaleType.isF32() && !scaleType.isF16() && !scaleType.isBF16())
    return imp.error() << "scale must be float, float16 or bfloat16", failure();
  q.params = QuantParamsAttr::get(imp.ctx, *bits, !isUnsignedDType(storage), g,
                                  normAxis, group, symmetric, scaleType);
  return q;
}

LogicalResult convertQuantizeLinear(Imp &imp) {
  FailureOr<Entry *> x = imp.requiredInput(0), scale = imp.requiredInput(1);
  if (failed(x) || failed(scale))
    return failure();
  Entry *zp = imp.input(2);
  int32_t storage = zp ? zp->dtype : (int32_t)imp.attrInt("output_dtype", 0);
  if (storage == 0)
    storage = kUInt8;
  Value xv = imp.materialize(**x);
  FailureOr<QuantOperands> q =
      quantOperands(imp, xv, storage, *scale, zp, imp.attrInt("axis", 1),
                    imp.attrInt("block_size", 0));
  if (failed(q))
    return failure();
  auto type = RankedTensorType::get(tensorType(xv).getShape(),
                                    q->params.getStorageType());
  imp.setOutput(0,
                imp.b.create<QuantizeOp>(imp.loc, type, xv, q->scale,
                                         q->zeroPoint, q->params),
                storage);
  return success();
}

/// Dequantizes a constant int32 tensor (QDQ bias) at import time.
LogicalResult foldInt32Dequantize(Imp &imp, Entry &x, Entry *scale, Entry *zp) {
  std::optional<SmallVector<double>> s =
      scale ? imp.constFloats(*scale) : std::nullopt;
  if (!x.constant || !s || s->empty())
    return imp.error() << "int32 dequantization is only supported for "
                          "constant inputs with constant scales (QDQ biases)";
  auto xt = x.constant.getType();
  int64_t n = xt.getNumElements();
  int64_t last = xt.getRank() ? xt.getDimSize(xt.getRank() - 1) : 1;
  if (s->size() != 1 && (xt.getRank() != 1 || (int64_t)s->size() != last))
    return imp.error() << "int32 dequantization scale must be per-tensor or "
                          "per-element of a 1-D bias";
  SmallVector<int64_t> zps;
  if (zp) {
    auto z = imp.constInts(*zp);
    if (!z)
      return imp.error() << "zero point must be constant";
    zps = *z;
  }
  SmallVector<float> out;
  out.reserve(n);
  int64_t i = 0;
  for (const APInt &v : x.constant.getValues<APInt>()) {
    size_t c = s->size() == 1 ? 0 : i;
    int64_t z = zps.empty() ? 0 : zps[zps.size() == 1 ? 0 : c];
    out.push_back((float)((v.getSExtValue() - z) * (*s)[c]));
    ++i;
  }
  Entry e;
  e.dtype = kFloat;
  e.constant = DenseElementsAttr::get(
      RankedTensorType::get(xt.getShape(), imp.b.getF32Type()),
      ArrayRef<float>(out));
  e.value = imp.constantTensor(e.constant);
  imp.setOutput(0, std::move(e));
  return success();
}

LogicalResult convertDequantizeLinear(Imp &imp) {
  FailureOr<Entry *> x = imp.requiredInput(0), scale = imp.requiredInput(1);
  if (failed(x) || failed(scale))
    return failure();
  Entry *zp = imp.input(2);
  if ((*x)->dtype == kInt32)
    return foldInt32Dequantize(imp, **x, *scale, zp);
  Value xv = imp.materialize(**x);
  FailureOr<QuantOperands> q =
      quantOperands(imp, xv, (*x)->dtype, *scale, zp, imp.attrInt("axis", 1),
                    imp.attrInt("block_size", 0));
  if (failed(q))
    return failure();
  auto type = RankedTensorType::get(tensorType(xv).getShape(),
                                    tensorType(q->scale).getElementType());
  imp.setOutput(0,
                imp.b.create<DequantizeOp>(imp.loc, type, xv, q->scale,
                                           q->zeroPoint, q->params),
                kFloat);
  return success();
}

LogicalResult convertDynamicQuantizeLinear(Imp &imp) {
  FailureOr<Entry *> x = imp.requiredInput(0);
  if (failed(x))
    return failure();
  if ((*x)->dtype != kFloat)
    return imp.error() << "input must be float";
  Value xv = imp.materialize(**x);
  auto params = QuantParamsAttr::get(imp.ctx, 8, /*isSigned=*/false,
                                     Granularity::PerTensor, 0, 0,
                                     /*isSymmetric=*/false, imp.b.getF32Type());
  auto i8 = imp.b.getIntegerType(8);
  SmallVector<Type> types{
      RankedTensorType::get(tensorType(xv).getShape(), i8),
      RankedTensorType::get({}, imp.b.getF32Type()),
      RankedTensorType::get({}, i8)};
  auto op = imp.b.create<DynamicQuantizeOp>(imp.loc, types, xv, params);
  imp.setOutput(0, op.getResult(), kUInt8);
  imp.setOutput(1, op.getScale(), kFloat);
  imp.setOutput(2, op.getZeroPoint(), kUInt8);
  return success();
}

LogicalResult convertMatMulInteger(Imp &imp) {
  FailureOr<Entry *> a = imp.requiredInput(0), c = imp.requiredInput(1);
  if (failed(a) || failed(c))
    return failure();
  Value av = imp.materialize(**a), cv = imp.materialize(**c);
  auto makeParams = [&](Entry *e, Entry *zp, bool isRhs) -> FailureOr<QuantParamsAttr> {
    if (e->dtype != kInt8 && e->dtype != kUInt8)
      return imp.error() << "MatMulInteger takes int8 or uint8 inputs, got "
                         << dtypeName(e->dtype),
             failure();
    bool perAxis = false;
    if (zp) {
      auto t = tensorType(imp.materialize(*zp));
      perAxis = isRhs && t.getRank() == 1 && t.getDimSize(0) != 1;
      if (zp->dtype != e->dtype)
        return imp.error() << "zero point type differs from its input's",
               failure();
    }
    int64_t rank = tensorType(isRhs ? cv : av).getRank();
    return QuantParamsAttr::get(
        imp.ctx, 8, e->dtype == kInt8,
        perAxis ? Granularity::PerAxis : Granularity::PerTensor,
        perAxis ? std::max<int64_t>(rank - 1, 0) : 0, 0, !zp,
        imp.b.getF32Type());
  };
  Entry *azp = imp.input(2), *bzp = imp.input(3);
  FailureOr<QuantParamsAttr> lp = makeParams(*a, azp, false),
                             rp = makeParams(*c, bzp, true);
  if (failed(lp) || failed(rp))
    return failure();
  FailureOr<RankedTensorType> t =
      matmulResultType(imp, av, cv, imp.b.getIntegerType(32));
  if (failed(t))
    return failure();
  Value r = imp.b.create<QMatMulOp>(
      imp.loc, *t, av, cv, azp ? imp.materialize(*azp) : Value(),
      bzp ? imp.materialize(*bzp) : Value(), /*out_scale=*/Value(), *lp, *rp);
  imp.setOutput(0, r, kInt32);
  return success();
}

LogicalResult convertQLinearMatMul(Imp &imp) {
  SmallVector<Entry *> in;
  for (size_t i = 0; i < 8; ++i) {
    FailureOr<Entry *> e = imp.requiredInput(i);
    if (failed(e))
      return failure();
    in.push_back(*e);
  }
  auto dequant = [&](Entry *x, Entry *s, Entry *z, bool isRhs) -> FailureOr<Value> {
    Value xv = imp.materialize(*x);
    int64_t rank = tensorType(xv).getRank();
    FailureOr<QuantOperands> q = quantOperands(
        imp, xv, x->dtype, s, z, isRhs ? rank - 1 : rank - 2, 0);
    if (failed(q))
      return failure();
    // The product is formed in f32 whatever the scales' type: an f16
    // matmul would lose the integer products' precision.
    auto type = RankedTensorType::get(tensorType(xv).getShape(), imp.b.getF32Type());
    return imp.b.create<DequantizeOp>(imp.loc, type, xv, q->scale, q->zeroPoint,
                                      q->params).getResult();
  };
  FailureOr<Value> a = dequant(in[0], in[1], in[2], false);
  FailureOr<Value> c = a;
  if (succeeded(a))
    c = dequant(in[3], in[4], in[5], true);
  if (failed(a) || failed(c))
    return failure();
  FailureOr<RankedTensorType> t =
      matmulResultType(imp, *a, *c, tensorType(*a).getElementType());
  if (failed(t))
    return failure();
  Value mm = imp.b.create<MatMulOp>(imp.loc, *t, *a, *c);
  FailureOr<QuantOperands> q =
      quantOperands(imp, mm, in[7]->dtype, in[6], in[7], 1, 0);
  if (failed(q))
    return failure();
  if (q->params.getGranularity() != Granularity::PerTensor)
    return imp.error() << "output quantization must be per-tensor";
  auto type = RankedTensorType::get(t->getShape(), q->params.getStorageType());
  imp.setOutput(0,
                imp.b.create<QuantizeOp>(imp.loc, type, mm, q->scale,
                                         q->zeroPoint, q->params),
                in[7]->dtype);
  return success();
}

/// Bytes of a dense attribute, expanding splats.
std::vector<uint8_t> bytesOf(DenseElementsAttr a) {
  ArrayRef<char> raw = a.getRawData();
  int64_t n = a.getNumElements();
  size_t eltBytes = std::max<size_t>(1, a.getElementType().getIntOrFloatBitWidth() / 8);
  std::vector<uint8_t> out(n * eltBytes);
  if (a.isSplat()) {
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(out.data() + i * eltBytes, raw.data(), eltBytes);
  } else {
    std::memcpy(out.data(), raw.data(), out.size());
  }
  return out;
}

/// Unsigned `bits`-wide field number `index` of an LSB-first packed stream.
unsigned extractBits(const uint8_t *data, int64_t index, unsigned bits) {
  int64_t bit = index * bits;
  unsigned v = data[bit / 8] >> (bit % 8);
  if ((bit % 8) + bits > 8)
    v |= data[bit / 8 + 1] << (8 - bit % 8);
  return v & ((1u << bits) - 1);
}

/// com.microsoft MatMulNBits: B is [N, k_blocks, blob] of LSB-first packed
/// unsigned integers, scales [N, k_blocks], optional packed zero points
/// (default 2^(bits-1)). Imported as qcc.qlinear with a [K, N] weight:
/// without zero points the weight becomes signed symmetric (q - 2^(bits-1)).
LogicalResult convertMatMulNBits(Imp &imp) {
  FailureOr<Entry *> a = imp.requiredInput(0), bw = imp.requiredInput(1),
                     sc = imp.requiredInput(2);
  if (failed(a) || failed(bw) || failed(sc))
    return failure();
  int64_t K = imp.attrInt("K", -1), N = imp.attrInt("N", -1);
  int64_t bits = imp.attrInt("bits", 4), bs = imp.attrInt("block_size", -1);
  if (K <= 0 || N <= 0 || bs < 16 || (bs & (bs - 1)))
    return imp.error() << "needs positive K and N and a power-of-two "
                          "block_size >= 16 (got K=" << K << ", N=" << N
                       << ", block_size=" << bs << ")";
  if (bits != 2 && bits != 4 && bits != 8)
    return imp.error() << bits << "-bit weights are not supported (2, 4, 8 are)";
  if (imp.input(4))
    return imp.error() << "g_idx (act-order) is not supported";
  if (!(*bw)->constant || !(*sc)->constant)
    return imp.error() << "B and scales must be constant initializers";
  int64_t kBlocks = (K + bs - 1) / bs, blob = bs * bits / 8;
  auto bt = (*bw)->constant.getType();
  if ((*bw)->dtype != kUInt8 || bt.getNumElements() != N * kBlocks * blob)
    return imp.error() << "B must be uint8 [" << N << ", " << kBlocks << ", "
                       << blob << "], got " << bt;
  DenseElementsAttr scales = (*sc)->constant;
  if (scales.getNumElements() != N * kBlocks)
    return imp.error() << "scales must have N * k_blocks = " << N * kBlocks
                       << " elements, got " << scales.getNumElements();
  Entry *zpIn = imp.input(3);
  if (zpIn && (!zpIn->constant || zpIn->dtype != kUInt8))
    return imp.error() << "zero_points must be a constant packed uint8 tensor "
                          "(float zero points are not supported)";
  int64_t zpRow = (kBlocks * bits + 7) / 8;
  if (zpIn && zpIn->constant.getNumElements() != N * zpRow)
    return imp.error() << "zero_points must have " << N * zpRow
                       << " elements, got " << zpIn->constant.getNumElements();
  Value av = imp.materialize(**a);
  auto at = tensorType(av);
  if (at.getRank() < 1 || (!at.isDynamicDim(at.getRank() - 1) &&
                           at.getDimSize(at.getRank() - 1) != K))
    return imp.error() << "A's last dim must be K = " << K << ", got " << at;

  std::vector<uint8_t> packed = bytesOf((*bw)->constant);
  std::vector<uint8_t> zps = zpIn ? bytesOf(zpIn->constant) : std::vector<uint8_t>();
  bool symmetric = !zpIn;
  int64_t center = int64_t(1) << (bits - 1);
  // MLIR stores each sub-byte element in its own byte.
  std::string weight(K * N, '\0');
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const uint8_t *row = packed.data() + (n * kBlocks + k / bs) * blob;
      int64_t q = extractBits(row, k % bs, bits);
      weight[k * N + n] = (char)(symmetric ? q - center : q);
    }
  Type storage = imp.b.getIntegerType(bits);
  auto wType = RankedTensorType::get({K, N}, storage);
  Value w = imp.constantTensor(DenseElementsAttr::getFromRawBuffer(
      wType, ArrayRef<char>(weight.data(), weight.size())));

  // Scales [N, k_blocks] -> [k_blocks, N].
  Type scaleElt = scales.getElementType();
  size_t sb = scaleElt.getIntOrFloatBitWidth() / 8;
  std::vector<uint8_t> sbytes = bytesOf(scales);
  std::string st(kBlocks * N * sb, '\0');
  for (int64_t n = 0; n < N; ++n)
    for (int64_t kb = 0; kb < kBlocks; ++kb)
      std::memcpy(&st[(kb * N + n) * sb], &sbytes[(n * kBlocks + kb) * sb], sb);
  auto sType = RankedTensorType::get({kBlocks, N}, scaleElt);
  Value s = imp.constantTensor(
      DenseElementsAttr::getFromRawBuffer(sType, ArrayRef<char>(st.data(), st.size())));

  Value zp;
  if (zpIn) {
    std::string z(kBlocks * N, '\0');
    for (int64_t n = 0; n < N; ++n)
      for (int64_t kb = 0; kb < kBlocks; ++kb)
        z[kb * N + n] = (char)extractBits(zps.data() + n * zpRow, kb, bits);
    zp = imp.constantTensor(DenseElementsAttr::getFromRawBuffer(
        RankedTensorType::get({kBlocks, N}, storage),
        ArrayRef<char>(z.data(), z.size())));
  }
  auto wParams = QuantParamsAttr::get(imp.ctx, bits, /*isSigned=*/symmetric,
                                      Granularity::PerGroup, 0, bs, symmetric,
                                      scaleElt);
  // accuracy_level 4 asks for int8 activations (quantized per row).
  QuantParamsAttr actParams;
  if (imp.attrInt("accuracy_level", 0) == 4)
    actParams = QuantParamsAttr::get(imp.ctx, 8, true, Granularity::PerAxis, 0,
                                     0, true, imp.b.getF32Type());
  Value bias;
  if (Entry *b = imp.input(5))
    bias = imp.materialize(*b);
  SmallVector<int64_t> shape(at.getShape());
  shape.back() = N;
  auto rType = RankedTensorType::get(shape, at.getElementType());
  auto op = imp.b.create<QLinearOp>(imp.loc, rType, av, w, s, zp, bias,
                                    /*residual=*/Value(), wParams,
                                    actParams, FloatAttr());
  imp.setOutput(0, op, (*a)->dtype);
  return success();
}

} // namespace

LogicalResult convertQuantOp(GraphImporter &imp, const onnx::NodeProto &n) {
  StringRef op = n.op_type();
  if (op == "QuantizeLinear")
    return convertQuantizeLinear(imp);
  if (op == "DequantizeLinear")
    return convertDequantizeLinear(imp);
  if (op == "DynamicQuantizeLinear")
    return convertDynamicQuantizeLinear(imp);
  if (op == "MatMulInteger")
    return convertMatMulInteger(imp);
  if (op == "QLinearMatMul")
    return convertQLinearMatMul(imp);
  return convertMatMulNBits(imp);
}

} // namespace qcc::onnx_import
