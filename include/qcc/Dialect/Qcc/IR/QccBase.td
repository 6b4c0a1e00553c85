//===- QccBase.td - qcc dialect definition -----------------*- tablegen -*-===//
#ifndef QCC_BASE_TD
#define QCC_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Qcc_Dialect : Dialect {
  let name = "qcc";
  let cppNamespace = "::qcc";
  let summary = "Transformer graph and quantization dialect of the qcc compiler";
  let description = [{
    The `qcc` dialect holds a transformer graph as imported from ONNX (ops on
    float tensors with numpy broadcasting and ONNX semantics) and its quantized
    forms. Quantization parameters are data: scales and zero points are SSA
    tensors, while the scheme (bits, signedness, symmetry, granularity, axis,
    group size and scale type) is the `#qcc.qparams` attribute. Packed weight
    layouts are tensor encodings (`#qcc.packed`), so the logical shape and the
    physical tile layout of a weight never get confused.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class Qcc_Op<string mnemonic, list<Trait> traits = []>
    : Op<Qcc_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Qcc_Granularity : I32EnumAttr<"Granularity",
    "how many scales a quantized tensor carries", [
      I32EnumAttrCase<"PerTensor", 0, "per_tensor">,
      I32EnumAttrCase<"PerAxis", 1, "per_axis">,
      I32EnumAttrCase<"PerGroup", 2, "per_group">]> {
  let cppNamespace = "::qcc";
  let genSpecializedAttr = 0;
}

def Qcc_ReduceKind : I32EnumAttr<"ReduceKind", "reduction kind", [
      I32EnumAttrCase<"Sum", 0, "sum">,
      I32EnumAttrCase<"Mean", 1, "mean">,
      I32EnumAttrCase<"Max", 2, "max">,
      I32EnumAttrCase<"Min", 3, "min">,
      I32EnumAttrCase<"Prod", 4, "prod">]> {
  let cppNamespace = "::qcc";
  let genSpecializedAttr = 0;
}
def Qcc_ReduceKindAttr : EnumAttr<Qcc_Dialect, Qcc_ReduceKind, "reduce_kind">;

def Qcc_GeluApprox : I32EnumAttr<"GeluApprox", "GELU approximation", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"Tanh", 1, "tanh">]> {
  let cppNamespace = "::qcc";
  let genSpecializedAttr = 0;
}
def Qcc_GeluApproxAttr : EnumAttr<Qcc_Dialect, Qcc_GeluApprox, "gelu_approx">;

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Qcc_QuantParamsAttr : AttrDef<Qcc_Dialect, "QuantParams"> {
  let mnemonic = "qparams";
  let summary = "quantization scheme of a tensor";
  let description = [{
    Describes how an integer tensor maps to real values:
    `real = scale * (q - zero_point)`.

    * storage: `s<bits>` or `u<bits>`, bits in {2, 3, 4, 8}. The IR stores the
      integers in signless `i<bits>` tensors; signedness lives here.
    * granularity: `per_tensor` (one scale), `per_axis(a)` (one scale per
      index of dimension `a`), or `per_group(a, g)` (one scale per block of `g`
      consecutive elements along dimension `a`, the reduction axis; the scale
      tensor has the value's shape with dimension `a` replaced by
      `ceil(dim / g)`, as ONNX blocked quantization does).
    * `asymmetric`: a zero point accompanies each scale; symmetric schemes
      have none (zero point 0).
    * `scale = f16`: scales are stored as f16 (default f32).

    Examples: `#qcc.qparams<s8, per_tensor>`,
    `#qcc.qparams<u8, per_axis(0), asymmetric>`,
    `#qcc.qparams<s4, per_group(0, 32), scale = f16>`.
  }];
  let parameters = (ins
    "unsigned":$bits,
    "bool":$isSigned,
    "::qcc::Granularity":$granularity,
    "int64_t":$axis,
    "int64_t":$groupSize,
    "bool":$isSymmetric,
    "::mlir::Type":$scaleType);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The signless integer type that stores values of this scheme.
    ::mlir::IntegerType getStorageType() const;
    /// Smallest and largest representable integer.
    int64_t getQMin() const;
    int64_t getQMax() const;
    /// Expected shape of the scale / zero point tensor for a value of `shape`
    /// (dynamic dims stay dynamic); fails if the axis is out of range.
    ::mlir::FailureOr<::llvm::SmallVector<int64_t>>
    getScaleShape(::llvm::ArrayRef<int64_t> shape) const;
  }];
}

def Qcc_PackedEncodingAttr : AttrDef<Qcc_Dialect, "PackedEncoding"> {
  let mnemonic = "packed";
  let summary = "physical tile layout of a packed weight";
  let description = [{
    A tensor encoding that marks a tensor as packed: the tensor's shape is the
    logical `[K, N]` shape of the weight, and the data (see
    docs/Kernels.md) is a 64-byte header followed by
    `ceil(N / tile[1]) x ceil(K / tile[0])` blocks, one per tile of
    `tile[1]` output columns and group of `tile[0]` K-steps, each holding
    the group's weights four K-steps deep per column (4-bit values as nibble
    pairs), its f32 scales and, for 4-bit weights, its zero points.
    `layout` names the kernel family that reads it (for example
    `"x86.avx2"`).

    Example: `tensor<4096x4096xi4, #qcc.packed<"x86.avx2", [32, 8],
    #qcc.qparams<s4, per_group(0, 32)>>>`.
  }];
  let parameters = (ins
    StringRefParameter<"kernel family reading the data">:$layout,
    ArrayRefParameter<"int64_t", "tile shape">:$tile,
    "QuantParamsAttr":$params);
  let assemblyFormat = "`<` $layout `,` `[` $tile `]` `,` $params `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bytes of packed data for a logical 2-D shape.
    int64_t getPackedByteSize(::llvm::ArrayRef<int64_t> shape) const;
    /// Bytes of one (tile, group) block of `nr` columns for a K of `k`:
    /// weights, scales and zero points; when the group covers all of K,
    /// column sums for 8-bit weights and padding to a multiple of 64 (see
    /// docs/Kernels.md).
    static int64_t getBlockBytes(int64_t k, int64_t group, int64_t nr, int64_t bits,
                                 int64_t scaleBytes);
  }];
}

#endif // QCC_BASE_TD
