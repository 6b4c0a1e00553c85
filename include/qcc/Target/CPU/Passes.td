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

def QccFuseElementwise : Pass<"qcc-fuse-elementwise", "mlir::ModuleOp"> {
  let summary = "fuse elementwise linalg producers into their consumers, never into reuse";
  let description = [{
    Linalg elementwise fusion on tensors (with reshape propagation and
    constant folding of linalg ops on constants), controlled so work is never
    duplicated: a producer is fused only into its single consumer, and only
    where that consumer reads each producer element once (its indexing map
    for the operand is a permutation of the loops). A consumer that reuses an
    operand, such as a matmul reading each row of its left operand once per
    output column, takes in only producers that move data (transposes,
    broadcasts), whose bodies compute nothing. The contraction then stays a
    plain multiply-accumulate the matmul kernel can take.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect"];
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

    With `panel-width=P` (set by the pipeline to the width of the kernel
    variant linked for the target), a B operand that is a whole constant
    global, not indexed by batch loops, is packed at compile time into the
    kernel's layout: ceil(N / P) panels of K x P floats, k-major, columns
    past N zero, in a new 64-byte aligned constant global
    (`<name>_panels<P>`, `_t` appended when the source was stored N x K).
    Those contractions call `qcc_rt_sgemm_packed` instead, so the weights
    are never repacked at run time; a global left without readers is
    removed.
  }];
  let options = [
    Option<"panelWidth", "panel-width", "int64_t", /*default=*/"0",
           "Pack constant B operands in panels of this many columns (0: never)">
  ];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect"
  ];
}

def QccQMatMulToRuntime : Pass<"qcc-qmatmul-to-runtime", "mlir::ModuleOp"> {
  let summary = "run integer matmuls with packed weights through the quantized kernels";
  let description = [{
    Replaces each `qcc.qmatmul` whose rhs is a `qcc.packed_constant` (see
    qcc-pack-weights) by a call to `qcc_rt_qmatmul` on buffers: the lhs rows
    (all leading dims collapsed into M), its zero point (an empty buffer
    when there is none; one value or one per row), whether the lhs is
    unsigned, the packed bytes (a 64-byte aligned constant global) and a
    new int32 output buffer. A qmatmul with `out_scale` calls
    `qcc_rt_qmatmul_scaled` instead, with the scales as a 1-D f32 buffer
    (one value or one per column) and an f32 output buffer. The results are
    those of the reference lowering, bit for bit.
  }];
  let dependentDialects = [
    "::mlir::bufferization::BufferizationDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def QccDynamicQuantizeToRuntime
    : Pass<"qcc-dynamic-quantize-to-runtime", "mlir::ModuleOp"> {
  let summary = "run per-tensor u8 dynamic quantization through the runtime";
  let description = [{
    Replaces each `qcc.dynamic_quantize` of ONNX DynamicQuantizeLinear's
    scheme (f32 input of rank 1 or more, per-tensor, u8 asymmetric, f32
    scale) by a call to `qcc_rt_dynamic_quantize_u8` on buffers: the input
    flattened to one dimension, a new u8 buffer of its shape and
    one-element buffers for the scale and the zero point. The runtime takes
    the min and max and then quantizes with vector code on all threads,
    where the linalg lowering runs one scalar thread; every value is
    rounded as that lowering rounds it, so the results are its bits. Other
    schemes keep the linalg lowering.
  }];
  let dependentDialects = [
    "::mlir::bufferization::BufferizationDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def QccQLinearToRuntime : Pass<"qcc-qlinear-to-runtime", "mlir::ModuleOp"> {
  let summary = "run linear layers with packed weights through the quantized kernels";
  let description = [{
    Replaces each `qcc.qlinear` whose weight is a `qcc.packed_constant` (see
    qcc-pack-weights) by a call to `qcc_rt_qlinear`, the runtime's kernel
    for the target, on buffers: the input rows (all leading dims collapsed
    into M), the packed bytes (now a 64-byte aligned constant global), the
    bias (an empty buffer when there is none), a new output buffer,
    whether rows are quantized to int8 first (`act_params`) and the static
    activation scale (`act_scale`, 0 for per-row scales). The call is
    bracketed by `bufferization.to_memref` / `to_tensor` so the rest of the
    function bufferizes around it. The kernels never build a dequantized
    weight, and give the reference lowering's results (bit-identical with
    int8 activations).
  }];
  let dependentDialects = [
    "::mlir::bufferization::BufferizationDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect"
  ];
}

def QccPlanMemory : Pass<"qcc-plan-memory", "mlir::ModuleOp"> {
  let summary = "place intermediate buffers in one arena with a static plan";
  let description = [{
    Replaces the `memref.alloc` / `memref.dealloc` pairs at the top level of
    each function by views into one arena, so a run allocates nothing per
    op. Live ranges come from the positions of each buffer's allocation and
    deallocation; a buffer is placed just above every buffer still live when
    it is allocated (offsets 64-byte aligned), so buffers live at the same
    time never overlap.

    Offsets are computed at the top of the function. With static shapes they
    fold to constants and the arena size is known at compile time (recorded
    as the module attribute `qcc.arena_bytes`); with symbolic dims they are a
    few integer operations on the input dims, and `qcc.arena_bytes` is -1.
    The arena comes from the run-time context (`qcc_rt_arena`), which keeps
    it between runs; without a context it is allocated and freed per call.
    Buffers that escape (function results), whose size depends on values
    computed inside the function by ops with effects, or that are freed
    conditionally keep their own allocation.
  }];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect"
  ];
}

#endif // QCC_TARGET_CPU_PASSES_TD
