//===- QuantizeWeights.cpp - qcc-quantize-weights --------------------------===//
//
// Linear layers with constant weights become qcc.qlinear with integer
// weights, scales and zero points computed here at compile time. The
// arithmetic matches python/qcc/quant_ref.py (quantize_weight), float32
// throughout, so the reference reproduces the integers exactly.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/Passes.h"
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

/// One scale block (column n, rows [k0, k1)) at clipping ratio `ratio`:
/// fills q / scale / zp and returns the squared reconstruction error.
double quantizeBlock(const float *w, int64_t N, int64_t n, int64_t k0, int64_t k1,
                     unsigned bits, bool asym, float ratio, char *q, float &scale, char &zp) {
  float lo = 0, hi = 0;
  for (int64_t k = k0; k < k1; ++k) {
    lo = std::min(lo, w[k * N + n]);
    hi = std::max(hi, w[k * N + n]);
  }
  float qmin, qmax, s;
  int32_t z = 0;
  if (asym) {
    qmin = 0;
    qmax = float((1 << bits) - 1);
    lo *= ratio;
    hi *= ratio;
    s = (hi - lo) / qmax;
    if (s == 0)
      s = 1;
    z = (int32_t)std::min(qmax, std::max(qmin, std::nearbyint(-lo / s)));
  } else {
    qmax = float((1 << (bits - 1)) - 1);
    qmin = -qmax - 1;
    s = std::max(-lo, hi) * ratio / qmax;
    if (s == 0)
      s = 1;
  }
  double err = 0;
  for (int64_t k = k0; k < k1; ++k) {
    float v = w[k * N + n];
    float r = std::nearbyint(v / s) + float(z);
    int32_t iq = (int32_t)std::min(qmax, std::max(qmin, r));
    q[k * N + n] = (char)iq;
    double d = double(v) - double(float(iq - z) * s);
    err += d * d;
  }
  scale = s;
  zp = (char)z;
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

bool qcc::isQuantizableLinear(MatMulOp op) {
  DenseElementsAttr w;
  auto t = op.getRhs().getType();
  return t.getRank() == 2 && t.hasStaticShape() && t.getElementType().isF32() &&
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
    if (algo != "rtn" && algo != "mse") {
      getOperation().emitError() << "qcc-quantize-weights: unknown algo '" << algo
                                 << "' (rtn or mse)";
      return signalPassFailure();
    }
    if (act != "none" && act != "dynamic") {
      getOperation().emitError() << "qcc-quantize-weights: unknown act '" << act
                                 << "' (none or dynamic)";
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
      rewrite(op, index++);
  }

  static bool feedsReturn(Value v) {
    return llvm::any_of(v.getUsers(), [](Operation *u) { return isa<func::ReturnOp>(u); });
  }

  void rewrite(MatMulOp op, int64_t index) {
    MLIRContext *ctx = &getContext();
    DenseElementsAttr wAttr;
    matchPattern(op.getRhs(), m_Constant(&wAttr));
    auto wType = op.getRhs().getType();
    int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
    std::vector<float> w(wAttr.getValues<float>().begin(), wAttr.getValues<float>().end());

    // A constant [N] bias added right after is the layer's bias.
    AddOp biasAdd;
    Value bias;
    if (op->hasOneUse())
      if (auto add = dyn_cast<AddOp>(*op->getUsers().begin()))
        if (add.getType() == op.getType())
          for (Value other : {add.getLhs(), add.getRhs()}) {
            DenseElementsAttr b;
            auto bt = cast<RankedTensorType>(other.getType());
            if (other != op.getResult() && bt.getRank() == 1 && bt.getDimSize(0) == N &&
                matchPattern(other, m_Constant(&b))) {
              biasAdd = add;
              bias = other;
            }
          }
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
        return;
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
    bool asym = layerAsym;
    if (layerGroup >= K)
      layerGroup = 0;
    QuantizedWeight qw = quantizeWeight(w.data(), K, N, layerBits, layerGroup, asym,
                                        layerAlgo == "mse");
    int64_t G = layerGroup > 0 ? (K + layerGroup - 1) / layerGroup : 1;

    OpBuilder b(op);
    Location loc = op.getLoc();
    IntegerType storage = b.getIntegerType(layerBits);
    auto qType = RankedTensorType::get({K, N}, storage);
    Value q = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::getFromRawBuffer(qType, ArrayRef<char>(qw.q)));
    auto sType = layerGroup > 0 ? RankedTensorType::get({G, N}, b.getF32Type())
                                : RankedTensorType::get({N}, b.getF32Type());
    Value s = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(sType, ArrayRef<float>(qw.scale)));
    Value zp;
    if (asym)
      zp = b.create<arith::ConstantOp>(
          loc, DenseElementsAttr::getFromRawBuffer(
                   RankedTensorType::get(sType.getShape(), storage), ArrayRef<char>(qw.zp)));
    auto params = QuantParamsAttr::get(
        ctx, layerBits, /*isSigned=*/!asym,
        layerGroup > 0 ? Granularity::PerGroup : Granularity::PerAxis, layerGroup > 0 ? 0 : 1,
        layerGroup, /*isSymmetric=*/!asym, b.getF32Type());
    QuantParamsAttr actParams;
    if (act == "dynamic")
      actParams = QuantParamsAttr::get(ctx, 8, true, Granularity::PerAxis, 0, 0, true,
                                       b.getF32Type());
    auto lin = b.create<QLinearOp>(loc, cast<RankedTensorType>(result.getType()),
                                   op.getLhs(), q, s, zp, bias, params, actParams);
    std::string scheme = std::string(asym ? "u" : "s") + std::to_string(layerBits) +
                         (layerGroup > 0 ? " g" + std::to_string(layerGroup) : " per-channel") +
                         (act == "dynamic" ? ", int8 activations" : ", float activations");
    SmallVector<NamedAttribute> report{
        b.getNamedAttr("layer", b.getStringAttr(linearLayerName(op, index))),
        b.getNamedAttr("shape", b.getDenseI64ArrayAttr({K, N})),
        b.getNamedAttr("scheme", b.getStringAttr(scheme)),
        b.getNamedAttr("algo", b.getStringAttr(layerAlgo)),
        b.getNamedAttr("weight_sqnr_db", b.getF64FloatAttr(qw.sqnrDb))};
    if (!note.empty())
      report.push_back(b.getNamedAttr("note", b.getStringAttr(note)));
    lin->setAttr("qcc.quant_report", b.getDictionaryAttr(report));
    result.replaceAllUsesWith(lin.getResult());
    if (biasAdd)
      biasAdd.erase();
    op.erase();
  }
};

} // namespace
