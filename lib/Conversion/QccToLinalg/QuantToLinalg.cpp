//===- QuantToLinalg.cpp - quantization ops to linalg on tensors ----------===//
//
// The reference lowering of qcc's quantization ops, part of
// qcc-convert-to-linalg: every integer step as docs/Quantization.md defines
// it, in plain linalg on tensors. Target kernels replace the hot ops; this
// path defines what they must compute.
//
//===----------------------------------------------------------------------===//
#include "LinalgBuilders.h"
#include "qcc/Dialect/Qcc/IR/QccOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace qcc;
using namespace qcc::lowering;

namespace {

using utils::IteratorType;

/// Map from a value's loops to the elements of its scale / zero point.
AffineMap paramMap(MLIRContext *ctx, QuantParamsAttr params, int64_t rank,
                   RankedTensorType scale) {
  SmallVector<AffineExpr> e;
  switch (params.getGranularity()) {
  case Granularity::PerTensor:
    for (int64_t i = 0; i < scale.getRank(); ++i)
      e.push_back(getAffineConstantExpr(0, ctx));
    break;
  case Granularity::PerAxis:
    e.push_back(getAffineDimExpr(params.getAxis(), ctx));
    break;
  case Granularity::PerGroup:
    for (int64_t i = 0; i < rank; ++i) {
      AffineExpr d = getAffineDimExpr(i, ctx);
      e.push_back(i == params.getAxis() ? d.floorDiv(params.getGroupSize()) : d);
    }
    break;
  }
  return AffineMap::get(rank, 0, e, ctx);
}

/// tensor.dim of each dynamic dim of `v` among `dims`.
SmallVector<Value> dynamicDims(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> dims) {
  SmallVector<Value> r;
  for (int64_t d : dims)
    if (ttype(v).isDynamicDim(d))
      r.push_back(b.create<tensor::DimOp>(loc, v, d));
  return r;
}

SmallVector<int64_t> iota(int64_t n) {
  SmallVector<int64_t> r(n);
  for (int64_t i = 0; i < n; ++i)
    r[i] = i;
  return r;
}

Value zeroFilled(OpBuilder &b, Location loc, RankedTensorType type, ValueRange dyn,
                 TypedAttr zero) {
  Value z = b.create<arith::ConstantOp>(loc, zero);
  return b.create<linalg::FillOp>(loc, z, emptyTensor(b, loc, type, dyn)).getResult(0);
}

/// A linalg.generic with explicit maps; the last map is the output's.
Value generic(OpBuilder &b, Location loc, Value init, ValueRange inputs,
              ArrayRef<AffineMap> maps, ArrayRef<IteratorType> iters, BodyFn body) {
  return b
      .create<linalg::GenericOp>(loc, init.getType(), inputs, init, maps, iters,
                                 [&](OpBuilder &nb, Location nl, ValueRange args) {
                                   nb.create<linalg::YieldOp>(nl, body(nb, nl, args));
                                 })
      .getResult(0);
}

Value toF32(OpBuilder &b, Location loc, Value v) {
  Type t = v.getType();
  if (t.isF32())
    return v;
  if (t.getIntOrFloatBitWidth() < 32)
    return b.create<arith::ExtFOp>(loc, b.getF32Type(), v);
  return b.create<arith::TruncFOp>(loc, b.getF32Type(), v);
}

Value fromF32(OpBuilder &b, Location loc, Value v, Type to) {
  if (to.isF32())
    return v;
  if (to.getIntOrFloatBitWidth() < 32)
    return b.create<arith::TruncFOp>(loc, to, v);
  return b.create<arith::ExtFOp>(loc, to, v);
}

/// Storage integer -> i32 by the scheme's signedness.
Value widen(OpBuilder &b, Location loc, Value q, bool isSigned) {
  Type i32 = b.getI32Type();
  if (q.getType() == i32)
    return q;
  if (isSigned)
    return b.create<arith::ExtSIOp>(loc, i32, q);
  return b.create<arith::ExtUIOp>(loc, i32, q);
}

Value f32Const(OpBuilder &b, Location loc, double v) {
  return floatConst(b, loc, b.getF32Type(), v);
}

/// clamp(round_half_even(x / s) + zp, qmin, qmax) as i32.
Value quantizeToI32(OpBuilder &b, Location loc, Value x, Value s, Value zp,
                    QuantParamsAttr params) {
  Value r = b.create<math::RoundEvenOp>(
      loc, b.create<arith::DivFOp>(loc, toF32(b, loc, x), toF32(b, loc, s)));
  if (zp)
    r = b.create<arith::AddFOp>(
        loc, r,
        b.create<arith::SIToFPOp>(loc, b.getF32Type(), widen(b, loc, zp, params.getIsSigned())));
  r = b.create<arith::MaximumFOp>(loc, r, f32Const(b, loc, params.getQMin()));
  r = b.create<arith::MinimumFOp>(loc, r, f32Const(b, loc, params.getQMax()));
  return b.create<arith::FPToSIOp>(loc, b.getI32Type(), r);
}

Value truncTo(OpBuilder &b, Location loc, Value i32, Type storage) {
  if (i32.getType() == storage)
    return i32;
  return b.create<arith::TruncIOp>(loc, storage, i32);
}

/// An elementwise generic over `value` reading its scale and optional zero
/// point through the scheme's maps; `body` gets (value, scale[, zp]).
Value withScheme(PatternRewriter &b, Location loc, RankedTensorType resultType, Value value,
                 Value scale, Value zp, QuantParamsAttr params, BodyFn body) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = ttype(value).getRank();
  SmallVector<Value> ins{value, scale};
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank),
                              paramMap(ctx, params, rank, ttype(scale))};
  if (zp) {
    ins.push_back(zp);
    maps.push_back(paramMap(ctx, params, rank, ttype(zp)));
  }
  maps.push_back(b.getMultiDimIdentityMap(rank));
  Value init = emptyTensor(b, loc, resultType, dynamicDims(b, loc, value, iota(rank)));
  return generic(b, loc, init, ins, maps, SmallVector<IteratorType>(rank, IteratorType::parallel),
                 body);
}

struct LowerQuantize : OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeOp op, PatternRewriter &b) const override {
    QuantParamsAttr params = op.getParams();
    Type storage = op.getType().getElementType();
    bool hasZp = (bool)op.getZeroPoint();
    b.replaceOp(op, withScheme(b, op.getLoc(), op.getType(), op.getInput(), op.getScale(),
                               op.getZeroPoint(), params,
                               [&](OpBuilder &nb, Location l, ValueRange a) {
                                 Value q = quantizeToI32(nb, l, a[0], a[1],
                                                         hasZp ? a[2] : Value(), params);
                                 return truncTo(nb, l, q, storage);
                               }));
    return success();
  }
};

struct LowerDequantize : OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DequantizeOp op, PatternRewriter &b) const override {
    Type elt = op.getType().getElementType();
    bool hasZp = (bool)op.getZeroPoint(), isSigned = op.getParams().getIsSigned();
    b.replaceOp(op, withScheme(b, op.getLoc(), op.getType(), op.getInput(), op.getScale(),
                               op.getZeroPoint(), op.getParams(),
                               [&](OpBuilder &nb, Location l, ValueRange a) {
                                 Value i = widen(nb, l, a[0], isSigned);
                                 if (hasZp)
                                   i = nb.create<arith::SubIOp>(l, i,
                                                                widen(nb, l, a[2], isSigned));
                                 Value f = nb.create<arith::SIToFPOp>(l, nb.getF32Type(), i);
                                 f = nb.create<arith::MulFOp>(l, f, toF32(nb, l, a[1]));
                                 return fromF32(nb, l, f, elt);
                               }));
    return success();
  }
};

/// Scale (and zero point) from a block's min and max: asymmetric schemes
/// cover [min(x, 0), max(x, 0)], symmetric ones [-max|x|, max|x|]; an empty
/// range gets scale 1 so every value quantizes to the zero point.
struct LowerDynamicQuantize : OpRewritePattern<DynamicQuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DynamicQuantizeOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    QuantParamsAttr params = op.getParams();
    if (params.getGranularity() == Granularity::PerGroup)
      return op.emitOpError("per-group dynamic quantization is not supported by "
                            "the CPU lowering"),
             failure();
    Value x = op.getInput();
    int64_t rank = ttype(x).getRank();
    auto scaleType = cast<RankedTensorType>(op.getScale().getType());
    auto statType = RankedTensorType::get(scaleType.getShape(), b.getF32Type());
    AffineMap statMap = paramMap(ctx, params, rank, scaleType);
    SmallVector<IteratorType> iters(rank, IteratorType::reduction);
    SmallVector<int64_t> statDims;
    if (params.getGranularity() == Granularity::PerAxis) {
      iters[params.getAxis()] = IteratorType::parallel;
      statDims.push_back(params.getAxis());
    }
    SmallVector<Value> statDyn = dynamicDims(b, loc, x, statDims);
    SmallVector<Value, 2> statValues;
    auto inf = [&](bool neg) {
      return b.getF32FloatAttr(neg ? -std::numeric_limits<float>::infinity()
                                   : std::numeric_limits<float>::infinity());
    };
    auto minMax = [&](OpBuilder &nb, Location l, ValueRange a) {
      Value v = toF32(nb, l, a[0]);
      nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::MinimumFOp>(l, a[1], v),
                                               nb.create<arith::MaximumFOp>(l, a[2], v)});
    };
    AffineMap inMap = b.getMultiDimIdentityMap(rank);
    if (params.getGranularity() == Granularity::PerTensor && rank >= 2) {
      // Per column of the last dim first: that loop runs innermost and
      // carries no value from one step to the next, so it vectorizes; a
      // single running min and max would be a scalar chain. Min and max
      // are exact, so the order changes no bit.
      int64_t last = rank - 1;
      auto colType = RankedTensorType::get({ttype(x).getDimSize(last)}, b.getF32Type());
      SmallVector<Value> colDyn = dynamicDims(b, loc, x, {last});
      AffineMap colMap = AffineMap::get(rank, 0, {b.getAffineDimExpr(last)}, ctx);
      SmallVector<IteratorType> colIters(rank, IteratorType::reduction);
      colIters[last] = IteratorType::parallel;
      auto cols = b.create<linalg::GenericOp>(
          loc, TypeRange{colType, colType}, ValueRange{x},
          ValueRange{zeroFilled(b, loc, colType, colDyn, inf(false)),
                     zeroFilled(b, loc, colType, colDyn, inf(true))},
          ArrayRef<AffineMap>{inMap, colMap, colMap}, colIters, minMax);
      // Then the columns' minima and maxima.
      AffineMap one = b.getMultiDimIdentityMap(1);
      statMap = AffineMap::get(1, 0, statMap.getResults(), ctx);
      auto stats = b.create<linalg::GenericOp>(
          loc, TypeRange{statType, statType}, cols.getResults(),
          ValueRange{zeroFilled(b, loc, statType, statDyn, inf(false)),
                     zeroFilled(b, loc, statType, statDyn, inf(true))},
          ArrayRef<AffineMap>{one, one, statMap, statMap},
          SmallVector<IteratorType>{IteratorType::reduction},
          [&](OpBuilder &nb, Location l, ValueRange a) {
            nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::MinimumFOp>(l, a[2], a[0]),
                                                     nb.create<arith::MaximumFOp>(l, a[3], a[1])});
          });
      statValues = {stats.getResult(0), stats.getResult(1)};
    } else {
      Value minInit = zeroFilled(b, loc, statType, statDyn, inf(false));
      Value maxInit = zeroFilled(b, loc, statType, statDyn, inf(true));
      auto stats = b.create<linalg::GenericOp>(
          loc, TypeRange{statType, statType}, ValueRange{x}, ValueRange{minInit, maxInit},
          ArrayRef<AffineMap>{inMap, statMap, statMap}, iters, minMax);
      statValues = {stats.getResult(0), stats.getResult(1)};
    }
    // Scale and zero point, elementwise over the statistics.
    int64_t srank = statType.getRank();
    double qmin = params.getQMin(), qmax = params.getQMax();
    bool asym = !params.getIsSymmetric();
    Type scaleElt = scaleType.getElementType();
    SmallVector<Type> outTypes{scaleType};
    SmallVector<Value> outs{emptyTensor(b, loc, scaleType, statDyn)};
    Type storage = op.getResult().getType().getElementType();
    if (asym) {
      auto zpType = RankedTensorType::get(scaleType.getShape(), storage);
      outTypes.push_back(zpType);
      outs.push_back(emptyTensor(b, loc, zpType, statDyn));
    }
    SmallVector<AffineMap> maps(2 + outs.size(), b.getMultiDimIdentityMap(srank));
    auto params2 = b.create<linalg::GenericOp>(
        loc, outTypes, statValues, outs, maps,
        SmallVector<IteratorType>(srank, IteratorType::parallel),
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value zero = f32Const(nb, l, 0.0), one = f32Const(nb, l, 1.0);
          Value lo = a[0], hi = a[1], range, scale;
          if (asym) {
            lo = nb.create<arith::MinimumFOp>(l, lo, zero);
            hi = nb.create<arith::MaximumFOp>(l, hi, zero);
            range = nb.create<arith::SubFOp>(l, hi, lo);
            scale = nb.create<arith::DivFOp>(l, range, f32Const(nb, l, qmax - qmin));
          } else {
            range = nb.create<arith::MaximumFOp>(l, nb.create<math::AbsFOp>(l, lo),
                                                 nb.create<math::AbsFOp>(l, hi));
            scale = nb.create<arith::DivFOp>(l, range, f32Const(nb, l, qmax));
          }
          Value empty = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ, range, zero);
          scale = nb.create<arith::SelectOp>(l, empty, one, scale);
          // The stored scale is what quantization divides by.
          Value stored = fromF32(nb, l, scale, scaleElt);
          SmallVector<Value> results{stored};
          if (asym) {
            Value s = toF32(nb, l, stored);
            Value z = nb.create<math::RoundEvenOp>(
                l, nb.create<arith::SubFOp>(l, f32Const(nb, l, qmin),
                                            nb.create<arith::DivFOp>(l, lo, s)));
            z = nb.create<arith::MaximumFOp>(l, z, f32Const(nb, l, qmin));
            z = nb.create<arith::MinimumFOp>(l, z, f32Const(nb, l, qmax));
            results.push_back(
                truncTo(nb, l, nb.create<arith::FPToSIOp>(l, nb.getI32Type(), z), storage));
          }
          nb.create<linalg::YieldOp>(l, results);
        });
    Value scale = params2.getResult(0);
    Value zp = asym ? params2.getResult(1) : Value();
    Value q = b.create<QuantizeOp>(loc, op.getResult().getType(), x, scale, zp, params);
    SmallVector<Value> repl{q, scale};
    if (asym)
      repl.push_back(zp);
    b.replaceOp(op, repl);
    return success();
  }
};

/// out = clamp(((in - input_zp) * multiplier + 2^(shift-1)) >> shift +
/// output_zp) in 64-bit; inputs are read as signed (i32 accumulators) unless
/// their scheme says unsigned.
struct LowerRequantize : OpRewritePattern<RequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RequantizeOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value x = op.getInput();
    int64_t rank = ttype(x).getRank();
    ArrayRef<int32_t> mult = op.getMultiplier(), shift = op.getShift();
    int64_t n = mult.size();
    auto i64 = b.getI64Type();
    auto table = [&](ArrayRef<int32_t> v, bool isShift) {
      SmallVector<int64_t> vals;
      for (int32_t m : v)
        vals.push_back(isShift ? (m > 0 ? int64_t(1) << (m - 1) : 0) : m);
      auto t = RankedTensorType::get({n}, i64);
      return b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(t, ArrayRef(vals)));
    };
    auto shifts = [&]() {
      SmallVector<int64_t> vals(shift.begin(), shift.end());
      return b.create<arith::ConstantOp>(
          loc, DenseElementsAttr::get(RankedTensorType::get({n}, i64), ArrayRef(vals)));
    };
    AffineMap pmap = op.getAxis()
                         ? AffineMap::get(rank, 0, getAffineDimExpr(*op.getAxis(), ctx))
                         : AffineMap::get(rank, 0, getAffineConstantExpr(0, ctx));
    SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank), pmap, pmap, pmap,
                                b.getMultiDimIdentityMap(rank)};
    Value init = emptyTensor(b, loc, op.getType(), dynamicDims(b, loc, x, iota(rank)));
    QuantParamsAttr params = op.getParams();
    int64_t izp = op.getInputZp(), ozp = op.getOutputZp();
    bool unsignedInput = op.getInputParams() && !op.getInputParams()->getIsSigned();
    Type storage = op.getType().getElementType();
    b.replaceOp(op, generic(b, loc, init,
                            ValueRange{x, table(mult, false), table(shift, true), shifts()},
                            maps, SmallVector<IteratorType>(rank, IteratorType::parallel),
                            [&](OpBuilder &nb, Location l, ValueRange a) {
                              auto c = [&](int64_t v) -> Value {
                                return nb.create<arith::ConstantIntOp>(l, v, 64);
                              };
                              Value v =
                                  unsignedInput
                                      ? nb.create<arith::ExtUIOp>(l, nb.getI64Type(), a[0]).getResult()
                                      : nb.create<arith::ExtSIOp>(l, nb.getI64Type(), a[0]).getResult();
                              v = nb.create<arith::SubIOp>(l, v, c(izp));
                              v = nb.create<arith::MulIOp>(l, v, a[1]);
                              v = nb.create<arith::AddIOp>(l, v, a[2]);
                              v = nb.create<arith::ShRSIOp>(l, v, a[3]);
                              v = nb.create<arith::AddIOp>(l, v, c(ozp));
                              v = nb.create<arith::MaxSIOp>(l, v, c(params.getQMin()));
                              v = nb.create<arith::MinSIOp>(l, v, c(params.getQMax()));
                              return nb.create<arith::TruncIOp>(l, storage, v);
                            }));
    return success();
  }
};

/// q - zero_point as i32, the zero point (if any) read through `zpMap`.
Value centered(OpBuilder &b, Location loc, Value q, Value zp, AffineMap zpMap, bool isSigned) {
  auto t = ttype(q);
  int64_t rank = t.getRank();
  SmallVector<Value> ins{q};
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank)};
  if (zp) {
    ins.push_back(zp);
    maps.push_back(zpMap);
  }
  maps.push_back(b.getMultiDimIdentityMap(rank));
  auto i32Type = RankedTensorType::get(t.getShape(), b.getI32Type());
  Value init = emptyTensor(b, loc, i32Type, dynamicDims(b, loc, q, iota(rank)));
  bool hasZp = (bool)zp;
  return generic(b, loc, init, ins, maps, SmallVector<IteratorType>(rank, IteratorType::parallel),
                 [&](OpBuilder &nb, Location l, ValueRange a) {
                   Value v = widen(nb, l, a[0], isSigned);
                   if (hasZp)
                     v = nb.create<arith::SubIOp>(l, v, widen(nb, l, a[1], isSigned));
                   return v;
                 });
}

/// A MatMulInteger zero point's map: a scalar (rank 0, or [1] on a dim that
/// is not 1), else one per index of `dim`.
AffineMap matmulZpMap(MLIRContext *ctx, Value operand, Value zp, int64_t dim) {
  if (!zp)
    return AffineMap();
  auto t = ttype(operand), zt = ttype(zp);
  int64_t rank = t.getRank();
  bool scalar = zt.getRank() == 0 ||
                (zt.getRank() == 1 && zt.getDimSize(0) == 1 && t.getDimSize(dim) != 1);
  if (scalar)
    return AffineMap::get(
        rank, 0, SmallVector<AffineExpr>(zt.getRank(), getAffineConstantExpr(0, ctx)), ctx);
  return AffineMap::get(rank, 0, getAffineDimExpr(dim, ctx));
}

/// ONNX MatMulInteger: zero points are scalars, per row of lhs or per
/// column of rhs; the products accumulate in i32.
struct LowerQMatMul : OpRewritePattern<QMatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QMatMulOp op, PatternRewriter &b) const override {
    if (op.getRhs().getType().getEncoding())
      return op.emitOpError("packed weights are read by target kernels only"), failure();
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    int64_t rowDim = std::max<int64_t>(ttype(op.getLhs()).getRank() - 2, 0);
    int64_t colDim = ttype(op.getRhs()).getRank() - 1;
    Value lhs = centered(b, loc, op.getLhs(), op.getLhsZeroPoint(),
                         matmulZpMap(ctx, op.getLhs(), op.getLhsZeroPoint(), rowDim),
                         op.getLhsParams().getIsSigned());
    Value rhs = centered(b, loc, op.getRhs(), op.getRhsZeroPoint(),
                         matmulZpMap(ctx, op.getRhs(), op.getRhsZeroPoint(), colDim),
                         op.getRhsParams().getIsSigned());
    Value scale = op.getOutScale();
    if (!scale) {
      b.replaceOpWithNewOp<MatMulOp>(op, op.getType(), lhs, rhs);
      return success();
    }
    // out_scale: the i32 sums, then the cast and multiply it stands for.
    Value acc = b.create<MatMulOp>(loc, op.getType().clone(b.getI32Type()), lhs, rhs);
    Value y = b.create<CastOp>(loc, op.getType(), acc);
    b.replaceOpWithNewOp<MulOp>(op, op.getType(), y, scale);
    return success();
  }
};

/// Weight-only: input x dequantize(weight) (+ bias) in float. With
/// act_params: each row of the input is quantized symmetric int8 with
/// scale max|row| / 127; per weight group g the integer dot products of the
/// row with (w - zp) accumulate in i32; the row's result is
///   out[n] = s_a * sum_g (float(acc_g[n]) * s_w[g, n])   (+ bias[n])
/// summed over groups in increasing order (per-channel weights: one group).
struct LowerQLinear : OpRewritePattern<QLinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QLinearOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    QuantParamsAttr wp = op.getWeightParams();
    auto wt = ttype(op.getWeight());
    Type elt = op.getType().getElementType();
    if (wt.getEncoding())
      return op.emitOpError("packed weights are read by target kernels only"), failure();
    if (!op.getActParamsAttr()) {
      auto wfType = RankedTensorType::get(wt.getShape(), elt);
      Value wf = b.create<DequantizeOp>(loc, wfType, op.getWeight(), op.getWeightScale(),
                                        op.getWeightZeroPoint(), wp);
      Value r = b.create<MatMulOp>(loc, op.getType(), op.getInput(), wf);
      if (Value bias = op.getBias())
        r = b.create<AddOp>(loc, op.getType(), r, bias);
      b.replaceOp(op, withResidual(b, op, r));
      return success();
    }
    if (!wt.hasStaticShape())
      return op.emitOpError("quantized activations need a static weight shape"), failure();
    MLIRContext *ctx = b.getContext();
    Value x = op.getInput();
    auto xt = ttype(x);
    int64_t rank = xt.getRank(), rows = rank - 1;
    int64_t K = wt.getDimSize(0), N = wt.getDimSize(1);
    bool grouped = wp.getGranularity() == Granularity::PerGroup;
    int64_t gs = grouped ? wp.getGroupSize() : K, G = (K + gs - 1) / gs, Kp = G * gs;
    SmallVector<int64_t> rowShape(xt.getShape().drop_back());
    SmallVector<Value> rowDyn = dynamicDims(b, loc, x, iota(rows));
    Type f32 = b.getF32Type(), i32 = b.getI32Type();
    SmallVector<AffineExpr> rowExprs;
    for (int64_t i = 0; i < rows; ++i)
      rowExprs.push_back(getAffineDimExpr(i, ctx));

    // Row scales: max |x| over the row / qmax.
    auto rowType = RankedTensorType::get(rowShape, f32);
    SmallVector<IteratorType> rowIters(rows, IteratorType::parallel);
    rowIters.push_back(IteratorType::reduction);
    Value amax = generic(
        b, loc, zeroFilled(b, loc, rowType, rowDyn, b.getF32FloatAttr(0.0)), x,
        {b.getMultiDimIdentityMap(rank), AffineMap::get(rank, 0, rowExprs, ctx)}, rowIters,
        [&](OpBuilder &nb, Location l, ValueRange a) {
          return nb.create<arith::MaximumFOp>(l, a[1],
                                              nb.create<math::AbsFOp>(l, toF32(nb, l, a[0])));
        });
    QuantParamsAttr ap = op.getActParamsAttr();
    double aqmax = ap.getQMax();
    FloatAttr staticScale = op.getActScaleAttr();
    Value sa = staticScale
                   ? zeroFilled(b, loc, rowType, rowDyn, staticScale)
                   : elementwise(b, loc, rowType, amax, [&](OpBuilder &nb, Location l,
                                                            ValueRange a) {
                       Value zero = f32Const(nb, l, 0.0);
                       Value empty =
                           nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ, a[0], zero);
                       return nb.create<arith::SelectOp>(
                           l, empty, f32Const(nb, l, 1.0),
                           nb.create<arith::DivFOp>(l, a[0], f32Const(nb, l, aqmax)));
                     });

    // Zero padding to whole groups (quantizes to 0, adds nothing).
    auto pad = [&](Value v, RankedTensorType padded, ValueRange dyn, TypedAttr zero) {
      Value dest = zeroFilled(b, loc, padded, dyn, zero);
      auto vt = ttype(v);
      SmallVector<OpFoldResult> offsets(vt.getRank(), b.getIndexAttr(0)),
          strides(vt.getRank(), b.getIndexAttr(1)), sizes;
      for (int64_t i = 0; i < vt.getRank(); ++i)
        sizes.push_back(vt.isDynamicDim(i)
                            ? OpFoldResult(b.create<tensor::DimOp>(loc, v, i).getResult())
                            : OpFoldResult(b.getIndexAttr(vt.getDimSize(i))));
      return b.create<tensor::InsertSliceOp>(loc, v, dest, offsets, sizes, strides)
          .getResult();
    };
    Value xp = x;
    if (Kp != K) {
      SmallVector<int64_t> padShape(rowShape);
      padShape.push_back(Kp);
      xp = pad(x, RankedTensorType::get(padShape, xt.getElementType()), rowDyn,
               b.getFloatAttr(xt.getElementType(), 0.0));
    }
    // Quantized rows as [rows..., G, gs].
    AffineExpr gD = getAffineDimExpr(rows, ctx), kkD = getAffineDimExpr(rows + 1, ctx);
    SmallVector<int64_t> qShape(rowShape);
    qShape.push_back(G);
    qShape.push_back(gs);
    SmallVector<AffineExpr> xe(rowExprs);
    xe.push_back(gD * gs + kkD);
    Value qa = generic(
        b, loc, emptyTensor(b, loc, RankedTensorType::get(qShape, i32), rowDyn),
        ValueRange{xp, sa},
        {AffineMap::get(rows + 2, 0, xe, ctx), AffineMap::get(rows + 2, 0, rowExprs, ctx),
         b.getMultiDimIdentityMap(rows + 2)},
        SmallVector<IteratorType>(rows + 2, IteratorType::parallel),
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value q = quantizeToI32(nb, l, a[0], a[1], Value(), ap);
          // A static scale can clip: symmetric, to [-qmax, qmax].
          if (staticScale)
            q = nb.create<arith::MaxSIOp>(
                l, q, nb.create<arith::ConstantIntOp>(l, -int64_t(aqmax), 32));
          return q;
        });
    // Centered weight as [G, gs, N]; zero points follow the scale's layout
    // (per group [G, N] or per column).
    Value wzp = op.getWeightZeroPoint();
    Value wc = centered(b, loc, op.getWeight(), wzp,
                        wzp ? paramMap(ctx, wp, 2, ttype(wzp)) : AffineMap(), wp.getIsSigned());
    if (Kp != K)
      wc = pad(wc, RankedTensorType::get({Kp, N}, i32), {}, b.getI32IntegerAttr(0));
    wc = b.create<tensor::ExpandShapeOp>(loc, RankedTensorType::get({G, gs, N}, i32), wc,
                                         SmallVector<ReassociationIndices>{{0, 1}, {2}});

    // acc[rows..., g, n] = sum_kk qa[rows..., g, kk] * wc[g, kk, n].
    int64_t loops = rows + 3;
    AffineExpr cg = getAffineDimExpr(rows, ctx), cn = getAffineDimExpr(rows + 1, ctx),
               ckk = getAffineDimExpr(rows + 2, ctx);
    SmallVector<AffineExpr> qe(rowExprs), oe(rowExprs);
    qe.push_back(cg);
    qe.push_back(ckk);
    oe.push_back(cg);
    oe.push_back(cn);
    SmallVector<int64_t> accShape(rowShape);
    accShape.push_back(G);
    accShape.push_back(N);
    SmallVector<IteratorType> accIters(rows + 2, IteratorType::parallel);
    accIters.push_back(IteratorType::reduction);
    Value acc = contract(b, loc, RankedTensorType::get(accShape, i32), rowDyn, qa, wc,
                         {AffineMap::get(loops, 0, qe, ctx),
                          AffineMap::get(loops, 0, {cg, ckk, cn}, ctx),
                          AffineMap::get(loops, 0, oe, ctx)},
                         accIters);

    // t[rows..., n] = sum_g float(acc[rows..., g, n]) * s_w[g, n].
    SmallVector<int64_t> outShape(rowShape);
    outShape.push_back(N);
    auto tType = RankedTensorType::get(outShape, f32);
    int64_t tl = rows + 2;
    AffineExpr tg = getAffineDimExpr(rows, ctx), tn = getAffineDimExpr(rows + 1, ctx);
    SmallVector<AffineExpr> ae(rowExprs), te(rowExprs);
    ae.push_back(tg);
    ae.push_back(tn);
    te.push_back(tn);
    auto st = ttype(op.getWeightScale());
    SmallVector<AffineExpr> se;
    if (grouped)
      se = {tg, tn};
    else if (wp.getGranularity() == Granularity::PerAxis)
      se = {tn};
    else
      se.assign(st.getRank(), getAffineConstantExpr(0, ctx));
    SmallVector<IteratorType> tIters(rows, IteratorType::parallel);
    tIters.push_back(IteratorType::reduction);
    tIters.push_back(IteratorType::parallel);
    Value t = generic(b, loc, zeroFilled(b, loc, tType, rowDyn, b.getF32FloatAttr(0.0)),
                      ValueRange{acc, op.getWeightScale()},
                      {AffineMap::get(tl, 0, ae, ctx), AffineMap::get(tl, 0, se, ctx),
                       AffineMap::get(tl, 0, te, ctx)},
                      tIters, [&](OpBuilder &nb, Location l, ValueRange a) {
                        Value p = nb.create<arith::MulFOp>(
                            l, nb.create<arith::SIToFPOp>(l, f32, a[0]), toF32(nb, l, a[1]));
                        return nb.create<arith::AddFOp>(l, a[2], p);
                      });

    // out = s_a * t (+ bias), in the result's element type.
    SmallVector<Value> ins{t, sa};
    SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank),
                                AffineMap::get(rank, 0, rowExprs, ctx)};
    if (Value bias = op.getBias()) {
      ins.push_back(bias);
      maps.push_back(AffineMap::get(rank, 0, getAffineDimExpr(rows, ctx)));
    }
    maps.push_back(b.getMultiDimIdentityMap(rank));
    bool hasBias = (bool)op.getBias();
    Value out = generic(b, loc, emptyTensor(b, loc, op.getType(), rowDyn), ins, maps,
                        SmallVector<IteratorType>(rank, IteratorType::parallel),
                        [&](OpBuilder &nb, Location l, ValueRange a) {
                          Value v = nb.create<arith::MulFOp>(l, a[1], a[0]);
                          if (hasBias)
                            v = nb.create<arith::AddFOp>(l, v, toF32(nb, l, a[2]));
                          return fromF32(nb, l, v, elt);
                        });
    b.replaceOp(op, withResidual(b, op, out));
    return success();
  }

  /// The residual comes last, as the qcc.add it stands for.
  static Value withResidual(PatternRewriter &b, QLinearOp op, Value out) {
    Value residual = op.getResidual();
    return residual ? b.create<AddOp>(op.getLoc(), op.getType(), out, residual) : out;
  }
};

} // namespace

void qcc::populateQuantToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerQuantize, LowerDequantize, LowerDynamicQuantize, LowerRequantize,
               LowerQMatMul, LowerQLinear>(patterns.getContext());
}
