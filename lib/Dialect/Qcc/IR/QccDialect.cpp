//===- QccDialect.cpp - qcc dialect registration --------------------------===//
#include "qcc/Dialect/Qcc/IR/QccDialect.h"
#include "qcc/Dialect/Qcc/IR/QccOps.h"

using namespace mlir;
using namespace qcc;

#include "qcc/Dialect/Qcc/IR/QccDialect.cpp.inc"

void QccDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "qcc/Dialect/Qcc/IR/QccOps.cpp.inc"
      >();
  registerAttributes();
}

Operation *QccDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                           Type type, Location loc) {
  if (auto tensorType = dyn_cast<RankedTensorType>(type)) {
    if (isa_and_nonnull<PackedEncodingAttr>(tensorType.getEncoding()))
      return builder.create<PackedConstantOp>(loc, type,
                                              cast<ElementsAttr>(value));
  }
  if (arith::ConstantOp::isBuildableWith(value, type))
    return builder.create<arith::ConstantOp>(loc, type, cast<TypedAttr>(value));
  return nullptr;
}
