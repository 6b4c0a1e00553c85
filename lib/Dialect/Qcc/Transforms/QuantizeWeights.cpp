//===- QuantizeWeights.cpp - qcc-quantize-weights --------------------------===//
//
// Linear layers with constant weights become qcc.qlinear with integer
// weights, scales and zero points computed here at compile time. The
// arithmetic matches python/qcc/quant_ref.py (quantize_weight), float32
// throughout, so the reference reproduces the integers exactly.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/Passes.h"
#include "qcc/Dialect/Qcc/Transforms/PatternUtils.h"
#include "qcc/Dialect/Qcc/Transforms/QuantReport.h"

#include "mlir/IR/Matchers.h"

#include <cmath>

namespace qcc {
#define GEN_PASS_DEF_QCCQUANTIZEWEIGHTS
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

using namespace mlir;
using namespace qcc;

namespace {

struct QuantizedWeight {
  std::vector<char> q;        // [K, N], one element per byte
  std::vector<float> scale;   // [G, N]
  std::vector<char> zp;       // [G, N] when asymmetric
  double sqnrDb = 0;
};

/// Integer range and scale / zero point of one scale block (column n, rows
/// [k0, k1)) at clipping ratio `ratio`.
struct BlockParams {
  float qmin, qmax, s;
  int32_t z = 0;
  int32_t quantize(float v) const {
    return (int32_t)std::min(qmax, std::max(qmin, std::nearbyint(v / s) + float(z)));
  }
  float dequantize(int32_t q) const { return float(q - z) * s; }
};

/// The integer range of a scheme, zero scale.
BlockParams intRange(unsigned bits, bool asym) {
  if (asym)
    return {0, float((1 << bits) - 1), 0};
  float qmax = float((1 << (bits - 1)) - 1);
  return {-qmax - 1, qmax, 0};
}

BlockParams blockParams(const float *w, int64_t N, int64_t n, int64_t k0, int64_t k1,
                        unsigned bits, bool asym, float ratio) {
  float lo = 0, hi = 0;
  for (int64_t k = k0; k < k1; ++k) {
    lo = std::min(lo, w[k * N + n]);
    hi = std::max(hi, w[k * N + n]);
  }
  BlockParams p = intRange(bits, asym);
  if (asym) {
    lo *= ratio;
    hi *= ratio;
    p.s = (hi - lo) / p.qmax;
    if (p.s == 0)
      p.s = 1;
    p.z = (int32_t)std::min(p.qmax, std::max(p.qmin, std::nearbyint(-lo / p.s)));
  } else {
    p.s = std::max(-lo, hi) * ratio / p.qmax;
    if (p.s == 0)
      p.s = 1;
  }
  return p;
}

/// Quantizes one scale block at clipping ratio `ratio`: fills q / scale /
/// zp and returns the squared reconstruction error.
double quantizeBlock(const float *w, int64_t N, int64_t n, int64_t k0, int64_t k1,
                     unsigned bits, bool asym, float ratio, char *q, float &scale, char &zp) {
  BlockParams p = blockParams(w, N, n, k0, k1, bits, asym, ratio);
  double err = 0;
  for (int64_t k = k0; k < k1; ++k) {
    float v = w[k * N + n];
    int32_t iq = p.quantize(v);
    q[k * N + n] = (char)iq;
    double d = double(v) - double(p.dequantize(iq));
    err += d * d;
  }
  scale = p.s;
  zp = (char)p.z;
  return err;
}

QuantizedWeight quantizeWeight(const float *w, int64_t K, int64_t N, unsigned bits,
                               int64_t group, bool asym, bool mse) {
  int64_t gs = group > 0 ? group : K, G = (K + gs - 1) / gs;
  QuantizedWeight r;
  r.q.assign(K * N, 0);
  r.scale.assign(G * N, 0);
  r.zp.assign(asym ? G * N : 0, 0);
  std::vector<char> trial(mse ? K * N : 0);
  double signal = 0, noise = 0;
  for (int64_t k = 0; k < K * N; ++k)
    signal += double(w[k]) * w[k];
  for (int64_t g = 0; g < G; ++g) {
    int64_t k0 = g * gs, k1 = std::min(K, k0 + gs);
    for (int64_t n = 0; n < N; ++n) {
      char z = 0;
      float s = 0;
      double best = quantizeBlock(w, N, n, k0, k1, bits, asym, 1.0f, r.q.data(), s, z);
      r.scale[g * N + n] = s;
      if (asym)
        r.zp[g * N + n] = z;
      for (int i = 1; mse && i <= 24; ++i) {
        float ts;
        char tz;
        double e = quantizeBlock(w, N, n, k0, k1, bits, asym, 1.0f - 0.02f * i,
                                 trial.data(), ts, tz);
        if (e < best) {
          best = e;
          r.scale[g * N + n] = ts;
          if (asym)
            r.zp[g * N + n] = tz;
          for (int64_t k = k0; k < k1; ++k)
            r.q[k * N + n] = trial[k * N + n];
        }
      }
      noise += best;
    }
  }
  r.sqnrDb = noise == 0 ? INFINITY : 10 * std::log10(signal / noise);
  return r;
}

/// In-place lower Cholesky factor of a symmetric positive definite K x K
/// matrix; false if it is not positive definite.
bool cholesky(std::vector<double> &a, int64_t K) {
  for (int64_t j = 0; j < K; ++j) {
    double d = a[j * K + j];
    for (int64_t p = 0; p < j; ++p)
      d -= a[j * K + p] * a[j * K + p];
    if (!(d > 0))
      return false;
    d = std::sqrt(d);
    a[j * K + j] = d;
    for (int64_t i = j + 1; i < K; ++i) {
      double v = a[i * K + j];
      for (int64_t p = 0; p < j; ++p)
        v -= a[i * K + p] * a[j * K + p];
      a[i * K + j] = v / d;
    }
    for (int64_t i = 0; i < j; ++i)
      a[i * K + j] = 0;
  }
  return true;
}

/// GPTQ: quantizes the rows of W (input features) one at a time, in order of
/// decreasing Hessian diagonal, each with its group's scale, and spreads each
/// row's rounding error over the rows not yet quantized through the inverse
/// Hessian's upper Cholesky factor, so the layer's output on the calibration
/// inputs changes least. H = X^T X / n gets `damp` times its mean diagonal
/// added; inputs never active are zeroed.
std::optional<QuantizedWeight> gptqWeight(const float *w0, int64_t K, int64_t N,
                                          unsigned bits, int64_t group, bool asym,
                                          ArrayRef<float> hessian, double damp) {
  std::vector<double> h(hessian.begin(), hessian.end());
  std::vector<float> w(w0, w0 + K * N);
  double mean = 0;
  for (int64_t i = 0; i < K; ++i)
    mean += h[i * K + i];
  mean /= K;
  for (int64_t i = 0; i < K; ++i) {
    if (h[i * K + i] == 0) {
      h[i * K + i] = 1;
      std::fill(w.begin() + i * N, w.begin() + (i + 1) * N, 0.0f);
    }
    h[i * K + i] += damp * (mean > 0 ? mean : 1);
  }
  int64_t gs = group > 0 ? group : K;
  // Scales per group from the weights before any update ("static groups",
  // so rows can be taken in any order), each range chosen by the clipping
  // search; the rows' integers are replaced below.
  QuantizedWeight r = quantizeWeight(w.data(), K, N, bits, group, asym, /*mse=*/true);
  std::vector<BlockParams> params(r.scale.size(), intRange(bits, asym));
  for (size_t i = 0; i < params.size(); ++i) {
    params[i].s = r.scale[i];
    params[i].z = asym ? int32_t((unsigned char)r.zp[i]) : 0;
  }
  // Rows by decreasing Hessian diagonal: the inputs with the most energy
  // are quantized first, while the most rows remain to absorb their error.
  std::vector<int64_t> order(K);
  for (int64_t i = 0; i < K; ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    double da = h[a * K + a], db = h[b * K + b];
    return da > db || (da == db && a < b);
  });
  {
    std::vector<double> hp(K * K);
    std::vector<float> wp(K * N);
    for (int64_t i = 0; i < K; ++i) {
      for (int64_t j = 0; j < K; ++j)
        hp[i * K + j] = h[order[i] * K + order[j]];
      std::copy(w.begin() + order[i] * N, w.begin() + (order[i] + 1) * N, wp.begin() + i * N);
    }
    h.swap(hp);
    w.swap(wp);
  }
  // U with H^-1 = U^T U: Cholesky of H, invert the factor, form H^-1,
  // factor again.
  if (!cholesky(h, K))
    return std::nullopt;
  std::vector<double> linv(K * K, 0.0);
  for (int64_t j = 0; j < K; ++j) {
    linv[j * K + j] = 1 / h[j * K + j];
    for (int64_t i = j + 1; i < K; ++i) {
      double v = 0;
      for (int64_t p = j; p < i; ++p)
        v -= h[i * K + p] * linv[p * K + j];
      linv[i * K + j] = v / h[i * K + i];
    }
  }
  std::vector<double> hinv(K * K, 0.0);
  for (int64_t p = 0; p < K; ++p)
    for (int64_t i = 0; i <= p; ++i) {
      double li = linv[p * K + i];
      if (li == 0)
        continue;
      for (int64_t j = 0; j <= i; ++j)
        hinv[i * K + j] += li * linv[p * K + j];
    }
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = i + 1; j < K; ++j)
      hinv[i * K + j] = hinv[j * K + i];
  if (!cholesky(hinv, K))
    return std::nullopt;
  // hinv now holds L2 with H^-1 = L2 L2^T; U = L2^T, so U[k][j] = L2[j][k].
  std::vector<float> err(N);
  for (int64_t k = 0; k < K; ++k) {
    int64_t row = order[k];
    const BlockParams *p = &params[(row / gs) * N];
    double d = hinv[k * K + k];
    for (int64_t n = 0; n < N; ++n) {
      float v = w[k * N + n];
      int32_t q = p[n].quantize(v);
      r.q[row * N + n] = (char)q;
      err[n] = float((double(v) - p[n].dequantize(q)) / d);
    }
    for (int64_t j = k + 1; j < K; ++j) {
      float u = float(hinv[j * K + k]);
      float *row = &w[j * N];
      for (int64_t n = 0; n < N; ++n)
        row[n] -= u * err[n];
    }
  }
  return r;
}

/// Activation-aware scaling (AWQ): input row k of the weight is multiplied
/// by s_k = a_k^alpha, a_k = sqrt(H_kk) the input's RMS on the calibration
/// set, and the activation divided by s_k, so the inputs that carry the most
/// signal get the finest steps of their groups. alpha comes from a grid
/// (0, 0.1, ..., 1; 0 is plain quantization) by the output error
/// sum_k H_kk sum_n (w - dq / s_k)^2, each candidate quantized with the
/// clipping search; s is normalized to geometric mean 1 of its extremes.
struct AwqWeight {
  QuantizedWeight q;
  std::vector<float> s; // [K]
  float alpha = 0;
};

AwqWeight awqWeight(const float *w, int64_t K, int64_t N, unsigned bits, int64_t group,
                    bool asym, ArrayRef<float> h) {
  std::vector<double> rms(K);
  for (int64_t k = 0; k < K; ++k)
    rms[k] = std::sqrt(std::max(0.0f, h[k * K + k]));
  double floor = 0;
  for (double v : rms)
    floor = std::max(floor, v);
  floor = floor > 0 ? floor * 1e-4 : 1; // inputs never active keep a finite scale
  int64_t gs = group > 0 ? group : K;
  AwqWeight best;
  double bestErr = INFINITY;
  std::vector<float> scaled(K * N), s(K);
  for (int step = 0; step <= 10; ++step) {
    float alpha = 0.1f * step;
    float lo = INFINITY, hi = 0;
    for (int64_t k = 0; k < K; ++k) {
      s[k] = float(std::pow(std::max(rms[k], floor), double(alpha)));
      lo = std::min(lo, s[k]);
      hi = std::max(hi, s[k]);
    }
    float norm = std::sqrt(lo * hi);
    for (int64_t k = 0; k < K; ++k) {
      s[k] /= norm;
      for (int64_t n = 0; n < N; ++n)
        scaled[k * N + n] = w[k * N + n] * s[k];
    }
    QuantizedWeight q = quantizeWeight(scaled.data(), K, N, bits, group, asym, /*mse=*/true);
    double err = 0;
    for (int64_t k = 0; k < K; ++k) {
      double rowErr = 0;
      int64_t g = k / gs;
      for (int64_t n = 0; n < N; ++n) {
        int32_t iq = asym ? int32_t((unsigned char)q.q[k * N + n]) : int32_t(q.q[k * N + n]);
        int32_t z = asym ? int32_t((unsigned char)q.zp[g * N + n]) : 0;
        double d = double(w[k * N + n]) - double(float(iq - z) * q.scale[g * N + n]) / s[k];
        rowErr += d * d;
      }
      err += double(h[k * K + k]) * rowErr;
    }
    if (err < bestErr) {
      bestErr = err;
      best.q = std::move(q);
      best.s = s;
      best.alpha = alpha;
    }
  }
  return best;
}

/// 10 log10(tr(W^T H W) / tr(D^T H D)), D = W - dequantized weight: the
/// layer output's signal to noise ratio on the calibration inputs.
double outputSqnrDb(const float *w, const std::vector<float> &dq, int64_t K, int64_t N,
                    ArrayRef<float> h) {
  double signal = 0, noise = 0;
  std::vector<double> hw(N), hd(N);
  for (int64_t a = 0; a < K; ++a) {
    std::fill(hw.begin(), hw.end(), 0.0);
    std::fill(hd.begin(), hd.end(), 0.0);
    for (int64_t b = 0; b < K; ++b) {
      double hab = h[a * K + b];
      if (hab == 0)
        continue;
      for (int64_t n = 0; n < N; ++n) {
        hw[n] += hab * w[b * N + n];
        hd[n] += hab * (double(w[b * N + n]) - dq[b * N + n]);
      }
    }
    for (int64_t n = 0; n < N; ++n) {
      signal += double(w[a * N + n]) * hw[n];
      noise += (double(w[a * N + n]) - dq[a * N + n]) * hd[n];
    }
  }
  return noise <= 0 ? INFINITY : 10 * std::log10(signal / noise);
}


} // namespace

std::string qcc::linearLayerName(Operation *op, int64_t index) {
  Location loc = op->getLoc();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location l : fused.getLocations())
      if (isa<NameLoc>(l)) {
        loc = l;
        break;
      }
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  return "linear_" + std::to_string(index);
}

AddOp qcc::linearBiasAdd(MatMulOp op) {
  if (!op->hasOneUse())
    return {};
  auto add = dyn_cast<AddOp>(*op->getUsers().begin());
  if (!add || add.getType() != op.getType())
    return {};
  int64_t n = op.getType().getShape().back();
  for (Value other : {add.getLhs(), add.getRhs()}) {
    auto bt = cast<RankedTensorType>(other.getType());
    if (other != op.getResult() && bt.getRank() == 1 && bt.getDimSize(0) == n &&
        !ShapedType::isDynamic(n) && matchPattern(other, m_Constant()))
      return add;
  }
  return {};
}

bool qcc::isQuantizableLinear(MatMulOp op) {
  DenseElementsAttr w;
  auto t = op.getRhs().getType();
  Type elt = t.getElementType();
  return t.getRank() == 2 && t.hasStaticShape() && (elt.isF32() || elt.isF16() || elt.isBF16()) &&
         op.getLhs().getType().getRank() >= 1 && matchPattern(op.getRhs(), m_Constant(&w));
}

namespace {

struct QuantizeWeights : qcc::impl::QccQuantizeWeightsBase<QuantizeWeights> {
  using Base::Base;

  void runOnOperation() override {
    if (bits != 4 && bits != 8) {
      getOperation().emitError() << "qcc-quantize-weights: bits must be 4 or 8, got "
                                 << static_cast<unsigned>(bits);
      return signalPassFailure();
    }
    if (algo != "rtn" && algo != "mse" && algo != "gptq" && algo != "awq") {
      getOperation().emitError() << "qcc-quantize-weights: unknown algo '" << algo
                                 << "' (rtn, mse, gptq or awq)";
      return signalPassFailure();
    }
    if (!(damp > 0) || !std::isfinite(double(damp))) {
      getOperation().emitError() << "qcc-quantize-weights: damp must be a positive number, got "
                                 << double(damp);
      return signalPassFailure();
    }
    if (act != "none" && act != "dynamic" && act != "static") {
      getOperation().emitError() << "qcc-quantize-weights: unknown act '" << act
                                 << "' (none, dynamic or static)";
      return signalPassFailure();
    }
    if (scaleType != "f32" && scaleType != "f16") {
      getOperation().emitError() << "qcc-quantize-weights: unknown scale-type '" << scaleType
                                 << "' (f32 or f16)";
      return signalPassFailure();
    }
    if (group < 0) {
      getOperation().emitError() << "qcc-quantize-weights: group must be >= 0";
      return signalPassFailure();
    }
    SmallVector<MatMulOp> linears;
    getOperation().walk([&](MatMulOp op) {
      if (isQuantizableLinear(op))
        linears.push_back(op);
    });
    int64_t index = 0;
    for (MatMulOp op : linears)
      if (failed(rewrite(op, index++)))
        return signalPassFailure();
  }

  static bool feedsReturn(Value v) {
    return llvm::any_of(v.getUsers(), [](Operation *u) { return isa<func::ReturnOp>(u); });
  }

  LogicalResult rewrite(MatMulOp op, int64_t index) {
    MLIRContext *ctx = &getContext();
    auto wType = op.getRhs().getType();
    int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
    std::vector<double> wide = *constantFloats(op.getRhs());
    std::vector<float> w(wide.begin(), wide.end());

    AddOp biasAdd = linearBiasAdd(op);
    Value bias;
    if (biasAdd)
      bias = biasAdd.getLhs() == op.getResult() ? biasAdd.getRhs() : biasAdd.getLhs();
    Value result = biasAdd ? biasAdd.getResult() : op.getResult();
    unsigned layerBits = bits;
    int64_t layerGroup = group;
    bool layerAsym = asym;
    std::string layerAlgo = algo;
    std::string note;
    if (feedsReturn(result) && bits < 8) {
      layerBits = 8;
      layerGroup = 0;
      note = "kept at 8 bits per channel: feeds a model output";
    }
    // Per-layer settings from a recipe override the pass options.
    if (auto o = op->getAttrOfType<DictionaryAttr>("qcc.quant_override")) {
      auto rule = o.getAs<StringAttr>("rule");
      note = rule ? ("set by recipe rule " + rule.getValue()).str() : "set by recipe";
      if (o.get("float")) {
        op->setAttr("qcc.quant_report",
                    OpBuilder(op).getDictionaryAttr(
                        {NamedAttribute(StringAttr::get(ctx, "layer"),
                                        StringAttr::get(ctx, linearLayerName(op, index))),
                         NamedAttribute(StringAttr::get(ctx, "shape"),
                                        DenseI64ArrayAttr::get(ctx, {K, N})),
                         NamedAttribute(StringAttr::get(ctx, "scheme"),
                                        StringAttr::get(ctx, "float")),
                         NamedAttribute(StringAttr::get(ctx, "note"),
                                        StringAttr::get(ctx, note))}));
        op->removeAttr("qcc.quant_override");
        return success();
      }
      if (auto v = o.getAs<IntegerAttr>("bits"))
        layerBits = v.getInt();
      if (auto v = o.getAs<IntegerAttr>("group"))
        layerGroup = v.getInt();
      if (auto v = o.getAs<BoolAttr>("asym"))
        layerAsym = v.getValue();
      if (auto v = o.getAs<StringAttr>("algo"))
        layerAlgo = v.getValue().str();
    }
    if (layerGroup >= K)
      layerGroup = 0;
    std::string name = linearLayerName(op, index);
    std::vector<float> hessian;
    if (auto h = op->getAttrOfType<DenseElementsAttr>("qcc.calib_hessian")) {
      hessian.assign(h.getValues<float>().begin(), h.getValues<float>().end());
      op->removeAttr("qcc.calib_hessian");
    }
    QuantizedWeight qw;
    std::vector<float> awqScale; // AWQ: the per-input weight multipliers
    float awqAlpha = 0;
    if (layerAlgo == "awq") {
      if (hessian.size() != size_t(K * K)) {
        op->emitError() << "layer '" << name
                        << "': awq needs the calibration statistics of its input (--calib)";
        return failure();
      }
      AwqWeight a = awqWeight(w.data(), K, N, layerBits, layerGroup, layerAsym, hessian);
      qw = std::move(a.q);
      awqScale = std::move(a.s);
      awqAlpha = a.alpha;
    } else if (layerAlgo == "gptq") {
      if (hessian.size() != size_t(K * K)) {
        op->emitError() << "layer '" << name
                        << "': gptq needs the calibration statistics of its input (--calib)";
        return failure();
      }
      auto g = gptqWeight(w.data(), K, N, layerBits, layerGroup, layerAsym, hessian, damp);
      if (!g) {
        op->emitError() << "layer '" << name
                        << "': the calibration Hessian is not positive definite";
        return failure();
      }
      qw = std::move(*g);
    } else {
      qw = quantizeWeight(w.data(), K, N, layerBits, layerGroup, layerAsym, layerAlgo == "mse");
    }
    int64_t G = layerGroup > 0 ? (K + layerGroup - 1) / layerGroup : 1;
    // The weight the layer computes with, for the error figures.
    // f16 scales: the stored value is the one dequantization uses.
    SmallVector<APFloat> halves;
    if (scaleType == "f16")
      for (float &sc : qw.scale) {
        bool lost;
        APFloat h(sc);
        h.convert(APFloat::IEEEhalf(), APFloat::rmNearestTiesToEven, &lost);
        if (!h.isFiniteNonZero())
          return op.emitError() << "layer '" << name << "': weight scale " << sc
                                << " does not fit f16 (--scale-type=f32 keeps it)";
        halves.push_back(h);
        h.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
        sc = h.convertToFloat();
      }
    std::vector<float> dq(K * N);
    double signal = 0, noise = 0;
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) {
        int64_t g = layerGroup > 0 ? k / layerGroup : 0;
        int32_t q = layerAsym ? int32_t((unsigned char)qw.q[k * N + n]) : int32_t(qw.q[k * N + n]);
        int32_t z = layerAsym ? int32_t((unsigned char)qw.zp[g * N + n]) : 0;
        dq[k * N + n] = float(q - z) * qw.scale[g * N + n];
        if (!awqScale.empty())
          dq[k * N + n] /= awqScale[k];
        double d = double(w[k * N + n]) - dq[k * N + n];
        signal += double(w[k * N + n]) * w[k * N + n];
        noise += d * d;
      }
    qw.sqnrDb = noise == 0 ? INFINITY : 10 * std::log10(signal / noise);

    OpBuilder b(op);
    Location loc = op.getLoc();
    IntegerType storage = b.getIntegerType(layerBits);
    auto qType = RankedTensorType::get({K, N}, storage);
    Value q = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::getFromRawBuffer(qType, ArrayRef<char>(qw.q)));
    Type scaleElt = scaleType == "f16" ? Type(b.getF16Type()) : Type(b.getF32Type());
    auto sType = layerGroup > 0 ? RankedTensorType::get({G, N}, scaleElt)
                                : RankedTensorType::get({N}, scaleElt);
    Value s = b.create<arith::ConstantOp>(
        loc, scaleType == "f16" ? DenseElementsAttr::get(sType, halves)
                                : DenseElementsAttr::get(sType, ArrayRef<float>(qw.scale)));
    Value zp;
    if (layerAsym)
      zp = b.create<arith::ConstantOp>(
          loc, DenseElementsAttr::getFromRawBuffer(
                   RankedTensorType::get(sType.getShape(), storage), ArrayRef<char>(qw.zp)));
    auto params = QuantParamsAttr::get(
        ctx, layerBits, /*isSigned=*/!layerAsym,
        layerGroup > 0 ? Granularity::PerGroup : Granularity::PerAxis, layerGroup > 0 ? 0 : 1,
        layerGroup, /*isSymmetric=*/!layerAsym, scaleElt);
    QuantParamsAttr actParams;
    FloatAttr actScale;
    double actAbsMax = 0, actRange = 0, actClipped = 0;
    if (act != "none")
      actParams = QuantParamsAttr::get(ctx, 8, true, Granularity::PerAxis, 0, 0, true,
                                       b.getF32Type());
    if (act == "static" && !awqScale.empty())
      return op.emitError() << "layer '" << name
                            << "': awq rescales the activations, so their calibrated static "
                               "range no longer applies (use --act=dynamic)";
    if (act == "static") {
      // One scale for every row, from the range the calibration chose
      // (its largest |x| when no method chose one).
      auto absMax = op->getAttrOfType<FloatAttr>("qcc.calib_absmax");
      if (!absMax)
        return op.emitError() << "layer '" << name
                              << "': static activation scales need calibration statistics "
                                 "(--calib)";
      actAbsMax = actRange = absMax.getValueAsDouble();
      if (auto r = op->getAttrOfType<FloatAttr>("qcc.calib_range"))
        actRange = r.getValueAsDouble();
      if (auto c = op->getAttrOfType<FloatAttr>("qcc.calib_clipped"))
        actClipped = c.getValueAsDouble();
      actScale = b.getF32FloatAttr(actRange > 0 ? float(actRange) / 127.0f : 1.0f);
    }
    Value input = op.getLhs();
    // f16 / bf16 layers run on the f32 kernels: casts in and out (exact
    // widening; the output rounds once to the model's type).
    auto resultType = cast<RankedTensorType>(result.getType());
    bool widen = !resultType.getElementType().isF32();
    if (widen) {
      auto f32Of = [&](Value v) {
        return b.create<CastOp>(loc, cast<RankedTensorType>(v.getType()).clone(b.getF32Type()), v)
            .getResult();
      };
      input = f32Of(input);
      if (std::optional<std::vector<double>> c = bias ? constantFloats(bias) : std::nullopt) {
        std::vector<float> f(c->begin(), c->end());
        bias = b.create<arith::ConstantOp>(
            loc, DenseElementsAttr::get(
                     cast<RankedTensorType>(bias.getType()).clone(b.getF32Type()),
                     ArrayRef<float>(f)));
      } else if (bias) {
        bias = f32Of(bias);
      }
    }
    if (!awqScale.empty()) {
      // The activation takes the inverse of the weight's input scaling.
      std::vector<float> inv(K);
      for (int64_t k = 0; k < K; ++k)
        inv[k] = 1.0f / awqScale[k];
      Value c = b.create<arith::ConstantOp>(
          loc, DenseElementsAttr::get(RankedTensorType::get({K}, b.getF32Type()),
                                      ArrayRef<float>(inv)));
      input = b.create<MulOp>(loc, input.getType(), input, c);
    }
    auto lin = b.create<QLinearOp>(loc, resultType.clone(b.getF32Type()), input, q, s, zp, bias,
                                   /*residual=*/Value(), params, actParams, actScale);
    std::string scheme = std::string(layerAsym ? "u" : "s") + std::to_string(layerBits) +
                         (layerGroup > 0 ? " g" + std::to_string(layerGroup) : " per-channel") +
                         (act == "dynamic"  ? ", int8 activations"
                          : act == "static" ? ", int8 static activations"
                                            : ", float activations");
    SmallVector<NamedAttribute> report{
        b.getNamedAttr("layer", b.getStringAttr(name)),
        b.getNamedAttr("shape", b.getDenseI64ArrayAttr({K, N})),
        b.getNamedAttr("scheme", b.getStringAttr(scheme)),
        b.getNamedAttr("algo", b.getStringAttr(layerAlgo)),
        b.getNamedAttr("weight_sqnr_db", b.getF64FloatAttr(qw.sqnrDb))};
    if (!awqScale.empty())
      report.push_back(b.getNamedAttr("awq_alpha", b.getF64FloatAttr(awqAlpha)));
    if (!hessian.empty())
      report.push_back(b.getNamedAttr(
          "output_sqnr_db", b.getF64FloatAttr(outputSqnrDb(w.data(), dq, K, N, hessian))));
    if (actScale) {
      report.push_back(b.getNamedAttr("act_absmax", b.getF64FloatAttr(actAbsMax)));
      report.push_back(b.getNamedAttr("act_range", b.getF64FloatAttr(actRange)));
      report.push_back(b.getNamedAttr("act_clipped", b.getF64FloatAttr(actClipped)));
      report.push_back(b.getNamedAttr("act_scale", b.getF64FloatAttr(actScale.getValueAsDouble())));
    }
    if (!note.empty())
      report.push_back(b.getNamedAttr("note", b.getStringAttr(note)));
    lin->setAttr("qcc.quant_report", b.getDictionaryAttr(report));
    Value out = lin.getResult();
    if (widen) {
      b.setInsertionPointAfter(lin);
      out = b.create<CastOp>(loc, resultType, out);
    }
    result.replaceAllUsesWith(out);
    if (biasAdd)
      biasAdd.erase();
    op.erase();
    return success();
  }
};

} // namespace
