//===- PatternUtils.h - helpers for qcc graph patterns ----------*- C++ -*-===//
#ifndef QCC_DIALECT_QCC_TRANSFORMS_PATTERNUTILS_H
#define QCC_DIALECT_QCC_TRANSFORMS_PATTERNUTILS_H

#include "mlir/IR/Value.h"

#include <vector>

namespace qcc {
/// True if `v` is a constant whose elements all equal `expected` within a
/// relative tolerance (exporters round constants such as sqrt(2)).
bool isSplatFloat(mlir::Value v, double expected, double relTol = 1e-3);
/// The splat value of a float constant, if `v` is one.
std::optional<double> getSplatFloat(mlir::Value v);
/// If `op` has operands (a, b) and one of them satisfies `pred`, returns the
/// other one.
mlir::Value otherOperandIf(mlir::Operation *op,
                           llvm::function_ref<bool(mlir::Value)> pred);
/// The elements of a constant float tensor (any float width, widened
/// exactly to double), if `v` is one.
std::optional<std::vector<double>> constantFloats(mlir::Value v);
/// The elements of a constant integer tensor read as signed or unsigned
/// (u8 is stored in i8), if `v` is one.
std::optional<std::vector<int64_t>> constantInts(mlir::Value v, bool isSigned);
/// The elements of a constant [K, N] integer weight `w` minus its constant
/// zero point `zp` (none, one, or one per column), row-major, if every one
/// lies in [-127, 127]: the weights the int8 kernels' integer matmul takes.
std::optional<std::vector<int64_t>> centeredInt8Weight(mlir::Value w, mlir::Value zp,
                                                       bool isSigned);
} // namespace qcc

#endif
