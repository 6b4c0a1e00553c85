//===- FixedPoint.h - integer requantization multipliers --------*- C++ -*-===//
//
// A real rescale factor r > 0 becomes an int32 multiplier M and a right
// shift s with r ~= M * 2^-s, so that requantization is integer-only and
// gives identical results on every target:
//
//   out = clamp(((in - in_zp) * M + 2^(s-1)) >> s + out_zp)
//
// computed in 64-bit with an arithmetic shift (ties round toward +inf).
// M keeps 31 significant bits (M in [2^30, 2^31)) unless r is so small that
// the shift would pass 62, in which case M loses low bits (or becomes 0).
//
//===----------------------------------------------------------------------===//
#ifndef QCC_SUPPORT_FIXEDPOINT_H
#define QCC_SUPPORT_FIXEDPOINT_H

#include <cstdint>
#include <optional>

namespace qcc {

struct FixedPointMultiplier {
  int32_t multiplier;
  int32_t shift;
};

/// The multiplier and shift for `ratio`; none when ratio is not finite, not
/// positive, or at least 2^30 (no shift of 1 or more could express it).
std::optional<FixedPointMultiplier> fixedPointMultiplier(double ratio);

} // namespace qcc

#endif
