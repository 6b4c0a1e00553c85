//===- QccToLinalg.cpp - qcc-convert-to-linalg ----------------------------===//
//
// Lowers qcc's float graph ops to linalg on tensors. Elementwise ops and
// broadcasts become linalg.generic with broadcasting indexing maps, matmuls
// generic contractions, normalizations and softmax reductions followed by
// elementwise generics, and data movement tensor ops.
//
//===----------------------------------------------------------------------===//
#include "LinalgBuilders.h"
#include "qcc/Conversion/Passes.h"
#include "qcc/Dialect/Qcc/IR/QccOps.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "llvm/ADT/TypeSwitch.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

namespace qcc {
#define GEN_PASS_DEF_QCCCONVERTTOLINALG
#include "qcc/Conversion/Passes.h.inc"
} // namespace qcc

using namespace mlir;
using namespace qcc;

namespace qcc::lowering {

RankedTensorType ttype(Value v) { return cast<RankedTensorType>(v.getType()); }

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}

Value dimOf(OpBuilder &b, Location loc, Value t, int64_t i) {
  auto type = ttype(t);
  if (!type.isDynamicDim(i))
    return indexConst(b, loc, type.getDimSize(i));
  return b.create<tensor::DimOp>(loc, t, i);
}

/// Dynamic dims of a broadcast result, read from an operand whose aligned dim
/// is dynamic (exporters only broadcast size-1 dims that are static).
SmallVector<Value> broadcastDynamicDims(OpBuilder &b, Location loc,
                                        RankedTensorType result,
                                        ValueRange operands) {
  SmallVector<Value> dims;
  int64_t rank = result.getRank();
  for (int64_t i = 0; i < rank; ++i) {
    if (!result.isDynamicDim(i))
      continue;
    Value found;
    for (Value v : operands) {
      auto t = ttype(v);
      int64_t j = i - (rank - t.getRank());
      if (j >= 0 && t.isDynamicDim(j)) {
        found = b.create<tensor::DimOp>(loc, v, j);
        break;
      }
    }
    assert(found && "dynamic result dim without a dynamic operand dim");
    dims.push_back(found);
  }
  return dims;
}

Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type,
                  ValueRange dynDims) {
  return b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType(),
                                   dynDims);
}

/// Map from the result's loops to an operand's elements, numpy-aligned;
/// static size-1 dims that broadcast read index 0.
AffineMap broadcastMap(MLIRContext *ctx, RankedTensorType operand,
                       RankedTensorType result) {
  int64_t rank = result.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t j = 0; j < operand.getRank(); ++j) {
    int64_t i = j + rank - operand.getRank();
    if (operand.getDimSize(j) == 1 && result.getDimSize(i) != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(i, ctx));
  }
  return AffineMap::get(rank, 0, exprs, ctx);
}


/// A parallel linalg.generic over the result shape.
Value elementwise(OpBuilder &b, Location loc, RankedTensorType resultType,
                  ValueRange inputs, BodyFn body) {
  MLIRContext *ctx = b.getContext();
  Value init = emptyTensor(b, loc, resultType,
                           broadcastDynamicDims(b, loc, resultType, inputs));
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(broadcastMap(ctx, ttype(in), resultType));
  maps.push_back(b.getMultiDimIdentityMap(resultType.getRank()));
  SmallVector<utils::IteratorType> iters(resultType.getRank(),
                                         utils::IteratorType::parallel);
  auto generic = b.create<linalg::GenericOp>(
      loc, resultType, inputs, init, maps, iters,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        nb.create<linalg::YieldOp>(nloc, body(nb, nloc, args.drop_back()));
      });
  return generic.getResult(0);
}

Value contract(OpBuilder &b, Location loc, RankedTensorType type,
               ValueRange dynDims, Value lhs, Value rhs,
               ArrayRef<AffineMap> maps, ArrayRef<utils::IteratorType> iters) {
  Type t = type.getElementType();
  bool isF = isa<FloatType>(t);
  Value zero = b.create<arith::ConstantOp>(
      loc, t, isF ? (TypedAttr)b.getFloatAttr(t, 0.0) : b.getIntegerAttr(t, 0));
  Value init = b.create<linalg::FillOp>(loc, zero, emptyTensor(b, loc, type, dynDims))
                   .getResult(0);
  return b
      .create<linalg::GenericOp>(
          loc, type, ValueRange{lhs, rhs}, init, maps, iters,
          [isF](OpBuilder &nb, Location l, ValueRange a) {
            Value sum = isF ? (Value)nb.create<arith::AddFOp>(
                                  l, a[2], nb.create<arith::MulFOp>(l, a[0], a[1]))
                            : nb.create<arith::AddIOp>(
                                  l, a[2], nb.create<arith::MulIOp>(l, a[0], a[1]));
            nb.create<linalg::YieldOp>(l, sum);
          })
      .getResult(0);
}

//===----------------------------------------------------------------------===//
// Scalar semantics
//===----------------------------------------------------------------------===//

Value floatConst(OpBuilder &b, Location loc, Type t, double v) {
  return b.create<arith::ConstantOp>(loc, t, b.getFloatAttr(t, v));
}

} // namespace qcc::lowering

using namespace qcc::lowering;

namespace {

Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Type t = x.getType();
  Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, x));
  return b.create<arith::DivFOp>(
      loc, floatConst(b, loc, t, 1.0),
      b.create<arith::AddFOp>(loc, floatConst(b, loc, t, 1.0), e));
}

Value gelu(OpBuilder &b, Location loc, Value x, GeluApprox approx) {
  Type t = x.getType();
  Value half = floatConst(b, loc, t, 0.5), one = floatConst(b, loc, t, 1.0);
  Value inner;
  if (approx == GeluApprox::Tanh) {
    Value x3 = b.create<arith::MulFOp>(loc, x, b.create<arith::MulFOp>(loc, x, x));
    Value s = b.create<arith::AddFOp>(
        loc, x, b.create<arith::MulFOp>(loc, floatConst(b, loc, t, 0.044715), x3));
    inner = b.create<math::TanhOp>(
        loc, b.create<arith::MulFOp>(loc, floatConst(b, loc, t, std::sqrt(2.0 / M_PI)), s));
  } else {
    inner = b.create<math::ErfOp>(
        loc, b.create<arith::MulFOp>(loc, x, floatConst(b, loc, t, M_SQRT1_2)));
  }
  return b.create<arith::MulFOp>(
      loc, b.create<arith::MulFOp>(loc, half, x),
      b.create<arith::AddFOp>(loc, one, inner));
}

/// ONNX Cast on one element.
Value castScalar(OpBuilder &b, Location loc, Value v, Type to, bool fromUnsigned,
                 bool toUnsigned) {
  Type from = v.getType();
  if (from == to)
    return v;
  auto fi = dyn_cast<IntegerType>(from), ti = dyn_cast<IntegerType>(to);
  if (ti && ti.getWidth() == 1) {
    if (fi)
      return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, v,
                                     b.create<arith::ConstantOp>(loc, from, b.getIntegerAttr(from, 0)));
    return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNE, v,
                                   floatConst(b, loc, from, 0.0));
  }
  if (fi && ti) {
    if (ti.getWidth() < fi.getWidth())
      return b.create<arith::TruncIOp>(loc, to, v);
    if (fromUnsigned || fi.getWidth() == 1)
      return b.create<arith::ExtUIOp>(loc, to, v);
    return b.create<arith::ExtSIOp>(loc, to, v);
  }
  if (fi) {
    if (fromUnsigned || fi.getWidth() == 1)
      return b.create<arith::UIToFPOp>(loc, to, v);
    return b.create<arith::SIToFPOp>(loc, to, v);
  }
  if (ti) {
    if (toUnsigned)
      return b.create<arith::FPToUIOp>(loc, to, v);
    return b.create<arith::FPToSIOp>(loc, to, v);
  }
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return b.create<arith::ExtFOp>(loc, to, v);
  // double -> half goes through float, as onnxruntime converts it; no CPU
  // converts it directly, and the compiler-rt helper is not in the artifact.
  if (from.isF64() && to.getIntOrFloatBitWidth() == 16)
    v = b.create<arith::TruncFOp>(loc, b.getF32Type(), v);
  return b.create<arith::TruncFOp>(loc, to, v);
}

/// The scalar body of an elementwise qcc op.
Value scalarOf(Operation *op, OpBuilder &b, Location loc, ValueRange a) {
  Type t = a[0].getType();
  bool isF = isa<FloatType>(t);
  return TypeSwitch<Operation *, Value>(op)
      .Case([&](AddOp) -> Value {
        return isF ? (Value)b.create<arith::AddFOp>(loc, a[0], a[1])
                   : b.create<arith::AddIOp>(loc, a[0], a[1]);
      })
      .Case([&](SubOp) -> Value {
        return isF ? (Value)b.create<arith::SubFOp>(loc, a[0], a[1])
                   : b.create<arith::SubIOp>(loc, a[0], a[1]);
      })
      .Case([&](MulOp) -> Value {
        return isF ? (Value)b.create<arith::MulFOp>(loc, a[0], a[1])
                   : b.create<arith::MulIOp>(loc, a[0], a[1]);
      })
      .Case([&](DivOp) -> Value {
        return isF ? (Value)b.create<arith::DivFOp>(loc, a[0], a[1])
                   : b.create<arith::DivSIOp>(loc, a[0], a[1]);
      })
      .Case([&](PowOp) -> Value {
        Value e = a[1];
        if (e.getType() != t)
          e = castScalar(b, loc, e, t, false, false);
        if (!isF)
          return b.create<math::IPowIOp>(loc, a[0], e);
        return b.create<math::PowFOp>(loc, a[0], e);
      })
      .Case([&](MinOp) -> Value {
        if (isF)
          return b.create<arith::MinimumFOp>(loc, a[0], a[1]);
        // i1 is a bool (true > false), not a signed 1-bit integer.
        if (t.isInteger(1))
          return b.create<arith::AndIOp>(loc, a[0], a[1]);
        return b.create<arith::MinSIOp>(loc, a[0], a[1]);
      })
      .Case([&](MaxOp) -> Value {
        if (isF)
          return b.create<arith::MaximumFOp>(loc, a[0], a[1]);
        if (t.isInteger(1))
          return b.create<arith::OrIOp>(loc, a[0], a[1]);
        return b.create<arith::MaxSIOp>(loc, a[0], a[1]);
      })
      .Case([&](EqualOp) -> Value {
        return isF ? (Value)b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, a[0], a[1])
                   : b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, a[0], a[1]);
      })
      .Case([&](LessOp) -> Value {
        return isF ? (Value)b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, a[0], a[1])
                   : b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, a[0], a[1]);
      })
      .Case([&](GreaterOp) -> Value {
        return isF ? (Value)b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, a[0], a[1])
                   : b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sgt, a[0], a[1]);
      })
      .Case([&](AndOp) -> Value { return b.create<arith::AndIOp>(loc, a[0], a[1]); })
      .Case([&](OrOp) -> Value { return b.create<arith::OrIOp>(loc, a[0], a[1]); })
      .Case([&](WhereOp) -> Value {
        return b.create<arith::SelectOp>(loc, a[0], a[1], a[2]);
      })
      .Case([&](NegOp) -> Value {
        if (isF)
          return b.create<arith::NegFOp>(loc, a[0]);
        return b.create<arith::SubIOp>(
            loc, b.create<arith::ConstantOp>(loc, t, b.getIntegerAttr(t, 0)), a[0]);
      })
      .Case([&](AbsOp) -> Value {
        return isF ? (Value)b.create<math::AbsFOp>(loc, a[0])
                   : b.create<math::AbsIOp>(loc, a[0]);
      })
      .Case([&](ExpOp) -> Value { return b.create<math::ExpOp>(loc, a[0]); })
      .Case([&](LogOp) -> Value { return b.create<math::LogOp>(loc, a[0]); })
      .Case([&](SqrtOp) -> Value { return b.create<math::SqrtOp>(loc, a[0]); })
      .Case([&](ReciprocalOp) -> Value {
        return b.create<arith::DivFOp>(loc, floatConst(b, loc, t, 1.0), a[0]);
      })
      .Case([&](TanhOp) -> Value { return b.create<math::TanhOp>(loc, a[0]); })
      .Case([&](ErfOp) -> Value { return b.create<math::ErfOp>(loc, a[0]); })
      .Case([&](SigmoidOp) -> Value { return sigmoid(b, loc, a[0]); })
      .Case([&](ReluOp) -> Value {
        if (isF)
          return b.create<arith::MaximumFOp>(loc, a[0], floatConst(b, loc, t, 0.0));
        return b.create<arith::MaxSIOp>(
            loc, a[0], b.create<arith::ConstantOp>(loc, t, b.getIntegerAttr(t, 0)));
      })
      .Case([&](SiluOp) -> Value {
        return b.create<arith::MulFOp>(loc, a[0], sigmoid(b, loc, a[0]));
      })
      .Case([&](GeluOp g) -> Value { return gelu(b, loc, a[0], g.getApproximate()); })
      .Case([&](NotOp) -> Value {
        return b.create<arith::XOrIOp>(
            loc, a[0], b.create<arith::ConstantOp>(loc, t, b.getIntegerAttr(t, 1)));
      })
      .Case([&](IdentityOp) -> Value { return a[0]; })
      .Case([&](ClipOp c) -> Value {
        Value v = a[0];
        auto bound = [&](double x) -> Value {
          if (isF)
            return floatConst(b, loc, t, x);
          return b.create<arith::ConstantOp>(loc, t, b.getIntegerAttr(t, (int64_t)x));
        };
        if (auto lo = c.getMin())
          v = isF ? (Value)b.create<arith::MaximumFOp>(loc, v, bound(lo->convertToDouble()))
                  : b.create<arith::MaxSIOp>(loc, v, bound(lo->convertToDouble()));
        if (auto hi = c.getMax())
          v = isF ? (Value)b.create<arith::MinimumFOp>(loc, v, bound(hi->convertToDouble()))
                  : b.create<arith::MinSIOp>(loc, v, bound(hi->convertToDouble()));
        return v;
      })
      .Case([&](CastOp c) -> Value {
        return castScalar(b, loc, a[0], c.getType().getElementType(),
                          c.getFromUnsigned(), c.getToUnsigned());
      })
      .Default([](Operation *) -> Value { return nullptr; });
}

/// Every elementwise qcc op.
struct LowerElementwise : RewritePattern {
  LowerElementwise(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (!isa<AddOp, SubOp, MulOp, DivOp, PowOp, MinOp, MaxOp, EqualOp, LessOp,
             GreaterOp, AndOp, OrOp, WhereOp, NegOp, AbsOp, ExpOp, LogOp,
             SqrtOp, ReciprocalOp, TanhOp, ErfOp, SigmoidOp, ReluOp, SiluOp,
             GeluOp, NotOp, IdentityOp, ClipOp, CastOp>(op))
      return failure();
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    Value r = elementwise(rewriter, op->getLoc(), resultType, op->getOperands(),
                          [&](OpBuilder &b, Location loc, ValueRange args) {
                            return scalarOf(op, b, loc, args);
                          });
    rewriter.replaceOp(op, r);
    return success();
  }
};

/// Removes the given size-1 dims, folding each into a neighbouring kept dim.
Value dropUnitDims(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> drop,
                   RankedTensorType resultType) {
  int64_t rank = ttype(v).getRank();
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices pending;
  for (int64_t i = 0; i < rank; ++i) {
    pending.push_back(i);
    if (!llvm::is_contained(drop, i)) {
      groups.push_back(pending);
      pending.clear();
    }
  }
  if (!pending.empty() && !groups.empty())
    llvm::append_range(groups.back(), pending);
  return b.create<tensor::CollapseShapeOp>(loc, resultType, v, groups);
}

//===----------------------------------------------------------------------===//
// Reductions, normalization, softmax
//===----------------------------------------------------------------------===//

/// Reduces `input` over `axes` with a combiner, keeping reduced dims as 1.
Value reduceKeepDims(OpBuilder &b, Location loc, Value input,
                     ArrayRef<int64_t> axes, TypedAttr initValue,
                     function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  auto inType = ttype(input);
  int64_t rank = inType.getRank();
  SmallVector<int64_t> shape(inType.getShape());
  SmallVector<Value> dyn;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  for (int64_t i = 0; i < rank; ++i) {
    bool reduced = llvm::is_contained(axes, i);
    if (reduced) {
      shape[i] = 1;
      outExprs.push_back(b.getAffineConstantExpr(0));
      iters.push_back(utils::IteratorType::reduction);
    } else {
      if (inType.isDynamicDim(i))
        dyn.push_back(b.create<tensor::DimOp>(loc, input, i));
      outExprs.push_back(b.getAffineDimExpr(i));
      iters.push_back(utils::IteratorType::parallel);
    }
  }
  auto outType = RankedTensorType::get(shape, inType.getElementType());
  Value init = b.create<linalg::FillOp>(
                    loc, b.create<arith::ConstantOp>(loc, initValue).getResult(),
                    emptyTensor(b, loc, outType, dyn))
                   .getResult(0);
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank),
                              AffineMap::get(rank, 0, outExprs, b.getContext())};
  return b
      .create<linalg::GenericOp>(
          loc, outType, input, init, maps, iters,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            nb.create<linalg::YieldOp>(nloc, combine(nb, nloc, args[0], args[1]));
          })
      .getResult(0);
}

/// Number of elements over `axes`, as a float scalar.
Value countOf(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes,
              Type elt) {
  Value n = indexConst(b, loc, 1);
  for (int64_t a : axes)
    n = b.create<arith::MulIOp>(loc, n, dimOf(b, loc, input, a));
  Value i64 = b.create<arith::IndexCastOp>(loc, b.getI64Type(), n);
  return b.create<arith::SIToFPOp>(loc, elt, i64);
}

Value addCombine(OpBuilder &b, Location loc, Value x, Value acc) {
  return isa<FloatType>(x.getType()) ? (Value)b.create<arith::AddFOp>(loc, x, acc)
                                     : b.create<arith::AddIOp>(loc, x, acc);
}

TypedAttr identityFor(OpBuilder &b, ReduceKind kind, Type t) {
  if (auto ft = dyn_cast<FloatType>(t)) {
    const llvm::fltSemantics &sem = ft.getFloatSemantics();
    switch (kind) {
    case ReduceKind::Max: return b.getFloatAttr(t, APFloat::getInf(sem, true));
    case ReduceKind::Min: return b.getFloatAttr(t, APFloat::getInf(sem, false));
    case ReduceKind::Prod: return b.getFloatAttr(t, 1.0);
    default: return b.getFloatAttr(t, 0.0);
    }
  }
  unsigned w = t.getIntOrFloatBitWidth();
  if (w == 1) // bools: max is "any", min is "all"
    return b.getIntegerAttr(t, kind == ReduceKind::Min || kind == ReduceKind::Prod);
  switch (kind) {
  case ReduceKind::Max: return b.getIntegerAttr(t, APInt::getSignedMinValue(w));
  case ReduceKind::Min: return b.getIntegerAttr(t, APInt::getSignedMaxValue(w));
  case ReduceKind::Prod: return b.getIntegerAttr(t, 1);
  default: return b.getIntegerAttr(t, 0);
  }
}

struct LowerReduce : OpRewritePattern<ReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReduceOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    Type t = op.getType().getElementType();
    bool isF = isa<FloatType>(t);
    ReduceKind kind = op.getKind();
    Value r = reduceKeepDims(
        b, loc, op.getInput(), op.getAxes(), identityFor(b, kind, t),
        [&](OpBuilder &nb, Location l, Value x, Value acc) -> Value {
          switch (kind) {
          case ReduceKind::Max:
            if (t.isInteger(1))
              return nb.create<arith::OrIOp>(l, x, acc);
            return isF ? (Value)nb.create<arith::MaximumFOp>(l, x, acc)
                       : nb.create<arith::MaxSIOp>(l, x, acc);
          case ReduceKind::Min:
            if (t.isInteger(1))
              return nb.create<arith::AndIOp>(l, x, acc);
            return isF ? (Value)nb.create<arith::MinimumFOp>(l, x, acc)
                       : nb.create<arith::MinSIOp>(l, x, acc);
          case ReduceKind::Prod:
            return isF ? (Value)nb.create<arith::MulFOp>(l, x, acc)
                       : nb.create<arith::MulIOp>(l, x, acc);
          default:
            return addCombine(nb, l, x, acc);
          }
        });
    if (kind == ReduceKind::Mean) {
      if (!isF)
        return b.notifyMatchFailure(op, "integer mean is not supported");
      Value n = countOf(b, loc, op.getInput(), op.getAxes(), t);
      r = elementwise(b, loc, ttype(r), r, [&](OpBuilder &nb, Location l, ValueRange a) {
        return nb.create<arith::DivFOp>(l, a[0], n);
      });
    }
    if (!op.getKeepdims())
      r = dropUnitDims(b, loc, r, op.getAxes(), op.getType());
    b.replaceOp(op, r);
    return success();
  }
};

/// Softmax: exp(x - max) / sum, along one axis.
struct LowerSoftmax : OpRewritePattern<SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    Type t = op.getType().getElementType();
    int64_t axis = op.getAxis();
    Value mx = reduceKeepDims(b, loc, x, axis, identityFor(b, ReduceKind::Max, t),
                              [](OpBuilder &nb, Location l, Value a, Value c) -> Value {
                                return nb.create<arith::MaximumFOp>(l, a, c);
                              });
    Value e = elementwise(b, loc, op.getType(), {x, mx},
                          [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                            return nb.create<math::ExpOp>(
                                l, nb.create<arith::SubFOp>(l, a[0], a[1]));
                          });
    Value s = reduceKeepDims(b, loc, e, axis, b.getFloatAttr(t, 0.0), addCombine);
    b.replaceOp(op, elementwise(b, loc, op.getType(), {e, s},
                                [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                  return nb.create<arith::DivFOp>(l, a[0], a[1]);
                                }));
    return success();
  }
};

SmallVector<int64_t> trailingAxes(int64_t from, int64_t rank) {
  SmallVector<int64_t> axes;
  for (int64_t i = from; i < rank; ++i)
    axes.push_back(i);
  return axes;
}

struct LowerLayerNorm : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = op.getType();
    Type t = type.getElementType();
    SmallVector<int64_t> axes = trailingAxes(op.getAxis(), type.getRank());
    Value n = countOf(b, loc, x, axes, t);
    Value sum = reduceKeepDims(b, loc, x, axes, b.getFloatAttr(t, 0.0), addCombine);
    Value sq = reduceKeepDims(b, loc, elementwise(b, loc, type, {x, sum},
                                                  [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                                    Value d = nb.create<arith::SubFOp>(
                                                        l, a[0], nb.create<arith::DivFOp>(l, a[1], n));
                                                    return nb.create<arith::MulFOp>(l, d, d);
                                                  }),
                              axes, b.getFloatAttr(t, 0.0), addCombine);
    double eps = op.getEpsilon().convertToDouble();
    SmallVector<Value> ins{x, sum, sq, op.getScale()};
    if (op.getBias())
      ins.push_back(op.getBias());
    b.replaceOp(op, elementwise(b, loc, type, ins,
                                [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                  Value mean = nb.create<arith::DivFOp>(l, a[1], n);
                                  Value var = nb.create<arith::DivFOp>(l, a[2], n);
                                  Value inv = nb.create<math::RsqrtOp>(
                                      l, nb.create<arith::AddFOp>(l, var, floatConst(nb, l, t, eps)));
                                  Value y = nb.create<arith::MulFOp>(
                                      l, nb.create<arith::MulFOp>(
                                             l, nb.create<arith::SubFOp>(l, a[0], mean), inv),
                                      a[3]);
                                  return a.size() > 4 ? (Value)nb.create<arith::AddFOp>(l, y, a[4]) : y;
                                }));
    return success();
  }
};

struct LowerRMSNorm : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RMSNormOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = op.getType();
    Type t = type.getElementType();
    SmallVector<int64_t> axes = trailingAxes(op.getAxis(), type.getRank());
    Value n = countOf(b, loc, x, axes, t);
    Value sq = reduceKeepDims(
        b, loc, x, axes, b.getFloatAttr(t, 0.0),
        [](OpBuilder &nb, Location l, Value v, Value acc) -> Value {
          return nb.create<arith::AddFOp>(l, acc, nb.create<arith::MulFOp>(l, v, v));
        });
    double eps = op.getEpsilon().convertToDouble();
    b.replaceOp(op, elementwise(b, loc, type, {x, sq, op.getScale()},
                                [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                  Value ms = nb.create<arith::DivFOp>(l, a[1], n);
                                  Value inv = nb.create<math::RsqrtOp>(
                                      l, nb.create<arith::AddFOp>(l, ms, floatConst(nb, l, t, eps)));
                                  return nb.create<arith::MulFOp>(
                                      l, nb.create<arith::MulFOp>(l, a[0], inv), a[2]);
                                }));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// MatMul
//===----------------------------------------------------------------------===//

/// Inserts a unit dim at `pos` (numpy promotion of rank-1 matmul operands).
Value insertUnitDim(OpBuilder &b, Location loc, Value v, int64_t pos) {
  auto t = ttype(v);
  SmallVector<int64_t> shape(t.getShape());
  shape.insert(shape.begin() + pos, 1);
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0; i < t.getRank(); ++i)
    groups.push_back({i + (i >= pos ? 1 : 0)});
  if (pos == t.getRank())
    groups.back().push_back(pos);
  else
    groups[pos].insert(groups[pos].begin(), pos);
  SmallVector<OpFoldResult> outShape;
  for (int64_t i = 0, e = shape.size(); i < e; ++i)
    outShape.push_back(i == pos ? OpFoldResult(b.getIndexAttr(1))
                                : OpFoldResult(dimOf(b, loc, v, i - (i > pos ? 1 : 0))));
  return b.create<tensor::ExpandShapeOp>(
      loc, RankedTensorType::get(shape, t.getElementType()), v, groups, outShape);
}

struct LowerMatMul : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatMulOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    Value lhs = op.getLhs(), rhs = op.getRhs();
    bool lhsVec = ttype(lhs).getRank() == 1, rhsVec = ttype(rhs).getRank() == 1;
    if (lhsVec)
      lhs = insertUnitDim(b, loc, lhs, 0);
    if (rhsVec)
      rhs = insertUnitDim(b, loc, rhs, 1);
    auto lt = ttype(lhs), rt = ttype(rhs);
    int64_t batch = std::max(lt.getRank(), rt.getRank()) - 2;
    // Result with the promoted unit dims kept.
    SmallVector<int64_t> shape;
    FailureOr<SmallVector<int64_t>> bshape = broadcastShapes(
        lt.getShape().drop_back(2), rt.getShape().drop_back(2));
    if (failed(bshape))
      return failure();
    shape = *bshape;
    shape.push_back(lt.getDimSize(lt.getRank() - 2));
    shape.push_back(rt.getDimSize(rt.getRank() - 1));
    Type elt = op.getType().getElementType();
    auto fullType = RankedTensorType::get(shape, elt);
    // Loop order batch..., m, k, n: the innermost loop walks rows of the
    // weight and the output contiguously, so it vectorizes without
    // reassociating the reduction.
    int64_t loops = batch + 3;
    int64_t mDim = batch, kDim = batch + 1, nDim = batch + 2;
    MLIRContext *ctx = b.getContext();
    auto operandMap = [&](RankedTensorType t, bool isLhs) {
      SmallVector<AffineExpr> e;
      int64_t off = batch - (t.getRank() - 2);
      for (int64_t j = 0; j < t.getRank() - 2; ++j) {
        int64_t i = j + off;
        e.push_back(t.getDimSize(j) == 1 && shape[i] != 1 ? getAffineConstantExpr(0, ctx)
                                                          : getAffineDimExpr(i, ctx));
      }
      if (isLhs) {
        e.push_back(getAffineDimExpr(mDim, ctx));
        e.push_back(getAffineDimExpr(kDim, ctx));
      } else {
        e.push_back(getAffineDimExpr(kDim, ctx));
        e.push_back(getAffineDimExpr(nDim, ctx));
      }
      return AffineMap::get(loops, 0, e, ctx);
    };
    SmallVector<AffineExpr> outE;
    for (int64_t i = 0; i < batch; ++i)
      outE.push_back(getAffineDimExpr(i, ctx));
    outE.push_back(getAffineDimExpr(mDim, ctx));
    outE.push_back(getAffineDimExpr(nDim, ctx));
    SmallVector<AffineMap> maps{operandMap(lt, true), operandMap(rt, false),
                                AffineMap::get(loops, 0, outE, ctx)};
    SmallVector<utils::IteratorType> iters(batch + 1, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    iters.push_back(utils::IteratorType::parallel);
    // Dynamic dims: batch from whichever operand has them, m from lhs, n from rhs.
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < batch + 2; ++i) {
      if (!fullType.isDynamicDim(i))
        continue;
      if (i == batch) {
        dyn.push_back(b.create<tensor::DimOp>(loc, lhs, lt.getRank() - 2));
      } else if (i == batch + 1) {
        dyn.push_back(b.create<tensor::DimOp>(loc, rhs, rt.getRank() - 1));
      } else {
        Value found;
        for (auto [v, t] : {std::pair(lhs, lt), std::pair(rhs, rt)}) {
          int64_t j = i - (batch - (t.getRank() - 2));
          if (j >= 0 && t.isDynamicDim(j)) {
            found = b.create<tensor::DimOp>(loc, v, j);
            break;
          }
        }
        dyn.push_back(found);
      }
    }
    Value r = contract(b, loc, fullType, dyn, lhs, rhs, maps, iters);
    // Drop the unit dims that promoted rank-1 operands.
    SmallVector<int64_t> drop;
    if (lhsVec)
      drop.push_back(batch);
    if (rhsVec)
      drop.push_back(batch + 1);
    if (!drop.empty())
      r = dropUnitDims(b, loc, r, drop, op.getType());
    b.replaceOp(op, r);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

struct LowerReshape : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    SmallVector<Value> dims;
    size_t k = 0;
    for (int64_t d : type.getShape())
      dims.push_back(ShapedType::isDynamic(d) ? op.getDynamicDims()[k++]
                                              : indexConst(b, loc, d));
    Value shape = b.create<tensor::FromElementsOp>(
        loc, RankedTensorType::get({type.getRank()}, b.getIndexType()), dims);
    b.replaceOpWithNewOp<tensor::ReshapeOp>(op, type, op.getInput(), shape);
    return success();
  }
};

struct LowerTranspose : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    SmallVector<Value> dyn;
    for (auto [i, p] : llvm::enumerate(op.getPerm()))
      if (op.getType().isDynamicDim(i))
        dyn.push_back(b.create<tensor::DimOp>(loc, op.getInput(), p));
    Value init = emptyTensor(b, loc, op.getType(), dyn);
    b.replaceOp(op, b.create<linalg::TransposeOp>(loc, op.getInput(), init, op.getPerm())
                        .getResult()[0]);
    return success();
  }
};

struct LowerExpand : OpRewritePattern<ExpandOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ExpandOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    Value init = emptyTensor(b, loc, type, op.getDynamicDims());
    SmallVector<AffineMap> maps{broadcastMap(b.getContext(), ttype(op.getInput()), type),
                                b.getMultiDimIdentityMap(type.getRank())};
    SmallVector<utils::IteratorType> iters(type.getRank(), utils::IteratorType::parallel);
    b.replaceOp(op, b.create<linalg::GenericOp>(
                         loc, type, op.getInput(), init, maps, iters,
                         [](OpBuilder &nb, Location l, ValueRange a) {
                           nb.create<linalg::YieldOp>(l, a[0]);
                         })
                        .getResult(0));
    return success();
  }
};

struct LowerFill : OpRewritePattern<FillOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FillOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    Value v = b.create<arith::ConstantOp>(loc, op.getValue());
    b.replaceOp(op, b.create<linalg::FillOp>(loc, v, emptyTensor(b, loc, op.getType(),
                                                                 op.getDynamicDims()))
                        .getResult(0));
    return success();
  }
};

struct LowerSlice : OpRewritePattern<SliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SliceOp op, PatternRewriter &b) const override {
    SmallVector<OpFoldResult> offsets, sizes, strides;
    size_t ko = 0, ks = 0;
    for (int64_t o : op.getStaticOffsets())
      offsets.push_back(ShapedType::isDynamic(o) ? OpFoldResult(op.getOffsets()[ko++])
                                                 : OpFoldResult(b.getIndexAttr(o)));
    for (int64_t s : op.getStaticSizes())
      sizes.push_back(ShapedType::isDynamic(s) ? OpFoldResult(op.getSizes()[ks++])
                                               : OpFoldResult(b.getIndexAttr(s)));
    for (int64_t s : op.getStrides())
      strides.push_back(b.getIndexAttr(s));
    b.replaceOpWithNewOp<tensor::ExtractSliceOp>(op, op.getType(), op.getInput(),
                                                 offsets, sizes, strides);
    return success();
  }
};

struct LowerConcat : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    int64_t axis = op.getAxis();
    Value first = op.getInputs()[0];
    // Result dims: the first input's, with the axis summed.
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < type.getRank(); ++i) {
      if (!type.isDynamicDim(i))
        continue;
      if (i != axis) {
        dyn.push_back(b.create<tensor::DimOp>(loc, first, i));
        continue;
      }
      Value total = indexConst(b, loc, 0);
      for (Value v : op.getInputs())
        total = b.create<arith::AddIOp>(loc, total, dimOf(b, loc, v, axis));
      dyn.push_back(total);
    }
    Value acc = emptyTensor(b, loc, type, dyn);
    // Offsets stay constants while the sizes before them are static.
    int64_t staticOff = 0;
    Value dynOff;
    for (Value v : op.getInputs()) {
      auto vt = ttype(v);
      SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0)), sizes,
          strides(type.getRank(), b.getIndexAttr(1));
      offsets[axis] = dynOff ? OpFoldResult(dynOff) : OpFoldResult(b.getIndexAttr(staticOff));
      for (int64_t i = 0; i < type.getRank(); ++i)
        sizes.push_back(vt.isDynamicDim(i) ? OpFoldResult(dimOf(b, loc, v, i))
                                           : OpFoldResult(b.getIndexAttr(vt.getDimSize(i))));
      acc = b.create<tensor::InsertSliceOp>(loc, v, acc, offsets, sizes, strides);
      if (!dynOff && !vt.isDynamicDim(axis)) {
        staticOff += vt.getDimSize(axis);
      } else {
        Value base = dynOff ? dynOff : indexConst(b, loc, staticOff);
        dynOff = b.create<arith::AddIOp>(loc, base, dimOf(b, loc, v, axis));
      }
    }
    b.replaceOp(op, acc);
    return success();
  }
};

struct LowerGather : OpRewritePattern<GatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatherOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    Value data = op.getData(), idx = op.getIndices();
    int64_t axis = op.getAxis(), ir = ttype(idx).getRank(), rank = type.getRank();
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < rank; ++i) {
      if (!type.isDynamicDim(i))
        continue;
      if (i < axis)
        dyn.push_back(b.create<tensor::DimOp>(loc, data, i));
      else if (i < axis + ir)
        dyn.push_back(b.create<tensor::DimOp>(loc, idx, i - axis));
      else
        dyn.push_back(b.create<tensor::DimOp>(loc, data, i - ir + 1));
    }
    Value init = emptyTensor(b, loc, type, dyn);
    MLIRContext *ctx = b.getContext();
    SmallVector<AffineExpr> idxE;
    for (int64_t j = 0; j < ir; ++j)
      idxE.push_back(getAffineDimExpr(axis + j, ctx));
    SmallVector<AffineMap> maps{AffineMap::get(rank, 0, idxE, ctx),
                                b.getMultiDimIdentityMap(rank)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    Value axisDim = dimOf(b, loc, data, axis);
    Value r = b.create<linalg::GenericOp>(
                   loc, type, idx, init, maps, iters,
                   [&](OpBuilder &nb, Location l, ValueRange a) {
                     Value i = nb.create<arith::IndexCastOp>(l, nb.getIndexType(), a[0]);
                     // Negative indices count from the end.
                     Value neg = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, i,
                                                          indexConst(nb, l, 0));
                     i = nb.create<arith::SelectOp>(
                         l, neg, nb.create<arith::AddIOp>(l, i, axisDim), i);
                     SmallVector<Value> coords;
                     for (int64_t d = 0; d < axis; ++d)
                       coords.push_back(nb.create<linalg::IndexOp>(l, d));
                     coords.push_back(i);
                     for (int64_t d = axis + ir; d < rank; ++d)
                       coords.push_back(nb.create<linalg::IndexOp>(l, d));
                     nb.create<linalg::YieldOp>(
                         l, ValueRange{nb.create<tensor::ExtractOp>(l, data, coords)});
                   })
                  .getResult(0);
    b.replaceOp(op, r);
    return success();
  }
};

struct LowerRange : OpRewritePattern<RangeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RangeOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    Type t = op.getType().getElementType();
    bool isF = isa<FloatType>(t);
    Value s = b.create<tensor::ExtractOp>(loc, op.getStart(), ValueRange{});
    Value lim = b.create<tensor::ExtractOp>(loc, op.getLimit(), ValueRange{});
    Value d = b.create<tensor::ExtractOp>(loc, op.getDelta(), ValueRange{});
    // count = max(ceil((limit - start) / delta), 0)
    Value count;
    if (isF) {
      // The element count is computed in f64 whatever the element type.
      Type f64 = b.getF64Type();
      auto wide = [&](Value v) -> Value {
        return t == f64 ? v : (Value)b.create<arith::ExtFOp>(loc, f64, v);
      };
      Value q = b.create<math::CeilOp>(
          loc, b.create<arith::DivFOp>(
                   loc, b.create<arith::SubFOp>(loc, wide(lim), wide(s)), wide(d)));
      q = b.create<arith::MaximumFOp>(loc, q, floatConst(b, loc, f64, 0.0));
      count = b.create<arith::IndexCastOp>(
          loc, b.getIndexType(), b.create<arith::FPToSIOp>(loc, b.getI64Type(), q));
    } else {
      Value q = b.create<arith::CeilDivSIOp>(loc, b.create<arith::SubIOp>(loc, lim, s), d);
      q = b.create<arith::MaxSIOp>(loc, q, b.create<arith::ConstantOp>(loc, t, b.getIntegerAttr(t, 0)));
      count = b.create<arith::IndexCastOp>(loc, b.getIndexType(), q);
    }
    SmallVector<Value> dyn;
    if (op.getType().isDynamicDim(0))
      dyn.push_back(count);
    Value init = emptyTensor(b, loc, op.getType(), dyn);
    SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(1)};
    Value r = b.create<linalg::GenericOp>(
                   loc, op.getType(), ValueRange{}, init, maps,
                   SmallVector<utils::IteratorType>{utils::IteratorType::parallel},
                   [&](OpBuilder &nb, Location l, ValueRange) {
                     Value i = nb.create<arith::IndexCastOp>(
                         l, nb.getI64Type(), nb.create<linalg::IndexOp>(l, 0));
                     Value v = isF ? (Value)nb.create<arith::AddFOp>(
                                         l, s, nb.create<arith::MulFOp>(
                                                   l, nb.create<arith::SIToFPOp>(l, t, i), d))
                                   : nb.create<arith::AddIOp>(
                                         l, s, nb.create<arith::MulIOp>(
                                                   l, castScalar(nb, l, i, t, false, false), d));
                     nb.create<linalg::YieldOp>(l, v);
                   })
                  .getResult(0);
    b.replaceOp(op, r);
    return success();
  }
};

struct LowerDim : OpRewritePattern<DimOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DimOp op, PatternRewriter &b) const override {
    b.replaceOpWithNewOp<tensor::DimOp>(op, op.getInput(), op.getIndex());
    return success();
  }
};

struct LowerShape : OpRewritePattern<ShapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ShapeOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    SmallVector<Value> elems;
    for (int64_t i = 0; i < ttype(op.getInput()).getRank(); ++i)
      elems.push_back(b.create<arith::IndexCastOp>(loc, b.getI64Type(),
                                                   dimOf(b, loc, op.getInput(), i)));
    b.replaceOpWithNewOp<tensor::FromElementsOp>(op, op.getType(), elems);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Attention, rotary, cumsum, trilu
//===----------------------------------------------------------------------===//

Value zeroOf(OpBuilder &b, Location loc, Type t) {
  if (isa<FloatType>(t))
    return floatConst(b, loc, t, 0.0);
  return b.create<arith::ConstantOp>(loc, t, b.getIntegerAttr(t, 0));
}

struct LowerAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
    auto qt = ttype(q), kt = ttype(k);
    if (qt.isDynamicDim(1) || kt.isDynamicDim(1))
      return b.notifyMatchFailure(op, "head counts must be static");
    int64_t group = qt.getDimSize(1) / kt.getDimSize(1);
    Type t = qt.getElementType();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    AffineExpr kvHead = group == 1 ? d(1) : d(1).floorDiv(group);
    // scores[b, h, s, t] = scale * sum_d q[b, h, s, d] * k[b, h / g, t, d]
    SmallVector<int64_t> sShape{qt.getDimSize(0), qt.getDimSize(1),
                                qt.getDimSize(2), kt.getDimSize(2)};
    auto sType = RankedTensorType::get(sShape, t);
    SmallVector<Value> sDyn;
    if (sType.isDynamicDim(0)) sDyn.push_back(b.create<tensor::DimOp>(loc, q, 0));
    if (sType.isDynamicDim(2)) sDyn.push_back(b.create<tensor::DimOp>(loc, q, 2));
    if (sType.isDynamicDim(3)) sDyn.push_back(b.create<tensor::DimOp>(loc, k, 2));
    using IT = utils::IteratorType;
    SmallVector<IT> iters{IT::parallel, IT::parallel, IT::parallel, IT::parallel,
                          IT::reduction};
    Value scores = contract(b, loc, sType, sDyn, q, k,
                            {AffineMap::get(5, 0, {d(0), d(1), d(2), d(4)}, ctx),
                             AffineMap::get(5, 0, {d(0), kvHead, d(3), d(4)}, ctx),
                             AffineMap::get(5, 0, {d(0), d(1), d(2), d(3)}, ctx)},
                            iters);
    // Scale, mask, causal.
    double scale = op.getScale().convertToDouble();
    bool causal = op.getCausal();
    SmallVector<Value> ins{scores};
    if (op.getMask())
      ins.push_back(op.getMask());
    Value kvLen = dimOf(b, loc, k, 2), qLen = dimOf(b, loc, q, 2);
    Value offset = b.create<arith::SubIOp>(loc, kvLen, qLen);
    Value masked = elementwise(
        b, loc, sType, ins, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value x = nb.create<arith::MulFOp>(l, a[0], floatConst(nb, l, t, scale));
          if (a.size() > 1)
            x = nb.create<arith::AddFOp>(l, x, a[1]);
          if (!causal)
            return x;
          // Query s sees keys up to (kv_len - q_len) + s.
          Value s = nb.create<linalg::IndexOp>(l, 2), kIdx = nb.create<linalg::IndexOp>(l, 3);
          Value limit = nb.create<arith::AddIOp>(l, s, offset);
          Value hidden = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::sgt, kIdx, limit);
          Value ninf = nb.create<arith::ConstantOp>(
              l, t, nb.getFloatAttr(t, APFloat::getInf(cast<FloatType>(t).getFloatSemantics(), true)));
          return nb.create<arith::SelectOp>(l, hidden, ninf, x);
        });
    Value probs = b.create<SoftmaxOp>(loc, sType, masked, 3);
    // out[b, h, s, e] = sum_t p[b, h, s, t] * v[b, h / g, t, e]
    auto oType = op.getType();
    SmallVector<Value> oDyn;
    if (oType.isDynamicDim(0)) oDyn.push_back(b.create<tensor::DimOp>(loc, q, 0));
    if (oType.isDynamicDim(2)) oDyn.push_back(b.create<tensor::DimOp>(loc, q, 2));
    if (oType.isDynamicDim(3)) oDyn.push_back(b.create<tensor::DimOp>(loc, v, 3));
    Value out = contract(b, loc, oType, oDyn, probs, v,
                         {AffineMap::get(5, 0, {d(0), d(1), d(2), d(4)}, ctx),
                          AffineMap::get(5, 0, {d(0), kvHead, d(4), d(3)}, ctx),
                          AffineMap::get(5, 0, {d(0), d(1), d(2), d(3)}, ctx)},
                         iters);
    b.replaceOp(op, out);
    return success();
  }
};

struct LowerRotary : OpRewritePattern<RotaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RotaryOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    Value x = op.getInput(), cosT = op.getCos(), sinT = op.getSin();
    auto type = op.getType();
    auto ct = ttype(cosT);
    int64_t half = ct.getDimSize(ct.getRank() - 1);
    if (ShapedType::isDynamic(half))
      return b.notifyMatchFailure(op, "rotary dim must be static");
    bool interleaved = op.getInterleaved();
    bool batchedCache = ct.getRank() == 3 && ct.getDimSize(0) != 1;
    Value r = elementwise(b, loc, type, x, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
      Value bi = nb.create<linalg::IndexOp>(l, 0), hi = nb.create<linalg::IndexOp>(l, 1);
      Value si = nb.create<linalg::IndexOp>(l, 2), di = nb.create<linalg::IndexOp>(l, 3);
      Value h = indexConst(nb, l, half), two = indexConst(nb, l, 2), one = indexConst(nb, l, 1);
      Value rot = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, di,
                                           indexConst(nb, l, 2 * half));
      // Pair index i, partner element and sign.
      Value i, partner, first;
      if (interleaved) {
        i = nb.create<arith::DivUIOp>(l, di, two);
        first = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq,
                                         nb.create<arith::RemUIOp>(l, di, two), indexConst(nb, l, 0));
        partner = nb.create<arith::SelectOp>(l, first, nb.create<arith::AddIOp>(l, di, one),
                                             nb.create<arith::SubIOp>(l, di, one));
      } else {
        first = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, di, h);
        i = nb.create<arith::SelectOp>(l, first, di, nb.create<arith::SubIOp>(l, di, h));
        partner = nb.create<arith::SelectOp>(l, first, nb.create<arith::AddIOp>(l, di, h),
                                             nb.create<arith::SubIOp>(l, di, h));
      }
      // Outside the rotary dims, read in-bounds placeholders and pass x through.
      Value safeI = nb.create<arith::SelectOp>(l, rot, i, indexConst(nb, l, 0));
      Value safeP = nb.create<arith::SelectOp>(l, rot, partner, di);
      SmallVector<Value> cc;
      if (ct.getRank() == 3)
        cc.push_back(batchedCache ? bi : indexConst(nb, l, 0));
      cc.push_back(si);
      cc.push_back(safeI);
      Value c = nb.create<tensor::ExtractOp>(l, cosT, cc);
      Value sn = nb.create<tensor::ExtractOp>(l, sinT, cc);
      Value xp = nb.create<tensor::ExtractOp>(l, x, ValueRange{bi, hi, si, safeP});
      Value xc = nb.create<arith::MulFOp>(l, a[0], c);
      Value ps = nb.create<arith::MulFOp>(l, xp, sn);
      Value y = nb.create<arith::SelectOp>(l, first, nb.create<arith::SubFOp>(l, xc, ps),
                                           nb.create<arith::AddFOp>(l, xc, ps));
      return nb.create<arith::SelectOp>(l, rot, y, a[0]);
    });
    b.replaceOp(op, r);
    return success();
  }
};

struct LowerTrilu : OpRewritePattern<TriluOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TriluOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto type = op.getType();
    int64_t rank = type.getRank(), k = op.getK();
    bool upper = op.getUpper();
    b.replaceOp(op, elementwise(b, loc, type, op.getInput(),
                                [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                  Value i = nb.create<linalg::IndexOp>(l, rank - 2);
                                  Value j = nb.create<linalg::IndexOp>(l, rank - 1);
                                  Value diff = nb.create<arith::SubIOp>(l, j, i);
                                  Value keep = nb.create<arith::CmpIOp>(
                                      l, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
                                      diff, indexConst(nb, l, k));
                                  return nb.create<arith::SelectOp>(
                                      l, keep, a[0], zeroOf(nb, l, a[0].getType()));
                                }));
    return success();
  }
};

/// Cumulative sum as a triangular reduction over a second copy of the axis.
struct LowerCumSum : OpRewritePattern<CumSumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CumSumOp op, PatternRewriter &b) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto type = op.getType();
    int64_t rank = type.getRank(), axis = op.getAxis();
    bool exclusive = op.getExclusive(), reverse = op.getReverse();
    Value x = op.getInput();
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < rank; ++i)
      if (type.isDynamicDim(i))
        dyn.push_back(b.create<tensor::DimOp>(loc, x, i));
    Type t = type.getElementType();
    Value init = b.create<linalg::FillOp>(loc, zeroOf(b, loc, t), emptyTensor(b, loc, type, dyn))
                     .getResult(0);
    SmallVector<AffineExpr> in, out;
    for (int64_t i = 0; i < rank; ++i) {
      in.push_back(getAffineDimExpr(i == axis ? rank : i, ctx));
      out.push_back(getAffineDimExpr(i, ctx));
    }
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    Value r = b.create<linalg::GenericOp>(
                   loc, type, x, init,
                   SmallVector<AffineMap>{AffineMap::get(rank + 1, 0, in, ctx),
                                          AffineMap::get(rank + 1, 0, out, ctx)},
                   iters,
                   [&](OpBuilder &nb, Location l, ValueRange a) {
                     Value i = nb.create<linalg::IndexOp>(l, axis);
                     Value j = nb.create<linalg::IndexOp>(l, rank);
                     auto pred = reverse ? (exclusive ? arith::CmpIPredicate::sgt
                                                      : arith::CmpIPredicate::sge)
                                         : (exclusive ? arith::CmpIPredicate::slt
                                                      : arith::CmpIPredicate::sle);
                     Value take = nb.create<arith::CmpIOp>(l, pred, j, i);
                     Value v = nb.create<arith::SelectOp>(l, take, a[0], zeroOf(nb, l, t));
                     nb.create<linalg::YieldOp>(l, ValueRange{addCombine(nb, l, v, a[1])});
                   })
                  .getResult(0);
    b.replaceOp(op, r);
    return success();
  }
};

struct QccConvertToLinalgPass
    : qcc::impl::QccConvertToLinalgBase<QccConvertToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                           arith::ArithDialect, math::MathDialect,
                           scf::SCFDialect, func::FuncDialect>();
    target.addIllegalDialect<QccDialect>();
    // Calibration probes are instrumentation, and packed weights belong to
    // the kernels that read them: neither lowers here.
    target.addLegalOp<ObserveOp, PackedConstantOp>();
    RewritePatternSet patterns(ctx);
    patterns.add<LowerElementwise, LowerReduce, LowerSoftmax, LowerLayerNorm,
                 LowerRMSNorm, LowerMatMul, LowerReshape, LowerTranspose,
                 LowerExpand, LowerFill, LowerSlice, LowerConcat, LowerGather,
                 LowerRange, LowerDim, LowerShape, LowerAttention, LowerRotary,
                 LowerTrilu, LowerCumSum>(ctx);
    populateQuantToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
