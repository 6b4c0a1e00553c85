//===- Npy.h - numpy .npy files ----------------------------------*- C++ -*-===//
#ifndef QCC_SUPPORT_NPY_H
#define QCC_SUPPORT_NPY_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace qcc {

/// A C-ordered array from a .npy file; dtype in ONNX's numbering.
struct NpyArray {
  int32_t dtype = 0;
  std::vector<int64_t> shape;
  std::vector<char> data;
};

/// Parses .npy bytes (format versions 1 and 2); `what` names the source in
/// error messages.
llvm::Expected<NpyArray> parseNpy(llvm::StringRef bytes, llvm::StringRef what);
/// Reads a .npy file.
llvm::Expected<NpyArray> readNpy(llvm::StringRef path);
/// Writes a .npy file.
llvm::Error writeNpy(llvm::StringRef path, int32_t dtype, llvm::ArrayRef<int64_t> shape,
                     const void *data);
/// Reads every array of an .npz archive written by numpy.savez (stored,
/// uncompressed members), keyed by member name without ".npy".
llvm::Expected<std::vector<std::pair<std::string, NpyArray>>> readNpz(llvm::StringRef path);

} // namespace qcc

#endif
