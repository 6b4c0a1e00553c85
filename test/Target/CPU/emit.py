# RUN: %python %s mlp %t.onnx
# RUN: qcc %t.onnx --emit=llvm-dialect | FileCheck %s --check-prefix=DIALECT
# RUN: qcc %t.onnx --emit=llvm --target=x86_64 --cpu=skylake-avx512 | FileCheck %s --check-prefix=X86
# RUN: qcc %t.onnx --emit=llvm --target=arm64 --cpu=neoverse-n1 | FileCheck %s --check-prefix=ARM
# RUN: qcc %t.onnx --emit=obj --target=arm64 -o %t.o && llvm-readelf-19 -h %t.o | FileCheck %s --check-prefix=ELF
# RUN: not qcc %t.onnx --emit=obj --target=riscv128 -o %t.bad 2>&1 | FileCheck %s --check-prefix=BADTARGET
# RUN: not qcc %t.onnx --emit=obj --target=x86_64 --cpu=pentium9000 -o %t.bad 2>&1 | FileCheck %s --check-prefix=BADCPU
from onnxtest import *

# Fully lowered: no qcc, linalg, memref or math ops are left, and the entry
# point has a C wrapper taking memref descriptors.
# DIALECT-NOT: = qcc.
# DIALECT-NOT: linalg.
# DIALECT-NOT: math.
# The constant weight is stored packed for the host's kernel, in its place.
# DIALECT-NOT: llvm.mlir.global private constant @__constant_8x4xf32(
# DIALECT: llvm.mlir.global private constant @__constant_8x4xf32_panels{{[0-9]+}}(
# DIALECT-SAME: alignment = 64
# DIALECT: llvm.func @main(
# The matmul runs in the runtime's kernel, given the run-time context.
# DIALECT: llvm.call @qcc_rt_sgemm_packed(%arg0,
# The C wrapper takes the result descriptor, the context, the input descriptor.
# DIALECT: llvm.func @_mlir_ciface_main(%arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: !llvm.ptr)

# X86: target triple = "x86_64-unknown-linux-gnu"
# X86: define {{.*}}@_mlir_ciface_main(
# The kernel is linked in and compiled for the target CPU.
# X86: define {{.*}}@qcc_rt_sgemm_packed(
# X86: "target-cpu"="skylake-avx512"
# Transcendentals are expanded into arithmetic: no libm calls.
# X86-NOT: call {{.*}}@erff
# X86-NOT: call {{.*}}@expf

# ARM: target triple = "aarch64-unknown-linux-gnu"
# Panels of 12 columns, the NEON kernel's width.
# ARM: @__constant_8x4xf32_panels12 = {{.*}} align 64
# ARM: "target-cpu"="neoverse-n1"

# ELF: Machine: AArch64

# BADTARGET: error: unknown target 'riscv128' (expected x86_64, arm64 or an LLVM triple)
# BADCPU: error: unknown CPU 'pentium9000' for target x86_64-unknown-linux-gnu


@case
def mlp():
    rng = np.random.default_rng(0)
    nodes = [h.make_node("MatMul", ["x", "w"], ["a"]), h.make_node("Gelu", ["a"], ["b"]),
             h.make_node("Softmax", ["b"], ["y"])]
    return model(nodes, [vi("x", T.FLOAT, ["n", 8])], [vi("y", T.FLOAT, None)],
                 [init("w", rng.standard_normal((8, 4)).astype(np.float32))])


if __name__ == "__main__":
    main()
