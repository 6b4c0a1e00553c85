//===- Passes.td - CPU target passes -----------------------*- tablegen -*-===//
#ifndef QCC_TARGET_CPU_PASSES_TD
#define QCC_TARGET_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def QccAddRuntimeContext : Pass<"qcc-add-runtime-context", "mlir::ModuleOp"> {
  let summary = "give public functions the run-time context as first argument";
  let description = [{
    Prepends an `!llvm.ptr` argument, marked `qcc.runtime_context`, to every
    public function with a body. Through it the generated code reaches the
    instance's thread pool and scratch memory; the artifact's C API passes
    its instance's context, and a null pointer means one thread.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def QccMatmulToRuntime : Pass<"qcc-matmul-to-runtime", "mlir::ModuleOp"> {
  let summary = "run float contractions on buffers through the runtime's matmul kernel";
  let description = [{
    Replaces each `linalg.generic` on buffers that computes
    `C[batch..., m, n] += A[..., m, k] * B[..., k, n]` in f32 (any operand
    layout: strided, transposed, broadcast along batch dims; at most three
    batch dims) by a call to `qcc_rt_sgemm`, the runtime's cache-blocked,
    vectorized, multi-threaded kernel, passing data addresses and element
    strides taken from the memrefs' strided metadata. The enclosing
    function's `qcc.runtime_context` argument (or a null context) is passed
    along. Contractions it cannot express (index arithmetic in the maps,
    more batch dims, other element types) are left to the loop lowering.

    Every output element is summed in increasing k starting from its
    initial value, as the loops would, so results do not depend on the
    kernel's blocking or thread count.
  }];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect"
  ];
}

#endif // QCC_TARGET_CPU_PASSES_TD
