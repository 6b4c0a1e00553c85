//===- RuntimeCalls.cpp - generated code calling the runtime --------------===//
#include "qcc/Target/CPU/RuntimeCalls.h"

#include "qcc/Target/CPU/Passes.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

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
