//===- RuntimeCalls.cpp - generated code calling the runtime --------------===//
#include "qcc/Target/CPU/RuntimeCalls.h"

#include "qcc/Target/CPU/Passes.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "qcc/Dialect/Qcc/IR/QccOps.h"

using namespace mlir;

func::FuncOp qcc::lookupOrDeclareRuntimeFunc(ModuleOp module, StringRef name,
                                             FunctionType type, bool cInterface) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto f = b.create<func::FuncOp>(module.getLoc(), name, type);
  f.setPrivate();
  if (cInterface)
    f->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());
  return f;
}

Value qcc::runtimeContext(OpBuilder &b, Location loc, func::FuncOp func) {
  if (func && func.getNumArguments() > 0 && func.getArgAttr(0, kRuntimeContextAttr))
    return func.getArgument(0);
  return b.create<LLVM::ZeroOp>(loc, LLVM::LLVMPointerType::get(b.getContext()));
}

Value qcc::alignedPointerAsI64(OpBuilder &b, Location loc, Value memref) {
  Value source = memref, byteShift;
  for (Operation *def = memref.getDefiningOp(); def; def = source.getDefiningOp()) {
    if (auto view = dyn_cast<memref::ViewOp>(def)) {
      source = view.getSource();
      byteShift = view.getByteShift();
      break;
    }
    auto like = dyn_cast<ViewLikeOpInterface>(def);
    if (!like)
      break;
    source = like.getViewSource();
  }
  if (!byteShift)
    source = memref;
  Value p = b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, source);
  if (byteShift)
    p = b.create<arith::AddIOp>(loc, p, byteShift);
  return b.create<arith::IndexCastOp>(loc, b.getI64Type(), p);
}

memref::GlobalOp qcc::packedWeightGlobal(ModuleOp module, SymbolTable &symbols,
                                         Operation *packed) {
  auto data = cast<DenseElementsAttr>(cast<PackedConstantOp>(packed).getValue());
  auto type = MemRefType::get(data.getType().getShape(), data.getType().getElementType());
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  auto global = b.create<memref::GlobalOp>(packed->getLoc(), "qcc_qweight",
                                           b.getStringAttr("private"), type, data,
                                           /*constant=*/true, b.getI64IntegerAttr(64));
  symbols.insert(global); // renames on collision
  return global;
}

Value qcc::memrefRows(OpBuilder &b, Location loc, Value m, int64_t cols) {
  int64_t rank = cast<MemRefType>(m.getType()).getRank();
  if (rank == 1)
    return b.create<memref::ExpandShapeOp>(loc, ArrayRef<int64_t>{1, cols}, m,
                                           ArrayRef<ReassociationIndices>{{0, 1}});
  if (rank == 2)
    return m;
  ReassociationIndices lead;
  for (int64_t i = 0; i + 1 < rank; ++i)
    lead.push_back(i);
  return b.create<memref::CollapseShapeOp>(loc, m,
                                           ArrayRef<ReassociationIndices>{lead, {rank - 1}});
}

Value qcc::allocResultBuffer(OpBuilder &b, Location loc, RankedTensorType type,
                             Value dimSource) {
  SmallVector<Value> dynSizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dynSizes.push_back(b.create<tensor::DimOp>(loc, dimSource, i));
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  return b.create<memref::AllocOp>(loc, memrefType, dynSizes, b.getI64IntegerAttr(64));
}
