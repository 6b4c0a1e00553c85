//===- QccAttrs.h - qcc attributes ------------------------------*- C++ -*-===//
#ifndef QCC_DIALECT_QCC_IR_QCCATTRS_H
#define QCC_DIALECT_QCC_IR_QCCATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"

#include "qcc/Dialect/Qcc/IR/QccEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "qcc/Dialect/Qcc/IR/QccAttrs.h.inc"

#endif
