//===- ActivationRange.h - calibrated activation ranges ----------*- C++ -*-===//
#ifndef QCC_SUPPORT_ACTIVATIONRANGE_H
#define QCC_SUPPORT_ACTIVATIONRANGE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace qcc {

/// Histogram of |x| over everything a layer's input took during
/// calibration, in constant memory: kBins bins over [0, range), range the
/// smallest power of two above the largest |x| so far. When a larger value
/// arrives the range doubles and pairs of bins merge; with power-of-two
/// widths that merge is exact, so the final histogram is the one a single
/// pass with the final range would give, whatever the order of samples.
class AbsHistogram {
public:
  static constexpr int64_t kBins = 2048;

  void add(const float *x, int64_t n);

  double absMax() const { return absMax_; }
  double range() const { return range_; }
  double total() const { return total_; }
  const std::vector<double> &counts() const { return counts_; }

private:
  double absMax_ = 0, range_ = 0, total_ = 0;
  std::vector<double> counts_ = std::vector<double>(kBins, 0.0);
};

enum class RangeMethod { MinMax, Percentile, Entropy, Mse };

/// "minmax", "percentile", "entropy", "mse".
std::optional<RangeMethod> parseRangeMethod(llvm::StringRef name);

/// The clipping threshold T for symmetric int8 (scale T / 127) and the
/// fraction of the calibration values beyond it.
///  - minmax: T = max|x| (nothing clips);
///  - percentile: the upper edge of the first bin where the cumulative
///    count reaches `percentile` % of all values (at most max|x|);
///  - mse: the bin edge minimizing the expected squared error, clipping
///    error (|x| - T)^2 above T plus rounding noise (T / 127)^2 / 12 below;
///  - entropy: the bin edge minimizing KL(P || Q) between the histogram
///    clipped at T (the tail folded into the last bin) and its 128-level
///    quantization (TensorRT's method).
struct ActivationRange {
  double threshold = 0;
  double clipped = 0;
};
ActivationRange chooseRange(const AbsHistogram &h, RangeMethod method, double percentile);

} // namespace qcc

#endif
