//===- PackWeights.cpp - quantized weights in the kernels' tile layout ----===//
//
// Rewrites the constant integer weight of each qcc.qlinear the quantized
// kernels can run into a qcc.packed_constant holding the layout
// docs/Kernels.md defines: a header, then per tile of `nr` output columns
// and per group of K, the weights 4 deep per column (int4 as nibble pairs
// k | k+4 << 4), the group's scales and its zero points.
// Everything the kernel reads is in those bytes, so the scale and zero point
// constants fall away once the layer is lowered.
//
// The constant [K, N] weight of a qcc.qmatmul (ONNX MatMulInteger) is packed
// the same way for the int8 kernels' int32 variant: one group over all of K,
// the values stored minus their zero point, and each column's sum of them
// where the scales go. The kernels need those centered values in
// [-127, 127]; a weight with any outside keeps the reference lowering.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/Passes.h"
#include "qcc/Dialect/Qcc/Transforms/PatternUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"
#include "qcc/Dialect/Qcc/IR/QccOps.h"

namespace qcc {
#define GEN_PASS_DEF_QCCPACKWEIGHTS
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

using namespace mlir;
using namespace qcc;

namespace {
/// Field for field the runtime's qcc_rt_qweight (runtime/src/runtime.h).
constexpr int64_t kMagic = 0x31574351; // "QCW1"
constexpr int64_t kHeaderBytes = 64;
constexpr int64_t kF16Scales = 1; // QCC_RT_QWEIGHT_F16_SCALES
constexpr int64_t kIntSums = 2;   // QCC_RT_QWEIGHT_INT_SUMS

/// Byte of 8-bit weight (kg, c) within its block: 4 K-steps deep per column.
int64_t int8Offset(int64_t kg, int64_t c, int64_t nr) { return (kg / 4) * nr * 4 + c * 4 + kg % 4; }

void putI64(std::vector<char> &bytes, size_t at, int64_t v) {
  for (int i = 0; i < 8; ++i)
    bytes[at + i] = char(uint64_t(v) >> (8 * i));
}

struct PackWeights : qcc::impl::QccPackWeightsBase<PackWeights> {
  using Base::Base;

  void runOnOperation() override {
    if (layout.empty())
      return;
    if (nr < 1) {
      getOperation().emitError() << "qcc-pack-weights: nr must be positive, got " << nr;
      return signalPassFailure();
    }
    getOperation().walk([&](QLinearOp op) { pack(op); });
    getOperation().walk([&](QMatMulOp op) { pack(op); });
  }

  /// The packed constant replacing weight `w` of `op`.
  Value packedConstant(Operation *op, RankedTensorType wType, int64_t group,
                       QuantParamsAttr params, const std::vector<char> &bytes) {
    OpBuilder b(op);
    auto enc = PackedEncodingAttr::get(op->getContext(), layout, {group, nr}, params);
    auto packedType = RankedTensorType::get(wType.getShape(), wType.getElementType(), enc);
    auto dataType = RankedTensorType::get({int64_t(bytes.size())}, b.getI8Type());
    return b.create<PackedConstantOp>(op->getLoc(), packedType,
                                      DenseElementsAttr::getFromRawBuffer(dataType, bytes));
  }

  void pack(QMatMulOp op) {
    auto wType = op.getRhs().getType();
    auto aType = op.getLhs().getType();
    QuantParamsAttr params = op.getRhsParams();
    if (wType.getEncoding() || !wType.hasStaticShape() || wType.getRank() != 2 ||
        params.getBits() != 8 || op.getLhsParams().getBits() != 8 ||
        params.getScaleType().isF16())
      return;
    // The kernel takes one lhs zero point, or one per row of a 2-D lhs.
    if (Value z = op.getLhsZeroPoint()) {
      auto zType = cast<RankedTensorType>(z.getType());
      bool scalar = zType.getNumElements() == 1 && zType.getRank() <= 1;
      bool perRow = aType.getRank() == 2 && zType.getRank() == 1 &&
                    zType.getDimSize(0) == aType.getDimSize(0) && !zType.isDynamicDim(0);
      if (!scalar && !perRow)
        return;
    }
    int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
    auto centered =
        centeredInt8Weight(op.getRhs(), op.getRhsZeroPoint(), params.getIsSigned());
    if (!centered)
      return;

    int64_t group = llvm::alignTo(std::max<int64_t>(K, 1), 8);
    int64_t tiles = llvm::divideCeil(N, nr);
    int64_t sumsAt = group * nr;
    int64_t blockBytes = PackedEncodingAttr::getBlockBytes(K, group, nr, 8, 4);
    std::vector<char> bytes(kHeaderBytes + tiles * blockBytes, 0);
    int64_t header[] = {kMagic, 8, K, N, group, nr, kIntSums};
    for (auto [i, v] : llvm::enumerate(header))
      putI64(bytes, 8 * i, v);
    for (int64_t t = 0; t < tiles; ++t)
      for (int64_t c = 0; c < nr && t * nr + c < N; ++c) {
        size_t blk = kHeaderBytes + t * blockBytes;
        int32_t sum = 0;
        for (int64_t k = 0; k < K; ++k) {
          int64_t v = (*centered)[k * N + t * nr + c];
          bytes[blk + int8Offset(k, c, nr)] = char(v);
          sum += int32_t(v);
        }
        std::memcpy(&bytes[blk + sumsAt + 4 * c], &sum, 4);
        // And where every whole-K 8-bit block ends with them.
        std::memcpy(&bytes[blk + sumsAt + 4 * nr + nr + 4 * c], &sum, 4);
      }
    op.getRhsMutable().assign(packedConstant(op, wType, group, params, bytes));
  }

  void pack(QLinearOp op) {
    auto wType = op.getWeight().getType();
    if (wType.getEncoding() || !wType.hasStaticShape())
      return;
    QuantParamsAttr params = op.getWeightParams();
    unsigned bits = params.getBits();
    int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
    // Scale blocks along K: per group, or one covering all of K.
    int64_t group = 0;
    switch (params.getGranularity()) {
    case Granularity::PerGroup:
      group = params.getGroupSize();
      if (group % 8 != 0)
        return; // the kernels step through K 8 at a time
      break;
    case Granularity::PerAxis:
    case Granularity::PerTensor:
      group = llvm::alignTo(K, 8);
      break;
    }
    auto q = constantInts(op.getWeight(), params.getIsSigned());
    auto s = constantFloats(op.getWeightScale());
    if (!q || !s)
      return;
    std::vector<int64_t> zp;
    if (Value z = op.getWeightZeroPoint()) {
      auto v = constantInts(z, params.getIsSigned());
      if (!v)
        return;
      zp = std::move(*v);
    }
    if (bits != 4 && bits != 8)
      return;

    int64_t groups = llvm::divideCeil(K, group);
    int64_t tiles = llvm::divideCeil(N, nr);
    int64_t weightBytes = group * nr * bits / 8;
    // f16 scales stay f16: fewer bytes to stream, the same values.
    bool f16 = params.getScaleType().isF16();
    int64_t scaleBytes = f16 ? 2 : 4;
    int64_t zpAt = weightBytes + scaleBytes * nr;
    int64_t blockBytes = PackedEncodingAttr::getBlockBytes(K, group, nr, bits, scaleBytes);
    std::vector<char> bytes(kHeaderBytes + tiles * groups * blockBytes, 0);
    int64_t header[] = {kMagic, bits, K, N, group, nr, f16 ? kF16Scales : 0};
    for (auto [i, v] : llvm::enumerate(header))
      putI64(bytes, 8 * i, v);

    // Where the scale and zero point of (group g, column n) sit in their
    // constants.
    auto paramIndex = [&](int64_t g, int64_t n) -> int64_t {
      switch (params.getGranularity()) {
      case Granularity::PerGroup:
        return g * N + n;
      case Granularity::PerAxis:
        return n;
      case Granularity::PerTensor:
        return 0;
      }
      return 0;
    };
    // Stored values and zero points are offset so int4 is unsigned (nibbles)
    // and int8 signed (bytes the signed dot products take).
    int32_t offset = bits == 4 ? (params.getIsSigned() ? 8 : 0)
                               : (params.getIsSigned() ? 0 : -128);
    for (int64_t t = 0; t < tiles; ++t)
      for (int64_t g = 0; g < groups; ++g) {
        size_t blk = kHeaderBytes + (t * groups + g) * blockBytes;
        for (int64_t c = 0; c < nr; ++c) {
          int64_t n = t * nr + c;
          if (n >= N)
            continue;
          float sc = float((*s)[paramIndex(g, n)]);
          if (f16) {
            bool lost;
            APFloat h(sc);
            h.convert(APFloat::IEEEhalf(), APFloat::rmNearestTiesToEven, &lost);
            uint16_t v = uint16_t(h.bitcastToAPInt().getZExtValue());
            std::memcpy(&bytes[blk + weightBytes + 2 * c], &v, 2);
          } else {
            std::memcpy(&bytes[blk + weightBytes + 4 * c], &sc, 4);
          }
          int32_t z = int32_t(zp.empty() ? 0 : zp[paramIndex(g, n)]) + offset;
          bytes[blk + zpAt + c] = char(z);
          int32_t sum = 0;
          for (int64_t kg = 0; kg < group; ++kg) {
            int64_t k = g * group + kg;
            // Past K the weight equals the zero point: it dequantizes to 0.
            int32_t v = k < K ? int32_t((*q)[k * N + n]) + offset : z;
            if (bits == 8) {
              bytes[blk + int8Offset(kg, c, nr)] = char(v);
              sum += v;
            } else {
              size_t at = blk + (kg / 8) * nr * 4 + c * 4 + kg % 4;
              int shift = (kg % 8) / 4 * 4;
              bytes[at] = char((unsigned char)bytes[at] | ((v & 15) << shift));
            }
          }
          if (bits == 8 && groups == 1)
            std::memcpy(&bytes[blk + zpAt + nr + 4 * c], &sum, 4);
        }
      }

    op.getWeightMutable().assign(packedConstant(op, wType, group, params, bytes));
  }
};
} // namespace
