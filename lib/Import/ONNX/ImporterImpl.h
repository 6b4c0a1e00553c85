//===- ImporterImpl.h - ONNX importer internals ------------------*- C++ -*-===//
//
// Shared between the model loader, the graph walker and the op converters.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_LIB_IMPORT_ONNX_IMPORTERIMPL_H
#define QCC_LIB_IMPORT_ONNX_IMPORTERIMPL_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "qcc/Dialect/Qcc/IR/QccOps.h"
#include "qcc/Import/ONNXImporter.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include "onnx/onnx_pb.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qcc::onnx_import {

/// ONNX TensorProto data types (int32 in the protobuf, so newer values such
/// as INT4 decode whatever the generated header knows).
enum DType : int32_t {
  kUndefined = 0, kFloat = 1, kUInt8 = 2, kInt8 = 3, kUInt16 = 4, kInt16 = 5,
  kInt32 = 6, kInt64 = 7, kString = 8, kBool = 9, kFloat16 = 10, kDouble = 11,
  kUInt32 = 12, kUInt64 = 13, kBFloat16 = 16, kUInt4 = 21, kInt4 = 22,
};

inline mlir::RankedTensorType tensorType(mlir::Value v) {
  return llvm::cast<mlir::RankedTensorType>(v.getType());
}

const char *dtypeName(int32_t dtype);
bool isUnsignedDType(int32_t dtype);
/// The MLIR element type for an ONNX dtype (integers are signless), or null.
mlir::Type dtypeToType(mlir::MLIRContext *ctx, int32_t dtype);

/// A decoded initializer / Constant value: row-major elements as an MLIR
/// dense attribute of the mapped element type.
struct LoadedTensor {
  int32_t dtype = kUndefined;
  std::vector<int64_t> shape;
  mlir::DenseElementsAttr value;
};

/// Reads and checks the model file; resolves external data. Errors are
/// emitted at `loc`.
mlir::LogicalResult loadModel(llvm::StringRef path, onnx::ModelProto &model,
                              mlir::Location loc);

/// Decodes a TensorProto (raw, typed or external data) into an attribute.
/// `modelDir` resolves external data locations.
mlir::FailureOr<LoadedTensor> decodeTensor(const onnx::TensorProto &tensor,
                                           llvm::StringRef modelDir,
                                           mlir::MLIRContext *ctx,
                                           mlir::Location loc);

/// One dimension as the importer knows it: a constant, or an SSA index.
struct DimValue {
  int64_t constant = 0;
  mlir::Value value; // null when constant
  bool isConstant() const { return !value; }
};

/// What the importer knows about one ONNX value.
struct Entry {
  mlir::Value value;     // materialized tensor (may be null for pure shapes)
  int32_t dtype = kUndefined;
  /// For small rank-0/1 integer tensors whose elements are known at import
  /// time, as constants or SSA index values (shape sub-graphs).
  std::optional<llvm::SmallVector<DimValue>> known;
  bool knownIsScalar = false;
  /// For constants: the data.
  mlir::DenseElementsAttr constant;
};

class GraphImporter;
using ConvertFn = mlir::LogicalResult (*)(GraphImporter &,
                                          const onnx::NodeProto &);

/// Looks up the converter of (domain, op_type); null if unsupported.
ConvertFn lookupConverter(llvm::StringRef domain, llvm::StringRef opType);

class GraphImporter {
public:
  GraphImporter(mlir::MLIRContext *ctx, mlir::OpBuilder &builder,
                std::string modelDir, int64_t opset)
      : ctx(ctx), b(builder), modelDir(std::move(modelDir)), opset(opset) {}

  mlir::MLIRContext *ctx;
  mlir::OpBuilder &b;
  std::string modelDir;
  int64_t opset;
  llvm::StringMap<Entry> values;
  /// qcc.dim results by (tensor, index), so equal dims are equal SSA values.
  llvm::DenseMap<std::pair<mlir::Value, int64_t>, mlir::Value> dimCache;

  // Per-node state, set while a node is converted.
  const onnx::NodeProto *node = nullptr;
  mlir::Location loc = mlir::UnknownLoc::get(ctx);

  //===--- Node inputs, outputs and attributes ---------------------------===//
  size_t numInputs() const;
  /// Input i, or null if absent (optional input left empty).
  Entry *input(size_t i);
  /// Input i, which must be present; emits an error otherwise.
  mlir::FailureOr<Entry *> requiredInput(size_t i);
  /// The materialized tensor of input i (required).
  mlir::FailureOr<mlir::Value> inputValue(size_t i);
  bool hasOutput(size_t i) const;
  void setOutput(size_t i, mlir::Value v, int32_t dtype);
  void setOutput(size_t i, Entry e);

  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t attrInt(llvm::StringRef name, int64_t dflt) const;
  float attrFloat(llvm::StringRef name, float dflt) const;
  std::string attrString(llvm::StringRef name, llvm::StringRef dflt) const;
  std::optional<llvm::SmallVector<int64_t>> attrInts(llvm::StringRef name) const;

  mlir::InFlightDiagnostic error();

  //===--- Values ----------------------------------------------------------===//
  /// Tensor of an entry, materializing known shape values on demand.
  mlir::Value materialize(Entry &e);
  /// Elements of an integer entry known at import time, if any.
  std::optional<llvm::SmallVector<DimValue>> knownInts(Entry &e);
  /// Known constant integers (no SSA parts), if all known.
  std::optional<llvm::SmallVector<int64_t>> constInts(Entry &e);
  /// Float constant elements, if the entry is a float constant.
  std::optional<llvm::SmallVector<double>> constFloats(Entry &e);

  mlir::Value indexConst(int64_t v);
  mlir::Value dimIndex(const DimValue &d);
  /// Dims of a tensor value: constants where static, qcc.dim otherwise.
  llvm::SmallVector<DimValue> dimsOf(mlir::Value tensor);
  /// Builds a tensor type from DimValues; collects the dynamic ones.
  mlir::RankedTensorType typeFromDims(llvm::ArrayRef<DimValue> dims,
                                      mlir::Type elt,
                                      llvm::SmallVectorImpl<mlir::Value> &dyn);

  mlir::Value constantTensor(mlir::DenseElementsAttr attr);
  mlir::Value scalarConstant(mlir::Type elt, double v);
  /// Normalizes a possibly negative axis; emits an error if out of range.
  mlir::FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank);
  /// Reshape of a tensor to the given dims.
  mlir::Value reshapeTo(mlir::Value v, llvm::ArrayRef<DimValue> dims);
  mlir::Value transpose(mlir::Value v, llvm::ArrayRef<int64_t> perm);

  /// Emits an elementwise binary op with broadcasting; checks shapes.
  template <typename OpTy>
  mlir::FailureOr<mlir::Value> binary(mlir::Value lhs, mlir::Value rhs,
                                      mlir::Type resultElt = nullptr);
  /// Emits a dim-arithmetic op on index values, folding constants.
  DimValue dimArith(char op, const DimValue &a, const DimValue &b);
};

template <typename OpTy>
mlir::FailureOr<mlir::Value>
GraphImporter::binary(mlir::Value lhs, mlir::Value rhs, mlir::Type resultElt) {
  auto lt = llvm::cast<mlir::RankedTensorType>(lhs.getType());
  auto rt = llvm::cast<mlir::RankedTensorType>(rhs.getType());
  auto shape = broadcastShapes(lt.getShape(), rt.getShape());
  if (mlir::failed(shape)) {
    error() << "operand shapes do not broadcast: " << lt << " and " << rt;
    return mlir::failure();
  }
  if (!resultElt)
    resultElt = lt.getElementType();
  auto type = mlir::RankedTensorType::get(*shape, resultElt);
  return b.create<OpTy>(loc, type, lhs, rhs).getResult();
}

/// Result type of numpy matmul of a and c; emits an error on mismatch.
mlir::FailureOr<mlir::RankedTensorType>
matmulResultType(GraphImporter &imp, mlir::Value a, mlir::Value c,
                 mlir::Type elt);

} // namespace qcc::onnx_import

#endif
