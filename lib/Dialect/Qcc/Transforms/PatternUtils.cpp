//===- PatternUtils.cpp - helpers for qcc graph patterns ------------------===//
#include "qcc/Dialect/Qcc/Transforms/PatternUtils.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

#include <cmath>
#include <cstdlib>

using namespace mlir;

std::optional<double> qcc::getSplatFloat(Value v) {
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
      !isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

bool qcc::isSplatFloat(Value v, double expected, double relTol) {
  std::optional<double> c = getSplatFloat(v);
  return c && std::fabs(*c - expected) <= relTol * std::fabs(expected);
}

Value qcc::otherOperandIf(Operation *op, function_ref<bool(Value)> pred) {
  if (!op || op->getNumOperands() != 2)
    return nullptr;
  if (pred(op->getOperand(0)))
    return op->getOperand(1);
  if (pred(op->getOperand(1)))
    return op->getOperand(0);
  return nullptr;
}

std::optional<std::vector<double>> qcc::constantFloats(Value v) {
  DenseFPElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  std::vector<double> out;
  out.reserve(attr.getNumElements());
  for (APFloat f : attr.getValues<APFloat>()) {
    bool lost;
    f.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
    out.push_back(f.convertToDouble());
  }
  return out;
}

std::optional<std::vector<int64_t>> qcc::constantInts(Value v, bool isSigned) {
  DenseIntElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  std::vector<int64_t> out;
  out.reserve(attr.getNumElements());
  for (const APInt &i : attr.getValues<APInt>())
    out.push_back(isSigned ? i.getSExtValue() : int64_t(i.getZExtValue()));
  return out;
}

std::optional<std::vector<int64_t>> qcc::centeredInt8Weight(Value w, Value zp, bool isSigned) {
  auto q = constantInts(w, isSigned);
  if (!q)
    return std::nullopt;
  int64_t n = cast<RankedTensorType>(w.getType()).getDimSize(1);
  std::vector<int64_t> z;
  if (zp) {
    auto v = constantInts(zp, isSigned);
    if (!v || (v->size() != 1 && int64_t(v->size()) != n))
      return std::nullopt;
    z = std::move(*v);
  }
  for (size_t i = 0; i < q->size(); ++i) {
    (*q)[i] -= z.empty() ? 0 : z[z.size() == 1 ? 0 : int64_t(i) % n];
    if (std::abs((*q)[i]) > 127)
      return std::nullopt;
  }
  return q;
}
