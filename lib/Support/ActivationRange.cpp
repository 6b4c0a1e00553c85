//===- ActivationRange.cpp - calibrated activation ranges -----------------===//
#include "qcc/Support/ActivationRange.h"

#include "llvm/ADT/StringSwitch.h"

#include <cmath>

using namespace qcc;

void AbsHistogram::add(const float *x, int64_t n) {
  double batchMax = 0;
  for (int64_t i = 0; i < n; ++i)
    batchMax = std::max(batchMax, double(std::fabs(x[i])));
  absMax_ = std::max(absMax_, batchMax);
  if (batchMax > 0 && range_ == 0)
    range_ = std::ldexp(1.0, std::ilogb(batchMax) + 1);
  while (range_ > 0 && batchMax >= range_) {
    for (int64_t i = 0; i < kBins / 2; ++i)
      counts_[i] = counts_[2 * i] + counts_[2 * i + 1];
    std::fill(counts_.begin() + kBins / 2, counts_.end(), 0.0);
    range_ *= 2;
  }
  // |x| * kBins / range is exact: range is a power of two.
  for (int64_t i = 0; i < n; ++i) {
    double a = std::fabs(x[i]);
    int64_t bin = range_ > 0 ? int64_t(a * double(kBins) / range_) : 0;
    counts_[std::min(bin, kBins - 1)] += 1;
  }
  total_ += double(n);
}

std::optional<RangeMethod> qcc::parseRangeMethod(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<RangeMethod>>(name)
      .Case("minmax", RangeMethod::MinMax)
      .Case("percentile", RangeMethod::Percentile)
      .Case("entropy", RangeMethod::Entropy)
      .Case("mse", RangeMethod::Mse)
      .Default(std::nullopt);
}

namespace {
constexpr int64_t kLevels = 128; // |q| in 0..127

/// KL(P || Q) of the first `edge` bins clipped at their upper edge (the
/// tail folded into the last one) against their 128-level quantization:
/// each level spreads its total evenly over its nonzero bins.
double klAtEdge(const std::vector<double> &h, int64_t edge) {
  std::vector<double> p(h.begin(), h.begin() + edge);
  for (size_t i = edge; i < h.size(); ++i)
    p[edge - 1] += h[i];
  std::vector<double> q(edge, 0.0);
  for (int64_t l = 0; l < kLevels; ++l) {
    int64_t lo = l * edge / kLevels, hi = (l + 1) * edge / kLevels;
    double sum = 0;
    int64_t nonzero = 0;
    for (int64_t i = lo; i < hi; ++i) {
      sum += h[i];
      nonzero += h[i] != 0;
    }
    for (int64_t i = lo; i < hi; ++i)
      if (h[i] != 0)
        q[i] = sum / double(nonzero);
  }
  double ps = 0, qs = 0;
  for (int64_t i = 0; i < edge; ++i) {
    ps += p[i];
    qs += q[i];
  }
  double kl = 0;
  for (int64_t i = 0; i < edge; ++i) {
    if (p[i] == 0)
      continue;
    if (q[i] == 0)
      return INFINITY;
    kl += p[i] / ps * std::log((p[i] / ps) / (q[i] / qs));
  }
  return kl;
}
} // namespace

ActivationRange qcc::chooseRange(const AbsHistogram &h, RangeMethod method, double percentile) {
  const std::vector<double> &c = h.counts();
  const int64_t bins = AbsHistogram::kBins;
  double width = h.range() / double(bins), total = h.total();
  if (h.absMax() == 0 || total == 0)
    return {0, 0};
  // Values above the upper edge of bin `last`.
  auto beyond = [&](int64_t last) {
    double n = 0;
    for (int64_t i = last + 1; i < bins; ++i)
      n += c[i];
    return n / total;
  };
  int64_t last = bins - 1;
  switch (method) {
  case RangeMethod::MinMax:
    return {h.absMax(), 0};
  case RangeMethod::Percentile: {
    double need = percentile / 100.0 * total, cum = 0;
    for (last = 0; last < bins - 1; ++last) {
      cum += c[last];
      if (cum >= need)
        break;
    }
    break;
  }
  case RangeMethod::Mse: {
    // Tail sums from the top: count, sum of centers, sum of squared centers.
    std::vector<double> n(bins + 1, 0), s1(bins + 1, 0), s2(bins + 1, 0);
    for (int64_t i = bins - 1; i >= 0; --i) {
      double center = (double(i) + 0.5) * width;
      n[i] = n[i + 1] + c[i];
      s1[i] = s1[i + 1] + c[i] * center;
      s2[i] = s2[i + 1] + c[i] * center * center;
    }
    double best = INFINITY;
    for (int64_t i = 0; i < bins; ++i) {
      double t = double(i + 1) * width, step = t / 127.0;
      double clip = s2[i + 1] - 2 * t * s1[i + 1] + t * t * n[i + 1];
      double err = clip + (total - n[i + 1]) * step * step / 12.0;
      if (err < best) {
        best = err;
        last = i;
      }
    }
    break;
  }
  case RangeMethod::Entropy: {
    double best = INFINITY;
    for (int64_t edge = kLevels; edge <= bins; ++edge) {
      double kl = klAtEdge(c, edge);
      if (kl < best) {
        best = kl;
        last = edge - 1;
      }
    }
    break;
  }
  }
  double threshold = std::min(double(last + 1) * width, h.absMax());
  return {threshold, threshold < h.absMax() ? beyond(last) : 0};
}
