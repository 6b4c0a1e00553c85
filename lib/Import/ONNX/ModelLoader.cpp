//===- ModelLoader.cpp - read ONNX protobuf and tensor data ---------------===//
#include "ImporterImpl.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>

#include <cstring>
#include <limits>

using namespace mlir;

namespace qcc::onnx_import {

const char *dtypeName(int32_t dtype) {
  switch (dtype) {
  case kFloat: return "float";
  case kUInt8: return "uint8";
  case kInt8: return "int8";
  case kUInt16: return "uint16";
  case kInt16: return "int16";
  case kInt32: return "int32";
  case kInt64: return "int64";
  case kString: return "string";
  case kBool: return "bool";
  case kFloat16: return "float16";
  case kDouble: return "double";
  case kUInt32: return "uint32";
  case kUInt64: return "uint64";
  case kBFloat16: return "bfloat16";
  case kUInt4: return "uint4";
  case kInt4: return "int4";
  default: return "unsupported";
  }
}

bool isUnsignedDType(int32_t dtype) {
  return dtype == kUInt8 || dtype == kUInt16 || dtype == kUInt32 ||
         dtype == kUInt64 || dtype == kUInt4;
}

Type dtypeToType(MLIRContext *ctx, int32_t dtype) {
  Builder b(ctx);
  switch (dtype) {
  case kFloat: return b.getF32Type();
  case kFloat16: return b.getF16Type();
  case kBFloat16: return b.getBF16Type();
  case kDouble: return b.getF64Type();
  case kUInt8: case kInt8: return b.getIntegerType(8);
  case kUInt16: case kInt16: return b.getIntegerType(16);
  case kUInt32: case kInt32: return b.getIntegerType(32);
  case kUInt64: case kInt64: return b.getIntegerType(64);
  case kBool: return b.getI1Type();
  case kUInt4: case kInt4: return b.getIntegerType(4);
  default: return nullptr;
  }
}

/// Bytes per element in ONNX raw_data; 0 for sub-byte types.
static int64_t rawElementSize(int32_t dtype) {
  switch (dtype) {
  case kFloat: case kInt32: case kUInt32: return 4;
  case kFloat16: case kBFloat16: case kInt16: case kUInt16: return 2;
  case kDouble: case kInt64: case kUInt64: return 8;
  case kUInt8: case kInt8: case kBool: return 1;
  default: return 0;
  }
}

LogicalResult loadModel(StringRef path, onnx::ModelProto &model, Location loc) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return emitError(loc) << "cannot read ONNX model '" << path
                          << "': " << buffer.getError().message();
  StringRef data = (*buffer)->getBuffer();
  if (data.size() > (size_t)std::numeric_limits<int>::max())
    return emitError(loc) << "ONNX model '" << path
                          << "' is larger than 2 GiB; store its weights as "
                             "external data";
  google::protobuf::io::CodedInputStream stream(
      reinterpret_cast<const uint8_t *>(data.data()), (int)data.size());
  stream.SetRecursionLimit(256);
  if (!model.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
    return emitError(loc) << "'" << path
                          << "' is not a valid ONNX model (protobuf parse "
                             "failed: truncated or corrupt file)";
  if (!model.has_graph())
    return emitError(loc) << "ONNX model '" << path << "' has no graph";
  if (model.ir_version() < 3)
    return emitError(loc) << "ONNX model '" << path << "' has IR version "
                          << model.ir_version() << "; versions 3 and newer "
                          << "are supported";
  return success();
}

/// Resolves an external data location against the model directory, refusing
/// paths that leave it (as the ONNX checker does).
static FailureOr<std::string> resolveExternalPath(StringRef modelDir,
                                                  StringRef location,
                                                  StringRef tensorName,
                                                  Location loc) {
  if (location.empty() || llvm::sys::path::is_absolute(location))
    return emitError(loc) << "tensor '" << tensorName
                          << "': external data location '" << location
                          << "' must be a relative path",
           failure();
  for (auto it = llvm::sys::path::begin(location),
            e = llvm::sys::path::end(location);
       it != e; ++it)
    if (*it == "..")
      return emitError(loc) << "tensor '" << tensorName
                            << "': external data location '" << location
                            << "' leaves the model directory",
             failure();
  llvm::SmallString<256> full(modelDir);
  llvm::sys::path::append(full, location);
  return std::string(full);
}

static FailureOr<std::string> readExternalData(const onnx::TensorProto &t,
                                               StringRef modelDir,
                                               Location loc) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &kv : t.external_data()) {
    int64_t v = 0;
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset" || kv.key() == "length") {
      if (StringRef(kv.value()).getAsInteger(10, v) || v < 0)
        return emitError(loc) << "tensor '" << t.name() << "': external data "
                              << kv.key() << " '" << kv.value()
                              << "' is not a non-negative integer",
               failure();
      (kv.key() == "offset" ? offset : length) = v;
    }
  }
  FailureOr<std::string> path =
      resolveExternalPath(modelDir, location, t.name(), loc);
  if (failed(path))
    return failure();
  uint64_t fileSize = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(*path, fileSize))
    return emitError(loc) << "tensor '" << t.name()
                          << "': cannot open external data file '" << *path
                          << "': " << ec.message(),
           failure();
  if ((uint64_t)offset > fileSize ||
      (length >= 0 && (uint64_t)length > fileSize - offset))
    return emitError(loc) << "tensor '" << t.name() << "': external data range "
                          << "[offset " << offset << ", length "
                          << (length < 0 ? 0 : length) << "] is outside file '"
                          << *path << "' of " << fileSize << " bytes",
           failure();
  if (length < 0)
    length = fileSize - offset;
  auto buf = llvm::MemoryBuffer::getFileSlice(*path, length, offset,
                                              /*IsVolatile=*/false);
  if (!buf)
    return emitError(loc) << "tensor '" << t.name() << "': cannot read '"
                          << *path << "': " << buf.getError().message(),
           failure();
  return std::string((*buf)->getBuffer());
}

/// Converts the typed repeated fields of a TensorProto into raw_data layout.
static FailureOr<std::string> typedFieldsToRaw(const onnx::TensorProto &t,
                                               int64_t numElements,
                                               Location loc) {
  std::string raw;
  auto mismatch = [&](int64_t got) -> FailureOr<std::string> {
    return emitError(loc) << "tensor '" << t.name() << "' has " << got
                          << " values but its shape needs " << numElements,
           failure();
  };
  auto append = [&](const void *p, size_t n) {
    raw.append(reinterpret_cast<const char *>(p), n);
  };
  switch (t.data_type()) {
  case kFloat:
    if (t.float_data_size() != numElements)
      return mismatch(t.float_data_size());
    append(t.float_data().data(), 4 * numElements);
    return raw;
  case kDouble:
    if (t.double_data_size() != numElements)
      return mismatch(t.double_data_size());
    append(t.double_data().data(), 8 * numElements);
    return raw;
  case kInt64:
    if (t.int64_data_size() != numElements)
      return mismatch(t.int64_data_size());
    append(t.int64_data().data(), 8 * numElements);
    return raw;
  case kUInt32:
  case kUInt64: {
    if (t.uint64_data_size() != numElements)
      return mismatch(t.uint64_data_size());
    for (uint64_t v : t.uint64_data()) {
      if (t.data_type() == kUInt32) {
        uint32_t w = (uint32_t)v;
        append(&w, 4);
      } else {
        append(&v, 8);
      }
    }
    return raw;
  }
  case kInt4:
  case kUInt4: {
    // Two 4-bit values per int32_data entry, low nibble first.
    int64_t needed = (numElements + 1) / 2;
    if (t.int32_data_size() != needed)
      return mismatch(2 * (int64_t)t.int32_data_size());
    for (int32_t v : t.int32_data()) {
      char c = (char)(v & 0xff);
      append(&c, 1);
    }
    return raw;
  }
  case kInt32: case kInt16: case kUInt16: case kInt8: case kUInt8:
  case kBool: case kFloat16: case kBFloat16: {
    if (t.int32_data_size() != numElements)
      return mismatch(t.int32_data_size());
    int64_t size = rawElementSize(t.data_type());
    for (int32_t v : t.int32_data())
      append(&v, size); // little-endian truncation
    return raw;
  }
  default:
    return emitError(loc) << "tensor '" << t.name() << "' has unsupported "
                          << "data type " << dtypeName(t.data_type()) << " ("
                          << t.data_type() << ")",
           failure();
  }
}

FailureOr<LoadedTensor> decodeTensor(const onnx::TensorProto &t,
                                     StringRef modelDir, MLIRContext *ctx,
                                     Location loc) {
  LoadedTensor out;
  out.dtype = t.data_type();
  Type elt = dtypeToType(ctx, out.dtype);
  if (!elt)
    return emitError(loc) << "tensor '" << t.name() << "' has unsupported "
                          << "data type " << dtypeName(out.dtype) << " ("
                          << out.dtype << ")",
           failure();
  int64_t numElements = 1;
  for (int64_t d : t.dims()) {
    // Cap sizes well below overflow: 2^40 elements is beyond any real weight.
    if (d < 0 || d > (int64_t(1) << 40) ||
        (d != 0 && numElements > (int64_t(1) << 40) / d))
      return emitError(loc) << "tensor '" << t.name() << "' has invalid dim "
                            << d,
             failure();
    numElements *= d;
    out.shape.push_back(d);
  }

  std::string raw;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    FailureOr<std::string> data = readExternalData(t, modelDir, loc);
    if (failed(data))
      return failure();
    raw = std::move(*data);
  } else if (t.has_raw_data()) {
    raw = t.raw_data();
  } else {
    FailureOr<std::string> data = typedFieldsToRaw(t, numElements, loc);
    if (failed(data))
      return failure();
    raw = std::move(*data);
  }

  bool subByte = out.dtype == kInt4 || out.dtype == kUInt4;
  int64_t expectedBytes =
      subByte ? (numElements + 1) / 2 : numElements * rawElementSize(out.dtype);
  if ((int64_t)raw.size() != expectedBytes)
    return emitError(loc) << "tensor '" << t.name() << "' holds " << raw.size()
                          << " bytes but its shape and type ("
                          << dtypeName(out.dtype) << ") need " << expectedBytes,
           failure();

  auto type = RankedTensorType::get(out.shape, elt);
  if (subByte) {
    // MLIR stores each i4 element in its own byte (low bits).
    std::string bytes(numElements, '\0');
    for (int64_t i = 0; i < numElements; ++i) {
      uint8_t byte = (uint8_t)raw[i / 2];
      bytes[i] = (char)((i % 2) ? (byte >> 4) : (byte & 0xf));
    }
    out.value = DenseElementsAttr::getFromRawBuffer(
        type, ArrayRef<char>(bytes.data(), bytes.size()));
  } else if (out.dtype == kBool) {
    SmallVector<bool> vals;
    vals.reserve(numElements);
    for (char c : raw)
      vals.push_back(c != 0);
    out.value = DenseElementsAttr::get(type, vals);
  } else if (numElements == 0) {
    out.value = DenseElementsAttr::get(type, ArrayRef<Attribute>{});
  } else {
    ArrayRef<char> data(raw.data(), raw.size());
    out.value = DenseElementsAttr::getFromRawBuffer(type, data);
  }
  return out;
}

} // namespace qcc::onnx_import
