//===- ImportOps.cpp - ONNX operator converters ---------------------------===//
//
// One converter per ONNX operator. Each reads its node's inputs and
// attributes from the GraphImporter, checks what it needs, and emits qcc ops.
// Small integer tensors whose elements are known at import time (shape
// sub-graphs) are folded here instead of emitted.
//
//===----------------------------------------------------------------------===//
#include "ImporterImpl.h"

#include "llvm/ADT/StringSwitch.h"

#include <cmath>

using namespace mlir;

namespace qcc::onnx_import {
namespace {

using Imp = GraphImporter;
using Node = onnx::NodeProto;

bool isFloatDType(int32_t d) {
  return d == kFloat || d == kFloat16 || d == kBFloat16 || d == kDouble;
}

LogicalResult requireFloat(Imp &imp, Entry *e, StringRef what) {
  if (!isFloatDType(e->dtype))
    return imp.error() << what << " must be a float tensor, got "
                       << dtypeName(e->dtype);
  return success();
}

/// Known integer elements of an optional input, as constants; emits an error
/// naming the input when they are not known at import time.
FailureOr<SmallVector<int64_t>> constIntsInput(Imp &imp, size_t i,
                                               StringRef what) {
  Entry *e = imp.input(i);
  if (!e)
    return imp.error() << "missing " << what, failure();
  std::optional<SmallVector<int64_t>> v = imp.constInts(*e);
  if (!v)
    return imp.error() << what
                       << " must be a constant known at import time",
           failure();
  return *v;
}

std::optional<double> constScalarFloat(Imp &imp, Entry *e) {
  if (!e)
    return std::nullopt;
  if (auto f = imp.constFloats(*e); f && f->size() == 1)
    return (*f)[0];
  if (auto i = imp.constInts(*e); i && i->size() == 1)
    return (double)(*i)[0];
  return std::nullopt;
}

/// Axes attribute (older opsets) or input (newer ones), normalized.
FailureOr<std::optional<SmallVector<int64_t>>>
axesAttrOrInput(Imp &imp, size_t inputIndex, int64_t rank) {
  std::optional<SmallVector<int64_t>> axes = imp.attrInts("axes");
  if (!axes && imp.input(inputIndex)) {
    FailureOr<SmallVector<int64_t>> v = constIntsInput(imp, inputIndex, "axes");
    if (failed(v))
      return failure();
    axes = *v;
  }
  if (!axes)
    return std::optional<SmallVector<int64_t>>();
  for (int64_t &a : *axes) {
    FailureOr<int64_t> n = imp.normalizeAxis(a, rank);
    if (failed(n))
      return failure();
    a = *n;
  }
  return std::optional<SmallVector<int64_t>>(*axes);
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

template <typename OpTy>
LogicalResult convertUnary(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in))
    return failure();
  Value v = imp.materialize(**in);
  imp.setOutput(0, imp.b.create<OpTy>(imp.loc, v.getType(), v), (*in)->dtype);
  return success();
}

template <typename OpTy>
LogicalResult convertFloatUnary(Imp &imp, const Node &n) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in) || failed(requireFloat(imp, *in, "input")))
    return failure();
  return convertUnary<OpTy>(imp, n);
}

/// Applies a binary op to known integer elements (shape arithmetic).
std::optional<SmallVector<DimValue>>
foldKnownBinary(Imp &imp, char op, Entry &a, Entry &b) {
  auto ka = imp.knownInts(a), kb = imp.knownInts(b);
  if (!ka || !kb)
    return std::nullopt;
  size_t n = std::max(ka->size(), kb->size());
  if ((ka->size() != n && ka->size() != 1) ||
      (kb->size() != n && kb->size() != 1))
    return std::nullopt;
  SmallVector<DimValue> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(imp.dimArith(op, (*ka)[ka->size() == 1 ? 0 : i],
                               (*kb)[kb->size() == 1 ? 0 : i]));
  return out;
}

template <typename OpTy, char FoldOp = 0>
LogicalResult convertBinary(Imp &imp, const Node &) {
  FailureOr<Entry *> a = imp.requiredInput(0), c = imp.requiredInput(1);
  if (failed(a) || failed(c))
    return failure();
  bool isPow = std::is_same_v<OpTy, PowOp>;
  if (!isPow && (*a)->dtype != (*c)->dtype)
    return imp.error() << "input types differ: " << dtypeName((*a)->dtype)
                       << " vs " << dtypeName((*c)->dtype);
  if constexpr (FoldOp != 0) {
    if (!isFloatDType((*a)->dtype))
      if (auto k = foldKnownBinary(imp, FoldOp, **a, **c)) {
        Entry e;
        e.dtype = (*a)->dtype;
        e.known = std::move(*k);
        e.knownIsScalar = (*a)->knownIsScalar && (*c)->knownIsScalar;
        imp.setOutput(0, std::move(e));
        return success();
      }
  }
  FailureOr<Value> r =
      imp.binary<OpTy>(imp.materialize(**a), imp.materialize(**c));
  if (failed(r))
    return failure();
  imp.setOutput(0, *r, (*a)->dtype);
  return success();
}

template <typename OpTy>
LogicalResult convertCompare(Imp &imp, const Node &) {
  FailureOr<Entry *> a = imp.requiredInput(0), c = imp.requiredInput(1);
  if (failed(a) || failed(c))
    return failure();
  if ((*a)->dtype != (*c)->dtype)
    return imp.error() << "input types differ: " << dtypeName((*a)->dtype)
                       << " vs " << dtypeName((*c)->dtype);
  if (isUnsignedDType((*a)->dtype) && !std::is_same_v<OpTy, EqualOp>) {
    // Ordered unsigned comparisons become signed ones on zero-extended i64.
    if ((*a)->dtype == kUInt64)
      return imp.error() << "ordered comparison of uint64 is not supported";
    auto widen = [&](Entry &e) {
      Value v = imp.materialize(e);
      auto t = RankedTensorType::get(tensorType(v).getShape(), imp.b.getI64Type());
      auto c = imp.b.create<CastOp>(imp.loc, t, v);
      c.setFromUnsigned(true);
      return c.getResult();
    };
    FailureOr<Value> r = imp.binary<OpTy>(widen(**a), widen(**c), imp.b.getI1Type());
    if (failed(r))
      return failure();
    imp.setOutput(0, *r, kBool);
    return success();
  }
  // Fold comparisons of constant shape values (common in exported masks).
  auto ka = imp.constInts(**a), kc = imp.constInts(**c);
  if (ka && kc && (ka->size() == kc->size() || ka->size() == 1 ||
                   kc->size() == 1) && !(*a)->knownIsScalar == !(*c)->knownIsScalar) {
    size_t n = std::max(ka->size(), kc->size());
    SmallVector<bool> vals;
    for (size_t i = 0; i < n; ++i) {
      int64_t x = (*ka)[ka->size() == 1 ? 0 : i], y = (*kc)[kc->size() == 1 ? 0 : i];
      vals.push_back(std::is_same_v<OpTy, EqualOp>  ? x == y
                     : std::is_same_v<OpTy, LessOp> ? x < y
                                                    : x > y);
    }
    auto type = RankedTensorType::get(
        (*a)->knownIsScalar ? ArrayRef<int64_t>{} : ArrayRef<int64_t>{(int64_t)n},
        imp.b.getI1Type());
    Entry e;
    e.dtype = kBool;
    e.constant = DenseElementsAttr::get(type, vals);
    e.value = imp.constantTensor(e.constant);
    imp.setOutput(0, std::move(e));
    return success();
  }
  FailureOr<Value> r = imp.binary<OpTy>(imp.materialize(**a),
                                        imp.materialize(**c), imp.b.getI1Type());
  if (failed(r))
    return failure();
  imp.setOutput(0, *r, kBool);
  return success();
}

template <typename OpTy>
LogicalResult convertLogical(Imp &imp, const Node &) {
  FailureOr<Entry *> a = imp.requiredInput(0), c = imp.requiredInput(1);
  if (failed(a) || failed(c))
    return failure();
  if ((*a)->dtype != kBool || (*c)->dtype != kBool)
    return imp.error() << "inputs must be bool tensors";
  FailureOr<Value> r =
      imp.binary<OpTy>(imp.materialize(**a), imp.materialize(**c));
  if (failed(r))
    return failure();
  imp.setOutput(0, *r, kBool);
  return success();
}

LogicalResult convertNot(Imp &imp, const Node &n) {
  FailureOr<Entry *> a = imp.requiredInput(0);
  if (failed(a))
    return failure();
  if ((*a)->dtype != kBool)
    return imp.error() << "input must be a bool tensor";
  return convertUnary<NotOp>(imp, n);
}

/// Variadic Min / Max / Sum / Mean fold into a chain of binary ops.
template <typename OpTy>
LogicalResult convertVariadic(Imp &imp, const Node &n) {
  if (imp.numInputs() == 0)
    return imp.error() << "needs at least one input";
  FailureOr<Entry *> first = imp.requiredInput(0);
  if (failed(first))
    return failure();
  Value acc = imp.materialize(**first);
  for (size_t i = 1; i < imp.numInputs(); ++i) {
    FailureOr<Entry *> e = imp.requiredInput(i);
    if (failed(e))
      return failure();
    if ((*e)->dtype != (*first)->dtype)
      return imp.error() << "input types differ";
    FailureOr<Value> r = imp.binary<OpTy>(acc, imp.materialize(**e));
    if (failed(r))
      return failure();
    acc = *r;
  }
  imp.setOutput(0, acc, (*first)->dtype);
  return success();
}

LogicalResult convertIdentity(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in))
    return failure();
  imp.setOutput(0, **in);
  return success();
}

LogicalResult convertConstant(Imp &imp, const Node &n) {
  if (n.attribute_size() != 1)
    return imp.error() << "must have exactly one value attribute";
  const onnx::AttributeProto &a = n.attribute(0);
  Entry e;
  auto ctx = imp.ctx;
  if (a.name() == "value") {
    FailureOr<LoadedTensor> t = decodeTensor(a.t(), imp.modelDir, ctx, imp.loc);
    if (failed(t))
      return failure();
    e.dtype = t->dtype;
    e.constant = t->value;
  } else if (a.name() == "value_float" || a.name() == "value_floats") {
    SmallVector<float> v;
    if (a.name() == "value_float")
      v.push_back(a.f());
    else
      v.assign(a.floats().begin(), a.floats().end());
    SmallVector<int64_t> shape;
    if (a.name() == "value_floats")
      shape.push_back(v.size());
    e.dtype = kFloat;
    e.constant = DenseElementsAttr::get(
        RankedTensorType::get(shape, imp.b.getF32Type()), ArrayRef<float>(v));
  } else if (a.name() == "value_int" || a.name() == "value_ints") {
    SmallVector<int64_t> v;
    if (a.name() == "value_int")
      v.push_back(a.i());
    else
      v.assign(a.ints().begin(), a.ints().end());
    SmallVector<int64_t> shape;
    if (a.name() == "value_ints")
      shape.push_back(v.size());
    e.dtype = kInt64;
    e.constant = DenseElementsAttr::get(
        RankedTensorType::get(shape, imp.b.getI64Type()), ArrayRef<int64_t>(v));
  } else {
    return imp.error() << "constant attribute '" << a.name()
                       << "' is not supported (strings and sparse tensors "
                          "cannot be imported)";
  }
  e.knownIsScalar = e.constant.getType().getRank() == 0;
  e.value = imp.constantTensor(e.constant);
  imp.setOutput(0, std::move(e));
  return success();
}

LogicalResult convertCast(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in))
    return failure();
  int32_t to = (int32_t)imp.attrInt("to", 0);
  Type elt = dtypeToType(imp.ctx, to);
  if (!elt)
    return imp.error() << "cannot cast to " << dtypeName(to) << " (" << to
                       << ")";
  // Shape values stay symbolic across integer casts.
  if ((*in)->known && !isFloatDType(to) && to != kBool) {
    Entry e = **in;
    e.dtype = to;
    e.value = nullptr;
    e.constant = nullptr;
    imp.setOutput(0, std::move(e));
    return success();
  }
  Value v = imp.materialize(**in);
  auto type = RankedTensorType::get(tensorType(v).getShape(), elt);
  auto op = imp.b.create<CastOp>(imp.loc, type, v);
  if (isUnsignedDType((*in)->dtype))
    op.setFromUnsigned(true);
  if (isUnsignedDType(to))
    op.setToUnsigned(true);
  imp.setOutput(0, op, to);
  return success();
}

LogicalResult convertClip(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in))
    return failure();
  Value v = imp.materialize(**in);
  auto op = imp.b.create<ClipOp>(imp.loc, v.getType(), v, nullptr, nullptr);
  Value result = op;
  for (auto [i, name] : {std::pair(1, "min"), std::pair(2, "max")}) {
    Entry *e = imp.input(i);
    if (!e)
      continue;
    if (std::optional<double> c = constScalarFloat(imp, e)) {
      op->setAttr(name, imp.b.getF64FloatAttr(*c));
      continue;
    }
    // Bounds only known at run time clamp with max / min.
    if (e->dtype != (*in)->dtype)
      return imp.error() << "Clip " << name << " type differs from the input's";
    Value bound = imp.materialize(*e);
    FailureOr<Value> r = i == 1 ? imp.binary<MaxOp>(result, bound)
                                : imp.binary<MinOp>(result, bound);
    if (failed(r))
      return failure();
    if (cast<RankedTensorType>(r->getType()).getShape() !=
        cast<RankedTensorType>(v.getType()).getShape())
      return imp.error() << "Clip " << name << " must be a scalar";
    result = *r;
  }
  imp.setOutput(0, result, (*in)->dtype);
  return success();
}

LogicalResult convertWhere(Imp &imp, const Node &) {
  FailureOr<Entry *> c = imp.requiredInput(0), x = imp.requiredInput(1),
                     y = imp.requiredInput(2);
  if (failed(c) || failed(x) || failed(y))
    return failure();
  if ((*c)->dtype != kBool)
    return imp.error() << "condition must be a bool tensor";
  if ((*x)->dtype != (*y)->dtype)
    return imp.error() << "X and Y types differ";
  // Where over shape values with a constant condition folds (exporters use
  // it to replace -1 entries of reshape targets).
  if ((*c)->constant && (*c)->constant.getType().getRank() <= 1) {
    auto kx = imp.knownInts(**x), ky = imp.knownInts(**y);
    SmallVector<bool> cond(llvm::to_vector((*c)->constant.getValues<bool>()));
    if (kx && ky) {
      size_t n = std::max({cond.size(), kx->size(), ky->size()});
      auto pick = [&](auto &v, size_t i) { return v[v.size() == 1 ? 0 : i]; };
      if ((cond.size() == n || cond.size() == 1) &&
          (kx->size() == n || kx->size() == 1) &&
          (ky->size() == n || ky->size() == 1)) {
        Entry e;
        e.dtype = (*x)->dtype;
        e.known.emplace();
        for (size_t i = 0; i < n; ++i)
          e.known->push_back(pick(cond, i) ? pick(*kx, i) : pick(*ky, i));
        e.knownIsScalar = (*x)->knownIsScalar && (*y)->knownIsScalar &&
                          (*c)->constant.getType().getRank() == 0;
        imp.setOutput(0, std::move(e));
        return success();
      }
    }
  }
  Value cv = imp.materialize(**c), xv = imp.materialize(**x),
        yv = imp.materialize(**y);
  auto s1 = broadcastShapes(tensorType(cv).getShape(), tensorType(xv).getShape());
  FailureOr<SmallVector<int64_t>> s2 =
      failed(s1) ? s1 : broadcastShapes(*s1, tensorType(yv).getShape());
  if (failed(s2))
    return imp.error() << "condition, X and Y shapes do not broadcast";
  auto type = RankedTensorType::get(*s2, tensorType(xv).getElementType());
  imp.setOutput(0, imp.b.create<WhereOp>(imp.loc, type, cv, xv, yv),
                (*x)->dtype);
  return success();
}

//===----------------------------------------------------------------------===//
// Activations and normalization
//===----------------------------------------------------------------------===//

LogicalResult emitGelu(Imp &imp, Value v, GeluApprox approx, int32_t dtype) {
  auto op = imp.b.create<GeluOp>(imp.loc, v.getType(), v);
  op.setApproximate(approx);
  imp.setOutput(0, op, dtype);
  return success();
}

LogicalResult convertGelu(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in) || failed(requireFloat(imp, *in, "input")))
    return failure();
  std::string approx = imp.attrString("approximate", "none");
  if (approx != "none" && approx != "tanh")
    return imp.error() << "unknown approximate mode '" << approx << "'";
  return emitGelu(imp, imp.materialize(**in),
                  approx == "tanh" ? GeluApprox::Tanh : GeluApprox::None,
                  (*in)->dtype);
}

/// com.microsoft FastGelu / BiasGelu: optional bias add, then GELU.
LogicalResult convertBiasGelu(Imp &imp, const Node &n) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in) || failed(requireFloat(imp, *in, "input")))
    return failure();
  Value v = imp.materialize(**in);
  if (Entry *bias = imp.input(1)) {
    FailureOr<Value> s = imp.binary<AddOp>(v, imp.materialize(*bias));
    if (failed(s))
      return failure();
    v = *s;
  }
  return emitGelu(imp, v,
                  n.op_type() == "FastGelu" ? GeluApprox::Tanh : GeluApprox::None,
                  (*in)->dtype);
}

LogicalResult convertSoftmax(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in) || failed(requireFloat(imp, *in, "input")))
    return failure();
  Value v = imp.materialize(**in);
  FailureOr<int64_t> axis =
      imp.normalizeAxis(imp.attrInt("axis", -1), tensorType(v).getRank());
  if (failed(axis))
    return failure();
  imp.setOutput(0, imp.b.create<SoftmaxOp>(imp.loc, v.getType(), v, *axis),
                (*in)->dtype);
  return success();
}

LogicalResult checkNoStatOutputs(Imp &imp, size_t first, size_t last) {
  for (size_t i = first; i <= last; ++i)
    if (imp.hasOutput(i))
      return imp.error() << "output " << i
                         << " (normalization statistics) is not supported";
  return success();
}

/// LayerNormalization, SimplifiedLayerNormalization, RMSNormalization and the
/// com.microsoft Skip* variants (which add the skip input and an optional
/// bias first and may also return that sum as output 3).
LogicalResult convertNorm(Imp &imp, const Node &n) {
  StringRef op = n.op_type();
  bool skip = op.starts_with("Skip");
  bool rms = op.contains("Simplified") || op == "RMSNormalization";
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in) || failed(requireFloat(imp, *in, "input")))
    return failure();
  Value x = imp.materialize(**in);
  size_t scaleIdx = skip ? 2 : 1;
  FailureOr<Value> scale = imp.inputValue(scaleIdx);
  if (failed(scale))
    return failure();
  Value bias;
  if (!rms)
    if (Entry *e = imp.input(scaleIdx + 1))
      bias = imp.materialize(*e);
  if (skip) {
    FailureOr<Value> s = imp.inputValue(1);
    if (failed(s))
      return failure();
    FailureOr<Value> sum = imp.binary<AddOp>(x, *s);
    if (failed(sum))
      return failure();
    x = *sum;
    size_t biasIdx = rms ? 3 : 4;
    if (Entry *e = imp.input(biasIdx)) {
      sum = imp.binary<AddOp>(x, imp.materialize(*e));
      if (failed(sum))
        return failure();
      x = *sum;
    }
    if (failed(checkNoStatOutputs(imp, 1, 2)))
      return failure();
    imp.setOutput(3, x, (*in)->dtype);
  } else if (rms && failed(checkNoStatOutputs(imp, 1, 2))) {
    return failure();
  }
  int64_t rank = tensorType(x).getRank();
  FailureOr<int64_t> axis = imp.normalizeAxis(imp.attrInt("axis", -1), rank);
  if (failed(axis))
    return failure();
  double eps = imp.attrFloat("epsilon", 1e-5f);
  if (!skip && !rms && (imp.hasOutput(1) || imp.hasOutput(2))) {
    // LayerNormalization's optional Mean and InvStdDev outputs, computed
    // beside the fused op (kept dims over the normalized axes).
    auto xt = tensorType(x);
    SmallVector<int64_t> axes, shape(xt.getShape());
    for (int64_t i = *axis; i < rank; ++i) {
      axes.push_back(i);
      shape[i] = 1;
    }
    auto st = RankedTensorType::get(shape, xt.getElementType());
    auto mean = [&](Value v) -> Value {
      return imp.b.create<ReduceOp>(
          imp.loc, st, v, ReduceKindAttr::get(imp.ctx, ReduceKind::Mean),
          imp.b.getDenseI64ArrayAttr(axes), imp.b.getBoolAttr(true));
    };
    Value mu = mean(x);
    Value centered = *imp.binary<SubOp>(x, mu);
    Value var = mean(*imp.binary<MulOp>(centered, centered));
    Value sd = *imp.binary<AddOp>(var, imp.scalarConstant(xt.getElementType(), eps));
    sd = imp.b.create<SqrtOp>(imp.loc, st, sd);
    imp.setOutput(1, mu, (*in)->dtype);
    imp.setOutput(2, imp.b.create<ReciprocalOp>(imp.loc, st, sd), (*in)->dtype);
  }
  Value r;
  if (rms)
    r = imp.b.create<RMSNormOp>(imp.loc, x.getType(), x, *scale,
                                  imp.b.getI64IntegerAttr(*axis),
                                  imp.b.getF64FloatAttr(eps));
  else
    r = imp.b.create<LayerNormOp>(imp.loc, x.getType(), x, *scale, bias,
                                  imp.b.getI64IntegerAttr(*axis),
                                  imp.b.getF64FloatAttr(eps));
  imp.setOutput(0, r, (*in)->dtype);
  return success();
}

LogicalResult convertReduce(Imp &imp, const Node &n) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in))
    return failure();
  Value v = imp.materialize(**in);
  int64_t rank = tensorType(v).getRank();
  ReduceKind kind = llvm::StringSwitch<ReduceKind>(n.op_type())
                        .Case("ReduceSum", ReduceKind::Sum)
                        .Case("ReduceMean", ReduceKind::Mean)
                        .Case("ReduceMax", ReduceKind::Max)
                        .Case("ReduceMin", ReduceKind::Min)
                        .Default(ReduceKind::Prod);
  auto axes = axesAttrOrInput(imp, 1, rank);
  if (failed(axes))
    return failure();
  bool keep = imp.attrInt("keepdims", 1) != 0;
  SmallVector<int64_t> ax;
  if (*axes && !(*axes)->empty()) {
    ax = **axes;
  } else if (imp.attrInt("noop_with_empty_axes", 0)) {
    imp.setOutput(0, **in);
    return success();
  } else {
    for (int64_t i = 0; i < rank; ++i)
      ax.push_back(i);
  }
  llvm::sort(ax);
  if (std::adjacent_find(ax.begin(), ax.end()) != ax.end())
    return imp.error() << "axes contain duplicates";
  if (rank == 0) {
    imp.setOutput(0, **in);
    return success();
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i) {
    if (!llvm::is_contained(ax, i))
      shape.push_back(tensorType(v).getDimSize(i));
    else if (keep)
      shape.push_back(1);
  }
  auto type = RankedTensorType::get(shape, tensorType(v).getElementType());
  imp.setOutput(0,
                imp.b.create<ReduceOp>(imp.loc, type, v,
                                       ReduceKindAttr::get(imp.ctx, kind),
                                       imp.b.getDenseI64ArrayAttr(ax),
                                       imp.b.getBoolAttr(keep)),
                (*in)->dtype);
  return success();
}

LogicalResult convertCumSum(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in))
    return failure();
  Value v = imp.materialize(**in);
  FailureOr<SmallVector<int64_t>> axis = constIntsInput(imp, 1, "axis");
  if (failed(axis))
    return failure();
  if (axis->size() != 1)
    return imp.error() << "axis must be a scalar";
  FailureOr<int64_t> a = imp.normalizeAxis((*axis)[0], tensorType(v).getRank());
  if (failed(a))
    return failure();
  auto op = imp.b.create<CumSumOp>(imp.loc, v.getType(), v, *a);
  op.setExclusive(imp.attrInt("exclusive", 0) != 0);
  op.setReverse(imp.attrInt("reverse", 0) != 0);
  imp.setOutput(0, op, (*in)->dtype);
  return success();
}

LogicalResult convertTrilu(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in))
    return failure();
  Value v = imp.materialize(**in);
  if (tensorType(v).getRank() < 2)
    return imp.error() << "input must have rank >= 2";
  int64_t k = 0;
  if (imp.input(1)) {
    FailureOr<SmallVector<int64_t>> kv = constIntsInput(imp, 1, "k");
    if (failed(kv))
      return failure();
    if (kv->size() != 1)
      return imp.error() << "k must be a scalar";
    k = (*kv)[0];
  }
  imp.setOutput(0,
                imp.b.create<TriluOp>(imp.loc, v.getType(), v,
                                      imp.attrInt("upper", 1) != 0, k),
                (*in)->dtype);
  return success();
}

//===----------------------------------------------------------------------===//
// MatMul / Gemm
//===----------------------------------------------------------------------===//

LogicalResult convertMatMul(Imp &imp, const Node &) {
  FailureOr<Entry *> a = imp.requiredInput(0), c = imp.requiredInput(1);
  if (failed(a) || failed(c) || failed(requireFloat(imp, *a, "A")) ||
      failed(requireFloat(imp, *c, "B")))
    return failure();
  Value av = imp.materialize(**a), cv = imp.materialize(**c);
  FailureOr<RankedTensorType> t =
      matmulResultType(imp, av, cv, tensorType(av).getElementType());
  if (failed(t))
    return failure();
  imp.setOutput(0, imp.b.create<MatMulOp>(imp.loc, *t, av, cv), (*a)->dtype);
  return success();
}

LogicalResult convertGemm(Imp &imp, const Node &) {
  FailureOr<Entry *> a = imp.requiredInput(0), c = imp.requiredInput(1);
  if (failed(a) || failed(c) || failed(requireFloat(imp, *a, "A")))
    return failure();
  Value av = imp.materialize(**a), bv = imp.materialize(**c);
  if (tensorType(av).getRank() != 2 || tensorType(bv).getRank() != 2)
    return imp.error() << "A and B must be 2-D";
  if (imp.attrInt("transA", 0))
    av = imp.transpose(av, {1, 0});
  if (imp.attrInt("transB", 0))
    bv = imp.transpose(bv, {1, 0});
  FailureOr<RankedTensorType> t =
      matmulResultType(imp, av, bv, tensorType(av).getElementType());
  if (failed(t))
    return failure();
  Value r = imp.b.create<MatMulOp>(imp.loc, *t, av, bv);
  Type elt = t->getElementType();
  float alpha = imp.attrFloat("alpha", 1.0f), beta = imp.attrFloat("beta", 1.0f);
  if (alpha != 1.0f)
    r = *imp.binary<MulOp>(r, imp.scalarConstant(elt, alpha));
  if (Entry *cIn = imp.input(2); cIn && beta != 0.0f) {
    Value cv = imp.materialize(*cIn);
    if (beta != 1.0f)
      cv = *imp.binary<MulOp>(cv, imp.scalarConstant(elt, beta));
    FailureOr<Value> s = imp.binary<AddOp>(r, cv);
    if (failed(s))
      return failure();
    if (tensorType(*s).getShape() != tensorType(r).getShape() &&
        tensorType(r).hasStaticShape())
      return imp.error() << "C does not broadcast to the result shape";
    r = *s;
  }
  imp.setOutput(0, r, (*a)->dtype);
  return success();
}

//===----------------------------------------------------------------------===//
// Shapes and data movement
//===----------------------------------------------------------------------===//

LogicalResult convertShape(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in))
    return failure();
  Value v = imp.materialize(**in);
  SmallVector<DimValue> dims = imp.dimsOf(v);
  int64_t rank = dims.size();
  int64_t start = imp.attrInt("start", 0), end = imp.attrInt("end", rank);
  auto clampIdx = [&](int64_t i) {
    if (i < 0)
      i += rank;
    return std::clamp<int64_t>(i, 0, rank);
  };
  start = clampIdx(start);
  end = clampIdx(end);
  Entry e;
  e.dtype = kInt64;
  e.known.emplace(dims.begin() + start,
                  dims.begin() + std::max(start, end));
  imp.setOutput(0, std::move(e));
  return success();
}

LogicalResult convertSize(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in))
    return failure();
  DimValue n{1, nullptr};
  for (const DimValue &d : imp.dimsOf(imp.materialize(**in)))
    n = imp.dimArith('*', n, d);
  Entry e;
  e.dtype = kInt64;
  e.known.emplace(1, n);
  e.knownIsScalar = true;
  imp.setOutput(0, std::move(e));
  return success();
}

/// Resolves an ONNX Reshape target (0 copies, -1 infers) against the input.
FailureOr<SmallVector<DimValue>> reshapeTarget(Imp &imp, Value input,
                                               ArrayRef<DimValue> target,
                                               bool allowZero) {
  SmallVector<DimValue> inDims = imp.dimsOf(input);
  SmallVector<DimValue> out;
  int64_t inferAt = -1;
  for (auto [i, d] : llvm::enumerate(target)) {
    if (d.isConstant() && d.constant == 0 && !allowZero) {
      if (i >= inDims.size())
        return imp.error() << "shape entry " << i
                           << " is 0 (copy) but the input has rank "
                           << inDims.size(),
               failure();
      out.push_back(inDims[i]);
    } else if (d.isConstant() && d.constant == -1) {
      if (inferAt >= 0)
        return imp.error() << "shape has more than one -1", failure();
      inferAt = i;
      out.push_back({1, nullptr});
    } else if (d.isConstant() && d.constant < -1) {
      return imp.error() << "invalid shape entry " << d.constant, failure();
    } else {
      out.push_back(d);
    }
  }
  if (inferAt >= 0) {
    // Cancel dims the output keeps from the input, so [b, s, 12] ->
    // [b, s, 3, -1] infers a static 4 rather than (b*s*12)/(b*s*3).
    SmallVector<DimValue> rest(inDims);
    SmallVector<DimValue> outRest;
    for (int64_t i = 0, e = out.size(); i < e; ++i) {
      const DimValue &d = out[i];
      if (i == inferAt)
        continue;
      auto same = llvm::find_if(rest, [&](const DimValue &r) {
        return !d.isConstant() && r.value == d.value;
      });
      if (same != rest.end())
        rest.erase(same);
      else
        outRest.push_back(d);
    }
    DimValue total{1, nullptr}, known{1, nullptr};
    for (const DimValue &d : rest)
      total = imp.dimArith('*', total, d);
    for (const DimValue &d : outRest)
      known = imp.dimArith('*', known, d);
    // Static factors divide out of a symbolic total: (b * 12) / 3 = b * 4.
    if (!total.isConstant() && known.isConstant() && known.constant > 0) {
      int64_t c = 1;
      SmallVector<DimValue> dyn;
      for (const DimValue &d : rest)
        d.isConstant() ? (void)(c *= d.constant) : dyn.push_back(d);
      if (c % known.constant == 0) {
        total = {c / known.constant, nullptr};
        for (const DimValue &d : dyn)
          total = imp.dimArith('*', total, d);
        known = {1, nullptr};
      }
    }
    if (total.isConstant() && known.isConstant() &&
        (known.constant == 0 || total.constant % known.constant != 0))
      return imp.error() << "cannot infer the -1 dim: " << total.constant
                         << " elements do not divide into " << known.constant,
             failure();
    out[inferAt] = imp.dimArith('/', total, known);
  }
  // Static element counts must agree.
  DimValue inN{1, nullptr}, outN{1, nullptr};
  bool allConst = true;
  for (auto &d : inDims)
    allConst &= d.isConstant(), inN.constant *= d.isConstant() ? d.constant : 1;
  for (auto &d : out)
    allConst &= d.isConstant(), outN.constant *= d.isConstant() ? d.constant : 1;
  if (allConst && inN.constant != outN.constant)
    return imp.error() << "cannot reshape " << inN.constant << " elements to "
                       << outN.constant,
           failure();
  return out;
}

LogicalResult convertReshape(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0), shape = imp.requiredInput(1);
  if (failed(in) || failed(shape))
    return failure();
  std::optional<SmallVector<DimValue>> target = imp.knownInts(**shape);
  if (!target)
    return imp.error() << "the target shape must be computable at import time "
                          "(from constants and input shapes)";
  // Reshaping a known shape vector keeps it known.
  if (auto k = imp.knownInts(**in); k && target->size() <= 1 &&
                                    (*in)->dtype != kFloat) {
    Entry e = **in;
    e.known = *k;
    e.value = nullptr;
    e.constant = nullptr;
    e.knownIsScalar = target->empty();
    if (e.known->size() == 1 || !e.knownIsScalar) {
      imp.setOutput(0, std::move(e));
      return success();
    }
  }
  Value v = imp.materialize(**in);
  FailureOr<SmallVector<DimValue>> dims =
      reshapeTarget(imp, v, *target, imp.attrInt("allowzero", 0) != 0);
  if (failed(dims))
    return failure();
  imp.setOutput(0, imp.reshapeTo(v, *dims), (*in)->dtype);
  return success();
}

LogicalResult convertUnsqueeze(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in))
    return failure();
  std::optional<SmallVector<int64_t>> axesAttr = imp.attrInts("axes");
  SmallVector<int64_t> axes;
  if (axesAttr) {
    axes = *axesAttr;
  } else {
    FailureOr<SmallVector<int64_t>> a = constIntsInput(imp, 1, "axes");
    if (failed(a))
      return failure();
    axes = *a;
  }
  // Scalar shape value -> 1-element vector stays known.
  if ((*in)->known && (*in)->knownIsScalar && axes.size() == 1 &&
      (axes[0] == 0 || axes[0] == -1)) {
    Entry e = **in;
    e.value = nullptr;
    e.constant = nullptr;
    e.knownIsScalar = false;
    imp.setOutput(0, std::move(e));
    return success();
  }
  Value v = imp.materialize(**in);
  SmallVector<DimValue> dims = imp.dimsOf(v);
  int64_t outRank = dims.size() + axes.size();
  for (int64_t &a : axes) {
    FailureOr<int64_t> n = imp.normalizeAxis(a, outRank);
    if (failed(n))
      return failure();
    a = *n;
  }
  llvm::sort(axes);
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    return imp.error() << "axes contain duplicates";
  SmallVector<DimValue> out;
  size_t j = 0;
  for (int64_t i = 0; i < outRank; ++i) {
    if (llvm::is_contained(axes, i))
      out.push_back({1, nullptr});
    else
      out.push_back(dims[j++]);
  }
  imp.setOutput(0, imp.reshapeTo(v, out), (*in)->dtype);
  return success();
}

LogicalResult convertSqueeze(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in))
    return failure();
  if ((*in)->known && !(*in)->knownIsScalar && (*in)->known->size() == 1) {
    Entry e = **in;
    e.value = nullptr;
    e.constant = nullptr;
    e.knownIsScalar = true;
    imp.setOutput(0, std::move(e));
    return success();
  }
  Value v = imp.materialize(**in);
  auto t = tensorType(v);
  auto axes = axesAttrOrInput(imp, 1, t.getRank());
  if (failed(axes))
    return failure();
  SmallVector<int64_t> ax;
  if (*axes) {
    ax = **axes;
    for (int64_t a : ax)
      if (t.getDimSize(a) != 1 && !t.isDynamicDim(a))
        return imp.error() << "cannot squeeze dim " << a << " of size "
                           << t.getDimSize(a);
  } else {
    for (int64_t i = 0; i < t.getRank(); ++i) {
      if (t.isDynamicDim(i))
        return imp.error() << "Squeeze without axes needs static dims";
      if (t.getDimSize(i) == 1)
        ax.push_back(i);
    }
  }
  SmallVector<DimValue> dims = imp.dimsOf(v), out;
  for (auto [i, d] : llvm::enumerate(dims))
    if (!llvm::is_contained(ax, (int64_t)i))
      out.push_back(d);
  imp.setOutput(0, imp.reshapeTo(v, out), (*in)->dtype);
  return success();
}

LogicalResult convertTranspose(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in))
    return failure();
  Value v = imp.materialize(**in);
  int64_t rank = tensorType(v).getRank();
  SmallVector<int64_t> perm;
  if (auto p = imp.attrInts("perm"))
    perm = *p;
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  if ((int64_t)perm.size() != rank)
    return imp.error() << "perm has " << perm.size() << " entries for rank "
                       << rank;
  SmallVector<bool> seen(rank, false);
  for (int64_t &p : perm) {
    FailureOr<int64_t> n = imp.normalizeAxis(p, rank);
    if (failed(n) || seen[*n])
      return imp.error() << "perm is not a permutation";
    seen[*n] = true;
    p = *n;
  }
  imp.setOutput(0, imp.transpose(v, perm), (*in)->dtype);
  return success();
}

LogicalResult convertConcat(Imp &imp, const Node &) {
  if (imp.numInputs() == 0)
    return imp.error() << "needs at least one input";
  SmallVector<Entry *> ins;
  for (size_t i = 0; i < imp.numInputs(); ++i) {
    FailureOr<Entry *> e = imp.requiredInput(i);
    if (failed(e))
      return failure();
    if (!ins.empty() && (*e)->dtype != ins[0]->dtype)
      return imp.error() << "input types differ";
    ins.push_back(*e);
  }
  // Concatenating known shape vectors yields a known shape vector.
  bool allKnown = llvm::all_of(ins, [&](Entry *e) {
    return !e->knownIsScalar && imp.knownInts(*e).has_value() &&
           (!e->constant || e->constant.getType().getRank() == 1);
  });
  if (allKnown && !isFloatDType(ins[0]->dtype)) {
    Entry out;
    out.dtype = ins[0]->dtype;
    out.known.emplace();
    for (Entry *e : ins)
      llvm::append_range(*out.known, *imp.knownInts(*e));
    imp.setOutput(0, std::move(out));
    return success();
  }
  SmallVector<Value> vals;
  for (Entry *e : ins)
    vals.push_back(imp.materialize(*e));
  auto t0 = tensorType(vals[0]);
  FailureOr<int64_t> axis = imp.normalizeAxis(imp.attrInt("axis", 0), t0.getRank());
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(t0.getShape());
  shape[*axis] = 0;
  for (Value v : vals) {
    auto t = tensorType(v);
    if (t.getRank() != t0.getRank())
      return imp.error() << "inputs have different ranks";
    for (int64_t i = 0; i < t.getRank(); ++i) {
      if (i == *axis)
        continue;
      if (ShapedType::isDynamic(shape[i]))
        shape[i] = t.getDimSize(i);
      else if (!t.isDynamicDim(i) && t.getDimSize(i) != shape[i])
        return imp.error() << "inputs differ in dim " << i << ": " << t0
                           << " vs " << t;
    }
    int64_t d = t.getDimSize(*axis);
    shape[*axis] = ShapedType::isDynamic(d) || ShapedType::isDynamic(shape[*axis])
                       ? ShapedType::kDynamic
                       : shape[*axis] + d;
  }
  auto type = RankedTensorType::get(shape, t0.getElementType());
  imp.setOutput(0, imp.b.create<ConcatOp>(imp.loc, type, vals, *axis),
                ins[0]->dtype);
  return success();
}

/// Emits qcc.slice taking [start, start + size * step) along the given axes.
Value emitSlice(Imp &imp, Value v, ArrayRef<int64_t> axes,
                ArrayRef<DimValue> starts, ArrayRef<DimValue> sizes,
                ArrayRef<int64_t> steps) {
  auto t = tensorType(v);
  int64_t rank = t.getRank();
  SmallVector<DimValue> dims = imp.dimsOf(v);
  SmallVector<int64_t> sOff(rank, 0), sSize, strides(rank, 1);
  SmallVector<Value> dOff, dSize;
  SmallVector<DimValue> offs(rank, DimValue{0, nullptr}), szs(dims);
  for (auto [i, a] : llvm::enumerate(axes)) {
    offs[a] = starts[i];
    szs[a] = sizes[i];
    strides[a] = steps[i];
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i) {
    if (offs[i].isConstant()) {
      sOff[i] = offs[i].constant;
    } else {
      sOff[i] = ShapedType::kDynamic;
      dOff.push_back(offs[i].value);
    }
    if (szs[i].isConstant()) {
      sSize.push_back(szs[i].constant);
      shape.push_back(szs[i].constant);
    } else {
      sSize.push_back(ShapedType::kDynamic);
      shape.push_back(ShapedType::kDynamic);
      dSize.push_back(szs[i].value);
    }
  }
  auto type = RankedTensorType::get(shape, t.getElementType());
  return imp.b.create<SliceOp>(imp.loc, type, v, dOff, dSize,
                               imp.b.getDenseI64ArrayAttr(sOff),
                               imp.b.getDenseI64ArrayAttr(sSize),
                               imp.b.getDenseI64ArrayAttr(strides));
}

LogicalResult convertSlice(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in))
    return failure();
  auto starts = imp.input(1) ? imp.knownInts(*imp.input(1)) : std::nullopt;
  auto ends = imp.input(2) ? imp.knownInts(*imp.input(2)) : std::nullopt;
  if (!starts || !ends)
    return imp.error() << "starts and ends must be computable at import time";
  if (starts->size() != ends->size())
    return imp.error() << "starts and ends differ in length";
  size_t n = starts->size();
  SmallVector<int64_t> axes, steps(n, 1);
  if (imp.input(3)) {
    FailureOr<SmallVector<int64_t>> a = constIntsInput(imp, 3, "axes");
    if (failed(a))
      return failure();
    axes = *a;
  } else {
    for (size_t i = 0; i < n; ++i)
      axes.push_back(i);
  }
  if (imp.input(4)) {
    FailureOr<SmallVector<int64_t>> s = constIntsInput(imp, 4, "steps");
    if (failed(s))
      return failure();
    steps = *s;
  }
  if (axes.size() != n || steps.size() != n)
    return imp.error() << "starts, ends, axes and steps differ in length";

  // Slices of known shape vectors stay known.
  if (auto k = imp.knownInts(**in); k && !(*in)->knownIsScalar && n == 1 &&
                                    (*starts)[0].isConstant() &&
                                    (*ends)[0].isConstant() && steps[0] > 0) {
    int64_t size = k->size();
    int64_t s = (*starts)[0].constant, e = (*ends)[0].constant;
    s = std::clamp<int64_t>(s < 0 ? s + size : s, 0, size);
    e = std::clamp<int64_t>(e < 0 ? e + size : e, 0, size);
    Entry out;
    out.dtype = (*in)->dtype;
    out.known.emplace();
    for (int64_t i = s; i < e; i += steps[0])
      out.known->push_back((*k)[i]);
    imp.setOutput(0, std::move(out));
    return success();
  }

  Value v = imp.materialize(**in);
  int64_t rank = tensorType(v).getRank();
  SmallVector<DimValue> dims = imp.dimsOf(v);
  SmallVector<DimValue> offs, sizes;
  for (size_t i = 0; i < n; ++i) {
    FailureOr<int64_t> a = imp.normalizeAxis(axes[i], rank);
    if (failed(a))
      return failure();
    axes[i] = *a;
    if (steps[i] <= 0)
      return imp.error() << "only positive slice steps are supported, got "
                         << steps[i];
    DimValue dim = dims[*a], s = (*starts)[i], e = (*ends)[i];
    // Constant bounds follow ONNX clamping; negative ones count from the end.
    auto resolve = [&](DimValue x) -> DimValue {
      if (!x.isConstant())
        return x;
      if (x.constant < 0) {
        DimValue r = imp.dimArith('+', dim, x);
        if (r.isConstant())
          r.constant = std::max<int64_t>(r.constant, 0);
        return r;
      }
      if (dim.isConstant())
        return {std::min(x.constant, dim.constant), nullptr};
      // Past-the-end sentinels (INT_MAX) mean "to the end".
      if (x.constant >= (int64_t(1) << 31) - 1)
        return dim;
      return x;
    };
    s = resolve(s);
    e = resolve(e);
    DimValue len = imp.dimArith('-', e, s);
    if (len.isConstant() && len.constant < 0)
      len.constant = 0;
    DimValue size = steps[i] == 1
                        ? len
                        : imp.dimArith('/', imp.dimArith('+', len, {steps[i] - 1, nullptr}),
                                       {steps[i], nullptr});
    offs.push_back(s);
    sizes.push_back(size);
  }
  imp.setOutput(0, emitSlice(imp, v, axes, offs, sizes, steps), (*in)->dtype);
  return success();
}

LogicalResult convertSplit(Imp &imp, const Node &n) {
  FailureOr<Entry *> in = imp.requiredInput(0);
  if (failed(in))
    return failure();
  Value v = imp.materialize(**in);
  auto t = tensorType(v);
  FailureOr<int64_t> axis = imp.normalizeAxis(imp.attrInt("axis", 0), t.getRank());
  if (failed(axis))
    return failure();
  int64_t outputs = n.output_size();
  SmallVector<DimValue> sizes;
  SmallVector<DimValue> dims = imp.dimsOf(v);
  if (imp.input(1)) {
    FailureOr<SmallVector<int64_t>> s = constIntsInput(imp, 1, "split");
    if (failed(s))
      return failure();
    for (int64_t x : *s)
      sizes.push_back({x, nullptr});
  } else if (auto s = imp.attrInts("split")) {
    for (int64_t x : *s)
      sizes.push_back({x, nullptr});
  } else {
    int64_t parts = imp.attrInt("num_outputs", outputs);
    if (parts <= 0)
      return imp.error() << "num_outputs must be positive";
    DimValue d = dims[*axis];
    if (!d.isConstant())
      return imp.error() << "an even split needs a static dim along the axis";
    int64_t chunk = (d.constant + parts - 1) / parts;
    for (int64_t i = 0; i < parts; ++i)
      sizes.push_back({std::max<int64_t>(0, std::min(chunk, d.constant - i * chunk)),
                       nullptr});
  }
  if ((int64_t)sizes.size() != outputs)
    return imp.error() << "split gives " << sizes.size() << " parts for "
                       << outputs << " outputs";
  DimValue total{0, nullptr};
  for (auto &s : sizes) {
    if (s.constant < 0)
      return imp.error() << "split sizes must be non-negative";
    total = imp.dimArith('+', total, s);
  }
  if (dims[*axis].isConstant() && total.constant != dims[*axis].constant)
    return imp.error() << "split sizes sum to " << total.constant
                       << " but the dim is " << dims[*axis].constant;
  DimValue off{0, nullptr};
  for (int64_t i = 0; i < outputs; ++i) {
    imp.setOutput(i, emitSlice(imp, v, {*axis}, {off}, {sizes[i]}, {1}),
                  (*in)->dtype);
    off = imp.dimArith('+', off, sizes[i]);
  }
  return success();
}

LogicalResult convertGather(Imp &imp, const Node &) {
  FailureOr<Entry *> data = imp.requiredInput(0), idx = imp.requiredInput(1);
  if (failed(data) || failed(idx))
    return failure();
  if ((*idx)->dtype != kInt64 && (*idx)->dtype != kInt32)
    return imp.error() << "indices must be int32 or int64";
  // Picking entries out of a known shape vector.
  if (auto k = imp.knownInts(**data); k && !(*data)->knownIsScalar) {
    if (auto ci = imp.constInts(**idx)) {
      Entry e;
      e.dtype = (*data)->dtype;
      e.known.emplace();
      for (int64_t i : *ci) {
        int64_t j = i < 0 ? i + (int64_t)k->size() : i;
        if (j < 0 || j >= (int64_t)k->size())
          return imp.error() << "index " << i << " is out of range for "
                             << k->size() << " elements";
        e.known->push_back((*k)[j]);
      }
      e.knownIsScalar = (*idx)->knownIsScalar ||
                        ((*idx)->constant &&
                         (*idx)->constant.getType().getRank() == 0);
      imp.setOutput(0, std::move(e));
      return success();
    }
  }
  Value dv = imp.materialize(**data), iv = imp.materialize(**idx);
  auto dt = tensorType(dv);
  FailureOr<int64_t> axis = imp.normalizeAxis(imp.attrInt("axis", 0), dt.getRank());
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(dt.getShape().take_front(*axis));
  llvm::append_range(shape, tensorType(iv).getShape());
  llvm::append_range(shape, dt.getShape().drop_front(*axis + 1));
  auto type = RankedTensorType::get(shape, dt.getElementType());
  imp.setOutput(0, imp.b.create<GatherOp>(imp.loc, type, dv, iv, *axis),
                (*data)->dtype);
  return success();
}

LogicalResult convertExpand(Imp &imp, const Node &) {
  FailureOr<Entry *> in = imp.requiredInput(0), shape = imp.requiredInput(1);
  if (failed(in) || failed(shape))
    return failure();
  auto target = imp.knownInts(**shape);
  if (!target)
    return imp.error() << "the target shape must be computable at import time";
  Value v = imp.materialize(**in);
  SmallVector<DimValue> dims = imp.dimsOf(v);
  size_t rank = std::max(dims.size(), target->size());
  SmallVector<DimValue> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    DimValue a = i < rank - dims.size() ? DimValue{1, nullptr}
                                        : dims[i - (rank - dims.size())];
    DimValue c = i < rank - target->size() ? DimValue{1, nullptr}
                                           : (*target)[i - (rank - target->size())];
    if (a.isConstant() && a.constant == 1)
      out[i] = c;
    else if (c.isConstant() && c.constant == 1)
      out[i] = a;
    else if (a.isConstant() && c.isConstant() && a.constant != c.constant)
      return imp.error() << "cannot expand dim " << i << " of size "
                         << a.constant << " to " << c.constant;
    else
      out[i] = a; // equal, or dynamic: the input's dim is the truth
  }
  SmallVector<Value> dyn;
  RankedTensorType type =
      imp.typeFromDims(out, tensorType(v).getElementType(), dyn);
  if (type == v.getType())
    imp.setOutput(0, **in);
  else
    imp.setOutput(0, imp.b.create<ExpandOp>(imp.loc, type, v, dyn), (*in)->dtype);
  return success();
}

LogicalResult convertConstantOfShape(Imp &imp, const Node &) {
  FailureOr<Entry *> shape = imp.requiredInput(0);
  if (failed(shape))
    return failure();
  auto dims = imp.knownInts(**shape);
  if (!dims)
    return imp.error() << "the shape must be computable at import time";
  int32_t dtype = kFloat;
  TypedAttr value = imp.b.getF32FloatAttr(0.0f);
  if (const onnx::AttributeProto *a = imp.attr("value")) {
    FailureOr<LoadedTensor> t = decodeTensor(a->t(), imp.modelDir, imp.ctx, imp.loc);
    if (failed(t))
      return failure();
    if (t->value.getNumElements() != 1)
      return imp.error() << "value must hold one element";
    dtype = t->dtype;
    value = cast<TypedAttr>(*t->value.value_begin<Attribute>());
  }
  for (auto &d : *dims)
    if (d.isConstant() && d.constant < 0)
      return imp.error() << "negative dim " << d.constant;
  SmallVector<Value> dyn;
  RankedTensorType type = imp.typeFromDims(*dims, value.getType(), dyn);
  if (dyn.empty()) {
    Entry e;
    e.dtype = dtype;
    e.constant = DenseElementsAttr::get(type, value);
    e.value = imp.constantTensor(e.constant);
    imp.setOutput(0, std::move(e));
    return success();
  }
  imp.setOutput(0, imp.b.create<FillOp>(imp.loc, type, dyn, value), dtype);
  return success();
}

LogicalResult convertRange(Imp &imp, const Node &) {
  FailureOr<Entry *> s = imp.requiredInput(0), l = imp.requiredInput(1),
                     d = imp.requiredInput(2);
  if (failed(s) || failed(l) || failed(d))
    return failure();
  int32_t dtype = (*s)->dtype;
  if ((*l)->dtype != dtype || (*d)->dtype != dtype)
    return imp.error() << "start, limit and delta types differ";
  auto ks = imp.constInts(**s), kl = imp.constInts(**l), kd = imp.constInts(**d);
  if (ks && kl && kd && !isFloatDType(dtype)) {
    int64_t delta = (*kd)[0];
    if (delta == 0)
      return imp.error() << "delta must not be zero";
    int64_t count = std::max<int64_t>(
        0, ((*kl)[0] - (*ks)[0] + delta + (delta > 0 ? -1 : 1)) / delta);
    if (count > (int64_t(1) << 31))
      return imp.error() << "range of " << count << " elements is too large";
    Entry e;
    e.dtype = dtype;
    e.known.emplace();
    for (int64_t i = 0; i < count; ++i)
      e.known->push_back({(*ks)[0] + i * delta, nullptr});
    imp.setOutput(0, std::move(e));
    return success();
  }
  Value sv = imp.materialize(**s), lv = imp.materialize(**l),
        dv = imp.materialize(**d);
  for (Value v : {sv, lv, dv})
    if (tensorType(v).getRank() != 0)
      return imp.error() << "start, limit and delta must be scalars";
  auto type = RankedTensorType::get({ShapedType::kDynamic},
                                    tensorType(sv).getElementType());
  imp.setOutput(0, imp.b.create<RangeOp>(imp.loc, type, sv, lv, dv), dtype);
  return success();
}

} // namespace

FailureOr<RankedTensorType> matmulResultType(GraphImporter &imp, Value a, Value c,
                                             Type elt) {
  auto at = cast<RankedTensorType>(a.getType());
  auto ct = cast<RankedTensorType>(c.getType());
  FailureOr<SmallVector<int64_t>> shape = matmulShape(at.getShape(), ct.getShape());
  if (failed(shape))
    return imp.error() << "matmul operand shapes do not multiply: " << at
                       << " x " << ct,
           failure();
  return RankedTensorType::get(*shape, elt);
}

LogicalResult convertQuantOp(Imp &imp, const Node &n);
LogicalResult convertFusedOp(Imp &imp, const Node &n);

ConvertFn lookupConverter(StringRef domain, StringRef op) {
  static const llvm::StringMap<ConvertFn> onnxOps = {
      {"Add", convertBinary<AddOp, '+'>},
      {"Sub", convertBinary<SubOp, '-'>},
      {"Mul", convertBinary<MulOp, '*'>},
      {"Div", convertBinary<DivOp, '/'>},
      {"Pow", convertBinary<PowOp>},
      {"Min", convertVariadic<MinOp>},
      {"Max", convertVariadic<MaxOp>},
      {"Sum", convertVariadic<AddOp>},
      {"Equal", convertCompare<EqualOp>},
      {"Less", convertCompare<LessOp>},
      {"Greater", convertCompare<GreaterOp>},
      {"And", convertLogical<AndOp>},
      {"Or", convertLogical<OrOp>},
      {"Not", convertNot},
      {"Neg", convertUnary<NegOp>},
      {"Abs", convertUnary<AbsOp>},
      {"Sqrt", convertFloatUnary<SqrtOp>},
      {"Reciprocal", convertFloatUnary<ReciprocalOp>},
      {"Exp", convertFloatUnary<ExpOp>},
      {"Log", convertFloatUnary<LogOp>},
      {"Tanh", convertFloatUnary<TanhOp>},
      {"Erf", convertFloatUnary<ErfOp>},
      {"Sigmoid", convertFloatUnary<SigmoidOp>},
      {"Relu", convertUnary<ReluOp>},
      {"Gelu", convertGelu},
      {"Clip", convertClip},
      {"Where", convertWhere},
      {"Cast", convertCast},
      {"Identity", convertIdentity},
      {"Constant", convertConstant},
      {"MatMul", convertMatMul},
      {"Gemm", convertGemm},
      {"Softmax", convertSoftmax},
      {"LayerNormalization", convertNorm},
      {"SimplifiedLayerNormalization", convertNorm},
      {"RMSNormalization", convertNorm},
      {"ReduceMean", convertReduce},
      {"ReduceSum", convertReduce},
      {"ReduceMax", convertReduce},
      {"ReduceMin", convertReduce},
      {"ReduceProd", convertReduce},
      {"CumSum", convertCumSum},
      {"Trilu", convertTrilu},
      {"Reshape", convertReshape},
      {"Transpose", convertTranspose},
      {"Squeeze", convertSqueeze},
      {"Unsqueeze", convertUnsqueeze},
      {"Concat", convertConcat},
      {"Split", convertSplit},
      {"Slice", convertSlice},
      {"Gather", convertGather},
      {"Shape", convertShape},
      {"Size", convertSize},
      {"ConstantOfShape", convertConstantOfShape},
      {"Expand", convertExpand},
      {"Range", convertRange},
      {"QuantizeLinear", convertQuantOp},
      {"DequantizeLinear", convertQuantOp},
      {"DynamicQuantizeLinear", convertQuantOp},
      {"MatMulInteger", convertQuantOp},
      {"QLinearMatMul", convertQuantOp},
      {"RotaryEmbedding", convertFusedOp},
  };
  static const llvm::StringMap<ConvertFn> msOps = {
      {"MatMulNBits", convertQuantOp},
      {"SkipLayerNormalization", convertNorm},
      {"SkipSimplifiedLayerNormalization", convertNorm},
      {"SimplifiedLayerNormalization", convertNorm},
      {"FastGelu", convertBiasGelu},
      {"BiasGelu", convertBiasGelu},
      {"Gelu", convertBiasGelu},
      {"MultiHeadAttention", convertFusedOp},
      {"Attention", convertFusedOp},
      {"RotaryEmbedding", convertFusedOp},
      {"DynamicQuantizeLinear", convertQuantOp},
      {"QuantizeLinear", convertQuantOp},
      {"DequantizeLinear", convertQuantOp},
  };
  const llvm::StringMap<ConvertFn> *table = nullptr;
  if (domain.empty() || domain == "ai.onnx")
    table = &onnxOps;
  else if (domain == "com.microsoft")
    table = &msOps;
  else
    return nullptr;
  auto it = table->find(op);
  return it == table->end() ? nullptr : it->second;
}

} // namespace qcc::onnx_import
