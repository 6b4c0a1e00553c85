//===- QccQuantTraits.h - scale propagation traits --------------*- C++ -*-===//
#ifndef QCC_DIALECT_QCC_IR_QCCQUANTTRAITS_H
#define QCC_DIALECT_QCC_IR_QCCQUANTTRAITS_H

#include "mlir/IR/OpDefinition.h"

#include <utility>

namespace qcc::QuantTrait {
/// See Qcc_SameScale in QccQuantTraits.td.
template <typename ConcreteType>
class QuantSameScale : public mlir::OpTrait::TraitBase<ConcreteType, QuantSameScale> {};

/// See Qcc_StaysFloat in QccQuantTraits.td.
template <typename ConcreteType>
class QuantStaysFloat : public mlir::OpTrait::TraitBase<ConcreteType, QuantStaysFloat> {};
} // namespace qcc::QuantTrait

#include "qcc/Dialect/Qcc/IR/QccInterfaces.h.inc"

namespace qcc {
/// The op whose fixed output range reaches `v` unchanged, through
/// same-scale ops with a single float operand; null if there is none.
FixedRangeOpInterface fixedRangeSource(mlir::Value v);
} // namespace qcc

#endif
