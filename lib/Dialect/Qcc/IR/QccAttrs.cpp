//===- QccAttrs.cpp - qcc attributes --------------------------------------===//
#include "qcc/Dialect/Qcc/IR/QccAttrs.h"
#include "qcc/Dialect/Qcc/IR/QccDialect.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace qcc;

#include "qcc/Dialect/Qcc/IR/QccEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "qcc/Dialect/Qcc/IR/QccAttrs.cpp.inc"

void QccDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "qcc/Dialect/Qcc/IR/QccAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// QuantParamsAttr
//===----------------------------------------------------------------------===//

Attribute QuantParamsAttr::parse(AsmParser &p, Type) {
  SMLoc loc = p.getCurrentLocation();
  StringRef storage;
  if (p.parseLess() || p.parseKeyword(&storage))
    return {};
  unsigned bits = 0;
  if (storage.size() < 2 || (storage[0] != 's' && storage[0] != 'u') ||
      storage.drop_front().getAsInteger(10, bits)) {
    p.emitError(loc, "expected storage 's<bits>' or 'u<bits>', got '")
        << storage << "'";
    return {};
  }
  bool isSigned = storage[0] == 's';

  StringRef granularityName;
  SMLoc granLoc = p.getCurrentLocation();
  if (p.parseComma() || p.parseKeyword(&granularityName))
    return {};
  std::optional<Granularity> granularity = symbolizeGranularity(granularityName);
  if (!granularity) {
    p.emitError(granLoc, "expected per_tensor, per_axis or per_group, got '")
        << granularityName << "'";
    return {};
  }
  int64_t axis = 0, groupSize = 0;
  if (*granularity == Granularity::PerAxis) {
    if (p.parseLParen() || p.parseInteger(axis) || p.parseRParen())
      return {};
  } else if (*granularity == Granularity::PerGroup) {
    if (p.parseLParen() || p.parseInteger(axis) || p.parseComma() ||
        p.parseInteger(groupSize) || p.parseRParen())
      return {};
  }

  bool symmetric = true;
  Type scaleType = Float32Type::get(p.getContext());
  while (succeeded(p.parseOptionalComma())) {
    StringRef key;
    SMLoc keyLoc = p.getCurrentLocation();
    if (p.parseKeyword(&key))
      return {};
    if (key == "asymmetric") {
      symmetric = false;
    } else if (key == "scale") {
      if (p.parseEqual() || p.parseType(scaleType))
        return {};
    } else {
      p.emitError(keyLoc, "unknown qparams option '") << key
          << "' (expected 'asymmetric' or 'scale')";
      return {};
    }
  }
  if (p.parseGreater())
    return {};
  return QuantParamsAttr::getChecked(
      [&]() { return p.emitError(loc); }, p.getContext(), bits, isSigned,
      *granularity, axis, groupSize, symmetric, scaleType);
}

void QuantParamsAttr::print(AsmPrinter &p) const {
  p << '<' << (getIsSigned() ? 's' : 'u') << getBits() << ", "
    << stringifyGranularity(getGranularity());
  if (getGranularity() == Granularity::PerAxis)
    p << '(' << getAxis() << ')';
  else if (getGranularity() == Granularity::PerGroup)
    p << '(' << getAxis() << ", " << getGroupSize() << ')';
  if (!getIsSymmetric())
    p << ", asymmetric";
  if (!getScaleType().isF32())
    p << ", scale = " << getScaleType();
  p << '>';
}

LogicalResult
QuantParamsAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        unsigned bits, bool isSigned, Granularity granularity,
                        int64_t axis, int64_t groupSize, bool isSymmetric,
                        Type scaleType) {
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
    return emitError() << "quantized storage must be 2, 3, 4 or 8 bits, got "
                       << bits;
  if (axis < 0)
    return emitError() << "quantization axis must be non-negative, got "
                       << axis;
  if (granularity == Granularity::PerGroup && groupSize <= 0)
    return emitError() << "per_group quantization needs a positive group "
                          "size, got "
                       << groupSize;
  if (granularity != Granularity::PerGroup && groupSize != 0)
    return emitError() << "group size is only meaningful for per_group";
  if (!scaleType.isF32() && !scaleType.isF16() && !scaleType.isBF16())
    return emitError() << "scale type must be f32, f16 or bf16, got "
                       << scaleType;
  return success();
}

IntegerType QuantParamsAttr::getStorageType() const {
  return IntegerType::get(getContext(), getBits());
}

int64_t QuantParamsAttr::getQMin() const {
  return getIsSigned() ? -(int64_t(1) << (getBits() - 1)) : 0;
}

int64_t QuantParamsAttr::getQMax() const {
  return getIsSigned() ? (int64_t(1) << (getBits() - 1)) - 1
                       : (int64_t(1) << getBits()) - 1;
}

FailureOr<SmallVector<int64_t>>
QuantParamsAttr::getScaleShape(ArrayRef<int64_t> shape) const {
  switch (getGranularity()) {
  case Granularity::PerTensor:
    return SmallVector<int64_t>{};
  case Granularity::PerAxis:
    if (getAxis() >= (int64_t)shape.size())
      return failure();
    return SmallVector<int64_t>{shape[getAxis()]};
  case Granularity::PerGroup: {
    if (getAxis() >= (int64_t)shape.size())
      return failure();
    SmallVector<int64_t> result(shape);
    int64_t &dim = result[getAxis()];
    if (!ShapedType::isDynamic(dim))
      dim = llvm::divideCeil(dim, getGroupSize());
    return result;
  }
  }
  llvm_unreachable("unknown granularity");
}

//===----------------------------------------------------------------------===//
// PackedEncodingAttr
//===----------------------------------------------------------------------===//

LogicalResult
PackedEncodingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                           StringRef layout, ArrayRef<int64_t> tile,
                           QuantParamsAttr params) {
  if (layout.empty())
    return emitError() << "packed encoding needs a layout name";
  if (tile.size() != 2)
    return emitError() << "packed tile must have 2 dims (group, columns), got "
                       << tile.size();
  for (int64_t t : tile)
    if (t <= 0)
      return emitError() << "packed tile dims must be positive";
  // The kernels step through K eight at a time (two 4-deep chunks).
  if (tile[0] % 8 != 0)
    return emitError() << "packed group (tile[0]) must be a multiple of 8, got " << tile[0];
  if (!params)
    return emitError() << "packed encoding needs quantization params";
  return success();
}

int64_t PackedEncodingAttr::getPackedByteSize(ArrayRef<int64_t> shape) const {
  assert(shape.size() == 2 && "packed weights are 2-D");
  int64_t group = getTile()[0], nr = getTile()[1];
  int64_t scaleBytes = getParams().getScaleType().isF16() ? 2 : 4;
  int64_t block = getBlockBytes(shape[0], group, nr, getParams().getBits(), scaleBytes);
  return 64 + llvm::divideCeil(shape[0], group) * llvm::divideCeil(shape[1], nr) * block;
}

int64_t PackedEncodingAttr::getBlockBytes(int64_t k, int64_t group, int64_t nr, int64_t bits,
                                          int64_t scaleBytes) {
  int64_t block = group * nr * bits / 8 + scaleBytes * nr + nr;
  // Smaller groups stay unpadded: there the padding would be a real share
  // of the bytes.
  if (llvm::divideCeil(k, group) != 1)
    return block;
  // 8-bit weights over all of K end with each column's int32 sum of its
  // stored bytes, which the AMX kernel would otherwise compute in a pass
  // over the tile before its row blocks.
  if (bits == 8)
    block += 4 * nr;
  // A block over all of K is a whole tile; padded, every tile starts on a
  // cache line, as the AMX kernel loads its tiles (a tile row across two
  // lines costs two loads).
  return llvm::alignTo(block, 64);
}
