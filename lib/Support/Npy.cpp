//===- Npy.cpp - numpy .npy and .npz files ---------------------------------===//
#include "qcc/Support/Npy.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace {
struct DtypeInfo {
  int32_t onnx;
  const char *descr;
  size_t size;
};
const DtypeInfo kDtypes[] = {{1, "<f4", 4}, {2, "|u1", 1}, {3, "|i1", 1}, {4, "<u2", 2},
                             {5, "<i2", 2}, {6, "<i4", 4}, {7, "<i8", 8}, {9, "|b1", 1},
                             {10, "<f2", 2}, {11, "<f8", 8}, {12, "<u4", 4}, {13, "<u8", 8}};

const DtypeInfo *byOnnx(int32_t d) {
  for (auto &x : kDtypes)
    if (x.onnx == d)
      return &x;
  return nullptr;
}

Error err(const Twine &msg) { return createStringError(inconvertibleErrorCode(), msg); }
} // namespace

Expected<qcc::NpyArray> qcc::parseNpy(StringRef s, StringRef what) {
  if (!s.starts_with("\x93NUMPY") || s.size() < 10)
    return err("'" + what + "' is not a .npy file");
  uint8_t major = s[6];
  size_t hlen, off;
  if (major == 1) {
    hlen = uint8_t(s[8]) | (uint8_t(s[9]) << 8);
    off = 10;
  } else {
    if (s.size() < 12)
      return err("'" + what + "' is truncated");
    hlen = uint8_t(s[8]) | (uint8_t(s[9]) << 8) | (uint8_t(s[10]) << 16) |
           (size_t(uint8_t(s[11])) << 24);
    off = 12;
  }
  if (off + hlen > s.size())
    return err("'" + what + "' is truncated");
  StringRef header = s.substr(off, hlen);
  NpyArray npy;
  auto field = [&](StringRef key) -> std::optional<StringRef> {
    size_t k = header.find(key);
    if (k == StringRef::npos)
      return std::nullopt;
    return header.drop_front(k + key.size()).ltrim(" :");
  };
  auto descrField = field("'descr'");
  auto orderField = field("'fortran_order'");
  auto shapeField = field("'shape'");
  if (!descrField || !orderField || !shapeField)
    return err("'" + what + "': malformed .npy header");
  StringRef descr = descrField->drop_front(1).take_until([](char c) { return c == '\''; });
  const DtypeInfo *info = nullptr;
  for (auto &x : kDtypes)
    if (descr == x.descr || (descr.size() == 3 && descr.substr(1) == StringRef(x.descr).substr(1) &&
                             descr[0] == '|'))
      info = &x;
  if (!info)
    return err("'" + what + "': unsupported dtype " + descr);
  if (orderField->starts_with("True"))
    return err("'" + what + "': Fortran-ordered arrays are not supported");
  StringRef shape = shapeField->drop_front(1).take_until([](char c) { return c == ')'; });
  SmallVector<StringRef> parts;
  shape.split(parts, ',', -1, false);
  size_t n = 1;
  for (StringRef p : parts) {
    p = p.trim();
    if (p.empty())
      continue;
    int64_t d;
    if (p.getAsInteger(10, d) || d < 0)
      return err("'" + what + "': bad shape");
    npy.shape.push_back(d);
    n *= d;
  }
  npy.dtype = info->onnx;
  size_t bytes = n * info->size;
  if (s.size() - off - hlen < bytes)
    return err("'" + what + "' holds less data than its shape needs");
  npy.data.assign(s.begin() + off + hlen, s.begin() + off + hlen + bytes);
  return npy;
}

Expected<qcc::NpyArray> qcc::readNpy(StringRef path) {
  auto buf = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return err("cannot read '" + path + "': " + buf.getError().message());
  return parseNpy((*buf)->getBuffer(), path);
}

Error qcc::writeNpy(StringRef path, int32_t dtype, ArrayRef<int64_t> shape, const void *data) {
  const DtypeInfo *info = byOnnx(dtype);
  if (!info)
    return err("cannot write dtype " + Twine(dtype));
  std::string header = "{'descr': '" + std::string(info->descr) + "', 'fortran_order': False, 'shape': (";
  size_t n = 1;
  for (int64_t d : shape) {
    header += std::to_string(d) + ", ";
    n *= d;
  }
  if (shape.size() > 1)
    header.erase(header.size() - 1);
  header += "), }";
  while ((10 + header.size() + 1) % 64)
    header += ' ';
  header += '\n';
  std::error_code ec;
  raw_fd_ostream os(path, ec, sys::fs::OF_None);
  if (ec)
    return err("cannot write '" + path + "': " + ec.message());
  os << "\x93NUMPY" << char(1) << char(0) << char(header.size() & 0xff)
     << char(header.size() >> 8) << header;
  os.write(static_cast<const char *>(data), n * info->size);
  return Error::success();
}

Expected<std::vector<std::pair<std::string, qcc::NpyArray>>> qcc::readNpz(StringRef path) {
  auto buf = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return err("cannot read '" + path + "': " + buf.getError().message());
  StringRef s = (*buf)->getBuffer();
  auto u16 = [&](size_t o) { return uint32_t(uint8_t(s[o])) | uint32_t(uint8_t(s[o + 1])) << 8; };
  auto u32 = [&](size_t o) { return u16(o) | u16(o + 2) << 16; };
  std::vector<std::pair<std::string, NpyArray>> out;
  size_t off = 0;
  // Local file headers in order; the central directory ends the walk.
  while (off + 30 <= s.size() && u32(off) == 0x04034b50) {
    uint32_t flags = u16(off + 6), method = u16(off + 8);
    uint64_t size = u32(off + 18);
    uint32_t nameLen = u16(off + 26), extraLen = u16(off + 28);
    if (off + 30 + nameLen + extraLen > s.size())
      return err("'" + path + "' is truncated");
    std::string name = s.substr(off + 30, nameLen).str();
    StringRef extra = s.substr(off + 30 + nameLen, extraLen);
    // numpy writes zip64 sizes in the extra field for large members.
    for (size_t e = 0; e + 4 <= extra.size();) {
      uint32_t id = uint8_t(extra[e]) | uint8_t(extra[e + 1]) << 8;
      uint32_t len = uint8_t(extra[e + 2]) | uint8_t(extra[e + 3]) << 8;
      if (id == 1 && len >= 8 && size == 0xffffffffu) {
        size = 0;
        for (int b = 7; b >= 0; --b)
          size = size << 8 | uint8_t(extra[e + 4 + b]);
      }
      e += 4 + len;
    }
    if (method != 0)
      return err("'" + path + "': member '" + name +
                 "' is compressed; write calibration samples with numpy.savez, not savez_compressed");
    if (flags & 8)
      return err("'" + path + "': member '" + name + "' has no size in its header");
    size_t data = off + 30 + nameLen + extraLen;
    if (data + size > s.size())
      return err("'" + path + "' is truncated");
    auto arr = parseNpy(s.substr(data, size), (path + ":" + name).str());
    if (!arr)
      return arr.takeError();
    StringRef key = name;
    key.consume_back(".npy");
    out.emplace_back(key.str(), std::move(*arr));
    off = data + size;
  }
  if (out.empty())
    return err("'" + path + "' holds no arrays (not an .npz file?)");
  return out;
}
