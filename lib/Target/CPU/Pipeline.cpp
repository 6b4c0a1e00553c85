//===- Pipeline.cpp - qcc to LLVM dialect lowering pipeline ---------------===//
#include "qcc/Target/CPU/CPUTarget.h"

#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "qcc/Dialect/Qcc/IR/QccOps.h"
#include "qcc/Target/CPU/Runtime.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"
#include "qcc/Conversion/Passes.h"
#include "qcc/Target/CPU/Passes.h"
#include "qcc/Dialect/Qcc/Transforms/Passes.h"

using namespace mlir;

namespace {
/// Marks public functions for C-interface wrappers: the artifact's entry
/// points take memref descriptors by pointer.
struct EmitCInterface : PassWrapper<EmitCInterface, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(EmitCInterface)
  StringRef getArgument() const final { return "qcc-emit-c-interface"; }
  void runOnOperation() override {
    for (auto f : getOperation().getOps<func::FuncOp>()) {
      if (!f.isPublic())
        continue;
      f->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                 UnitAttr::get(&getContext()));
      // Names and symbolic dims of inputs/outputs have no LLVM meaning.
      for (unsigned i = 0; i < f.getNumArguments(); ++i)
        f.setArgAttrs(i, DictionaryAttr::get(&getContext()));
      for (unsigned i = 0; i < f.getNumResults(); ++i)
        f.setResultAttrs(i, DictionaryAttr::get(&getContext()));
    }
  }
};
} // namespace

namespace {
/// Fails with a clear message on ops the CPU code generator cannot lower yet,
/// instead of a bufferization or translation error deep in the pipeline.
struct CheckCodegenSupport
    : PassWrapper<CheckCodegenSupport, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CheckCodegenSupport)
  StringRef getArgument() const final { return "qcc-check-codegen-support"; }
  void runOnOperation() override {
    getOperation().walk([&](Operation *op) {
      if (isa<qcc::ObserveOp, qcc::PackedConstantOp>(op)) {
        op->emitError() << "code generation for '" << op->getName()
                        << "' is not supported yet by the CPU target";
        signalPassFailure();
      }
    });
  }
};
} // namespace

void qcc::registerCPUTargetDialects(DialectRegistry &registry) {
  registry.insert<bufferization::BufferizationDialect, memref::MemRefDialect,
                  LLVM::LLVMDialect, cf::ControlFlowDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}

void qcc::buildCPULoweringPipeline(OpPassManager &pm, const ResolvedTarget &target,
                                   bool f16Scales) {
  // Pre-quantized graphs keep integers through data movement.
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createQccPropagateScales());
  pm.addNestedPass<func::FuncOp>(createQccFuseDequantizedLinear());
  // After the fusion, so dequantized weights have become layers too.
  if (f16Scales)
    pm.addNestedPass<func::FuncOp>(createQccF16Scales());
  // Integer matmuls scale their sums to f32 in the kernel's epilogue.
  pm.addNestedPass<func::FuncOp>(createQccFuseQMatMulScale());
  // Layers sharing an input quantize it once and run as one kernel call.
  pm.addNestedPass<func::FuncOp>(createQccMergeSiblingLinears());
  // Skip connections are added in the kernels' epilogue.
  pm.addNestedPass<func::FuncOp>(createQccFuseResidual());
  pm.addPass(createQccAddRuntimeContext());
  // Quantized linear layers with constant weights run on the target's
  // kernels from weights packed now; the rest take the reference lowering.
  QccPackWeightsOptions pack;
  QgemmLayout layout = qgemmLayout(target);
  pack.layout = layout.name;
  pack.nr = layout.nr;
  pm.addPass(createQccPackWeights(pack));
  pm.addPass(createQccQLinearToRuntime());
  pm.addPass(createQccQMatMulToRuntime());
  pm.addPass(createQccDynamicQuantizeToRuntime());
  pm.addPass(std::make_unique<CheckCodegenSupport>());
  // Graph cleanup.
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createQccFuseNormalizations());
  pm.addNestedPass<func::FuncOp>(createQccFuseActivations());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // qcc -> linalg on tensors, fused.
  pm.addNestedPass<func::FuncOp>(createQccConvertToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createQccFuseElementwise());
  pm.addPass(createCSEPass());
  // Tensors -> buffers.
  bufferization::OneShotBufferizationOptions bufferization;
  bufferization.bufferizeFunctionBoundaries = true;
  bufferization.setFunctionBoundaryTypeConversion(
      bufferization::LayoutMapOption::IdentityLayoutMap);
  // Copies become loops rather than calls into MLIR's runtime library (the
  // artifact needs nothing beyond libc).
  bufferization.memCpyFn = [](OpBuilder &b, Location loc, Value from,
                              Value to) -> LogicalResult {
    b.create<linalg::CopyOp>(loc, from, to);
    return success();
  };
  pm.addPass(bufferization::createOneShotBufferizePass(bufferization));
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createBufferizationToMemRefPass());
  pm.addPass(createCanonicalizerPass());
  // Intermediates live in one arena with a precomputed plan.
  pm.addPass(createQccPlanMemory());
  pm.addPass(createCanonicalizerPass());
  // Matmuls go to the runtime's blocked, threaded kernel.
  QccMatmulToRuntimeOptions matmul;
  matmul.panelWidth = sgemmPanelWidth(target);
  pm.addPass(createQccMatmulToRuntime(matmul));
  pm.addPass(createCanonicalizerPass());
  // Loops and scalar code.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createQccExpandMath());
  pm.addPass(createConvertMathToFuncs());
  // bf16 math runs in f32 and bf16 conversions become integer arithmetic,
  // so no compiler-rt helpers are needed.
  static const std::string bf16 = "bf16";
  arith::ArithEmulateUnsupportedFloatsOptions emulate;
  emulate.sourceTypeStrs = ArrayRef<std::string>(bf16);
  pm.addPass(arith::createArithEmulateUnsupportedFloats(emulate));
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // LLVM dialect.
  pm.addPass(std::make_unique<EmitCInterface>());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}
