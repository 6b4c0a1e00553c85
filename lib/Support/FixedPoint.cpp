//===- FixedPoint.cpp - integer requantization multipliers ----------------===//
#include "qcc/Support/FixedPoint.h"

#include <cmath>

std::optional<qcc::FixedPointMultiplier> qcc::fixedPointMultiplier(double ratio) {
  if (!std::isfinite(ratio) || ratio <= 0.0 || ratio >= 0x1p30)
    return std::nullopt;
  int exp = 0;
  double frac = std::frexp(ratio, &exp); // ratio = frac * 2^exp, frac in [0.5, 1)
  int64_t m = std::llround(frac * 0x1p31);
  if (m == (int64_t(1) << 31)) { // frac rounded up to 1.0
    m >>= 1;
    ++exp;
  }
  int64_t shift = 31 - exp;
  if (shift > 62) {
    // Too small for 31 significant bits: keep what a 62-bit shift can hold.
    m = std::llround(std::ldexp(ratio, 62));
    shift = 62;
  }
  return FixedPointMultiplier{int32_t(m), int32_t(shift)};
}

