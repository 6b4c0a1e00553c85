//===- QccOps.td - qcc dialect operations ------------------*- tablegen -*-===//
#ifndef QCC_OPS_TD
#define QCC_OPS_TD

include "qcc/Dialect/Qcc/IR/QccBase.td"
include "qcc/Dialect/Qcc/IR/QccQuantTraits.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/ViewLikeInterface.td"

def Qcc_Tensor : RankedTensorOf<[AnyType]>;
def Qcc_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Qcc_IntTensor : RankedTensorOf<[AnySignlessInteger]>;
def Qcc_NumericTensor : RankedTensorOf<[AnyFloat, AnySignlessInteger]>;

//===----------------------------------------------------------------------===//
// Elementwise ops (numpy broadcasting)
//===----------------------------------------------------------------------===//

class Qcc_BinaryOp<string mnemonic, string desc, list<Trait> traits = []>
    : Qcc_Op<mnemonic, !listconcat([Pure], traits)> {
  let summary = desc;
  let description = "Elementwise `" # mnemonic # "` with numpy-style "
      # "broadcasting of the two operands to the result shape.";
  let arguments = (ins Qcc_Tensor:$lhs, Qcc_Tensor:$rhs);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` `(` type($lhs) `,` type($rhs) `)` `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::mlir::LogicalResult $cppClass::verify() {
      return ::qcc::verifyBroadcastOp(getOperation());
    }
  }];
}

def Qcc_AddOp : Qcc_BinaryOp<"add", "elementwise addition", [Commutative]>;
def Qcc_SubOp : Qcc_BinaryOp<"sub", "elementwise subtraction">;
def Qcc_MulOp : Qcc_BinaryOp<"mul", "elementwise multiplication", [Commutative]>;
def Qcc_DivOp : Qcc_BinaryOp<"div", "elementwise division">;
def Qcc_PowOp : Qcc_BinaryOp<"pow", "elementwise power">;
def Qcc_MinOp : Qcc_BinaryOp<"min", "elementwise minimum", [Commutative]>;
def Qcc_MaxOp : Qcc_BinaryOp<"max", "elementwise maximum", [Commutative]>;
def Qcc_EqualOp : Qcc_BinaryOp<"equal", "elementwise equality (i1 result)">;
def Qcc_LessOp : Qcc_BinaryOp<"less", "elementwise less-than (i1 result)">;
def Qcc_GreaterOp : Qcc_BinaryOp<"greater", "elementwise greater-than (i1 result)">;
def Qcc_AndOp : Qcc_BinaryOp<"and", "elementwise logical and", [Commutative]>;
def Qcc_OrOp : Qcc_BinaryOp<"or", "elementwise logical or", [Commutative]>;

class Qcc_UnaryOp<string mnemonic, string desc, list<Trait> traits = []>
    : Qcc_Op<mnemonic, !listconcat([Pure, SameOperandsAndResultType], traits)> {
  let summary = desc;
  let description = "Elementwise `" # mnemonic # "`.";
  let arguments = (ins Qcc_Tensor:$input);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Qcc_NegOp : Qcc_UnaryOp<"neg", "negation">;
def Qcc_AbsOp : Qcc_UnaryOp<"abs", "absolute value">;
def Qcc_ExpOp : Qcc_UnaryOp<"exp", "exponential">;
def Qcc_LogOp : Qcc_UnaryOp<"log", "natural logarithm">;
def Qcc_SqrtOp : Qcc_UnaryOp<"sqrt", "square root">;
def Qcc_ReciprocalOp : Qcc_UnaryOp<"reciprocal", "1 / x">;
def Qcc_TanhOp : Qcc_UnaryOp<"tanh", "hyperbolic tangent", [DeclareOpInterfaceMethods<Qcc_FixedRangeOpInterface>]>;
def Qcc_ErfOp : Qcc_UnaryOp<"erf", "Gauss error function">;
def Qcc_SigmoidOp : Qcc_UnaryOp<"sigmoid", "logistic sigmoid", [DeclareOpInterfaceMethods<Qcc_FixedRangeOpInterface>]>;
def Qcc_ReluOp : Qcc_UnaryOp<"relu", "max(x, 0)">;
def Qcc_SiluOp : Qcc_UnaryOp<"silu", "x * sigmoid(x)">;
def Qcc_NotOp : Qcc_UnaryOp<"not", "logical not of an i1 tensor">;
def Qcc_IdentityOp : Qcc_UnaryOp<"identity", "the input, unchanged", [Qcc_SameScale]> {
  let hasFolder = 1;
}

def Qcc_GeluOp : Qcc_Op<"gelu", [Pure, SameOperandsAndResultType]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    `x * Phi(x)`; with `approximate = tanh`, the tanh approximation
    `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
  }];
  let arguments = (ins Qcc_FloatTensor:$input,
      DefaultValuedAttr<Qcc_GeluApproxAttr, "::qcc::GeluApprox::None">:$approximate);
  let results = (outs Qcc_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Qcc_ClipOp : Qcc_Op<"clip", [Pure, SameOperandsAndResultType]> {
  let summary = "clamp to [min, max]";
  let description = "Elementwise clamp; an absent bound does not clamp.";
  let arguments = (ins Qcc_Tensor:$input, OptionalAttr<F64Attr>:$min,
      OptionalAttr<F64Attr>:$max);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Qcc_CastOp : Qcc_Op<"cast", [Pure, SameOperandsAndResultShape]> {
  let summary = "element type conversion (ONNX Cast semantics)";
  let description = [{
    Integer tensors are signless; `from_unsigned` / `to_unsigned` say when the
    source or destination integers are unsigned (ONNX uint types).
  }];
  let arguments = (ins Qcc_Tensor:$input, UnitAttr:$from_unsigned,
      UnitAttr:$to_unsigned);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasFolder = 1;
}

def Qcc_WhereOp : Qcc_Op<"where", [Pure]> {
  let summary = "elementwise select with broadcasting";
  let arguments = (ins RankedTensorOf<[I1]>:$condition, Qcc_Tensor:$true_value,
      Qcc_Tensor:$false_value);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = [{
    $condition `,` $true_value `,` $false_value attr-dict `:`
    `(` type($condition) `,` type($true_value) `,` type($false_value) `)`
    `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Linear algebra and normalization
//===----------------------------------------------------------------------===//

def Qcc_MatMulOp : Qcc_Op<"matmul", [Pure]> {
  let summary = "numpy matmul (batched, broadcasting batch dims)";
  let description = [{
    `result[..., m, n] = sum_k lhs[..., m, k] * rhs[..., k, n]`, with rank-1
    operands promoted as numpy does and leading batch dimensions broadcast.
    Float, or integer with wrap-around arithmetic in the element type (the
    integer parts of quantized matmuls accumulate in i32 this way).
  }];
  let arguments = (ins Qcc_NumericTensor:$lhs, Qcc_NumericTensor:$rhs);
  let results = (outs Qcc_NumericTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` `(` type($lhs) `,` type($rhs) `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qcc_SoftmaxOp : Qcc_Op<"softmax", [Pure, SameOperandsAndResultType,
    Qcc_StaysFloat, DeclareOpInterfaceMethods<Qcc_FixedRangeOpInterface>]> {
  let summary = "softmax along one axis";
  let arguments = (ins Qcc_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Qcc_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Qcc_LayerNormOp : Qcc_Op<"layer_norm", [Pure, Qcc_StaysFloat]> {
  let summary = "layer normalization over the trailing axes from `axis`";
  let description = [{
    `(x - mean) / sqrt(var + epsilon) * scale + bias`, the statistics taken
    over dimensions `axis..rank-1`; `bias` is optional.
  }];
  let arguments = (ins Qcc_FloatTensor:$input, Qcc_FloatTensor:$scale,
      Optional<Qcc_FloatTensor>:$bias, I64Attr:$axis, F64Attr:$epsilon);
  let results = (outs Qcc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $bias^)? attr-dict `:` `(` type($input) `,`
    type($scale) (`,` type($bias)^)? `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qcc_RMSNormOp : Qcc_Op<"rms_norm", [Pure, Qcc_StaysFloat]> {
  let summary = "root-mean-square normalization over the trailing axes";
  let description = "`x / sqrt(mean(x^2) + epsilon) * scale`.";
  let arguments = (ins Qcc_FloatTensor:$input, Qcc_FloatTensor:$scale,
      I64Attr:$axis, F64Attr:$epsilon);
  let results = (outs Qcc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale attr-dict `:` `(` type($input) `,` type($scale) `)`
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qcc_ReduceOp : Qcc_Op<"reduce", [Pure]> {
  let summary = "reduction over a set of axes";
  let arguments = (ins Qcc_Tensor:$input, Qcc_ReduceKindAttr:$kind,
      DenseI64ArrayAttr:$axes, BoolAttr:$keepdims);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Qcc_CumSumOp : Qcc_Op<"cumsum", [Pure, SameOperandsAndResultType]> {
  let summary = "cumulative sum along an axis";
  let arguments = (ins Qcc_Tensor:$input, I64Attr:$axis,
      DefaultValuedAttr<BoolAttr, "false">:$exclusive,
      DefaultValuedAttr<BoolAttr, "false">:$reverse);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Qcc_TriluOp : Qcc_Op<"trilu", [Pure, SameOperandsAndResultType]> {
  let summary = "keep the upper or lower triangle of the last two dims";
  let arguments = (ins Qcc_Tensor:$input, BoolAttr:$upper, I64Attr:$k);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Qcc_AttentionOp : Qcc_Op<"attention", [Pure]> {
  let summary = "scaled dot-product attention with grouped key/value heads";
  let description = [{
    `query` is `[batch, q_heads, seq, head_dim]`, `key` and `value` are
    `[batch, kv_heads, kv_seq, head_dim]` with `q_heads` a multiple of
    `kv_heads` (grouped-query attention). `mask`, when present, is added to
    the scores and broadcasts to `[batch, q_heads, seq, kv_seq]`. With
    `causal`, query row `i` sees keys `0 .. kv_seq - seq + i`.
  }];
  let arguments = (ins Qcc_FloatTensor:$query, Qcc_FloatTensor:$key,
      Qcc_FloatTensor:$value, Optional<Qcc_FloatTensor>:$mask, F64Attr:$scale,
      DefaultValuedAttr<BoolAttr, "false">:$causal);
  let results = (outs Qcc_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`mask` $mask^ `:` type($mask))? attr-dict `:`
    type($query) `,` type($key) `,` type($value) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qcc_RotaryOp : Qcc_Op<"rotary", [Pure]> {
  let summary = "rotary position embedding";
  let description = [{
    Rotates pairs of `input` (`[batch, heads, seq, head_dim]`) by the angles
    whose cosines and sines are `cos` and `sin` (`[batch or 1, seq,
    rotary_dim / 2]`). Pairs are `(i, i + rotary_dim / 2)`, or adjacent
    elements with `interleaved`. Dims past `rotary_dim` pass through.
  }];
  let arguments = (ins Qcc_FloatTensor:$input, Qcc_FloatTensor:$cos,
      Qcc_FloatTensor:$sin, DefaultValuedAttr<BoolAttr, "false">:$interleaved);
  let results = (outs Qcc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $cos `,` $sin attr-dict `:` type($input) `,` type($cos) `,`
    type($sin) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Data movement and shapes
//===----------------------------------------------------------------------===//

def Qcc_ReshapeOp : Qcc_Op<"reshape", [Pure, Qcc_SameScale]> {
  let summary = "reshape to the result type";
  let description = [{
    Reinterprets the row-major elements with the result's shape. One index
    operand gives each dynamic result dimension, in order.
  }];
  let arguments = (ins Qcc_Tensor:$input, Variadic<Index>:$dynamic_dims);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = [{
    $input (`[` $dynamic_dims^ `]`)? attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Qcc_ExpandOp : Qcc_Op<"expand", [Pure, Qcc_SameScale]> {
  let summary = "broadcast to the result type";
  let arguments = (ins Qcc_Tensor:$input, Variadic<Index>:$dynamic_dims);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = [{
    $input (`[` $dynamic_dims^ `]`)? attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qcc_FillOp : Qcc_Op<"fill", [Pure]> {
  let summary = "a tensor of the result type filled with one value";
  let arguments = (ins Variadic<Index>:$dynamic_dims, TypedAttrInterface:$value);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = "(`[` $dynamic_dims^ `]`)? $value attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Qcc_TransposeOp : Qcc_Op<"transpose", [Pure, Qcc_SameScale]> {
  let summary = "permute dimensions: result dim i is input dim perm[i]";
  let arguments = (ins Qcc_Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Qcc_ConcatOp : Qcc_Op<"concat", [Pure, Qcc_SameScale]> {
  let summary = "concatenate along an axis";
  let arguments = (ins Variadic<Qcc_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` `(` type($inputs) `)` `->` type($result)";
  let hasVerifier = 1;
}

def Qcc_SliceOp : Qcc_Op<"slice", [Pure, AttrSizedOperandSegments, Qcc_SameScale]> {
  let summary = "strided slice with static or dynamic offsets and sizes";
  let description = [{
    Takes `sizes[i]` elements of dimension `i` starting at `offsets[i]` with
    stride `strides[i]` (positive). Offsets and sizes are constants or index
    operands, as in `tensor.extract_slice`.
  }];
  let arguments = (ins Qcc_Tensor:$input, Variadic<Index>:$offsets,
      Variadic<Index>:$sizes, DenseI64ArrayAttr:$static_offsets,
      DenseI64ArrayAttr:$static_sizes, DenseI64ArrayAttr:$strides);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = [{
    $input
    custom<DynamicIndexList>($offsets, $static_offsets)
    custom<DynamicIndexList>($sizes, $static_sizes)
    attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qcc_GatherOp : Qcc_Op<"gather", [Pure, Qcc_SameScale]> {
  let summary = "gather slices along an axis (ONNX Gather)";
  let description = [{
    Result shape is `data.shape[:axis] + indices.shape + data.shape[axis+1:]`.
    Negative indices count from the end of the axis.
  }];
  let arguments = (ins Qcc_Tensor:$data, Qcc_IntTensor:$indices, I64Attr:$axis);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = [{
    $data `[` $indices `]` attr-dict `:` `(` type($data) `,` type($indices) `)`
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qcc_RangeOp : Qcc_Op<"range", [Pure]> {
  let summary = "1-D sequence start, start + delta, ... below limit";
  let arguments = (ins Qcc_Tensor:$start, Qcc_Tensor:$limit, Qcc_Tensor:$delta);
  let results = (outs Qcc_Tensor:$result);
  let assemblyFormat = [{
    $start `,` $limit `,` $delta attr-dict `:` type($start) `,` type($limit) `,`
    type($delta) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qcc_DimOp : Qcc_Op<"dim", [Pure]> {
  let summary = "one dimension of a tensor as an index";
  let arguments = (ins Qcc_Tensor:$input, I64Attr:$index);
  let results = (outs Index:$result);
  let assemblyFormat = "$input `,` $index attr-dict `:` type($input)";
  let hasVerifier = 1;
  let hasFolder = 1;
  // Traces a dynamic dim back through shape-preserving producers to the
  // value that introduced it, so equal sizes become the same SSA value.
  let hasCanonicalizer = 1;
}

def Qcc_ShapeOp : Qcc_Op<"shape", [Pure]> {
  let summary = "the shape of a tensor as a 1-D i64 tensor";
  let arguments = (ins Qcc_Tensor:$input);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

def Qcc_QuantizeOp : Qcc_Op<"quantize", [Pure]> {
  let summary = "float to integer: clamp(round_half_even(x / scale) + zp)";
  let description = [{
    Quantizes `input` with the scheme `params`. `scale` (and `zero_point`,
    present exactly when the scheme is asymmetric) have the shape
    `params.getScaleShape(input.shape)`. The result stores the integers in a
    signless integer tensor of the scheme's width.
  }];
  let arguments = (ins Qcc_FloatTensor:$input, Qcc_FloatTensor:$scale,
      Optional<Qcc_IntTensor>:$zero_point, Qcc_QuantParamsAttr:$params);
  let results = (outs Qcc_IntTensor:$result);
  let assemblyFormat = [{
    $params $input `,` $scale (`,` $zero_point^)? attr-dict `:` `(`
    type($input) `,` type($scale) (`,` type($zero_point)^)? `)` `->` type($result)
  }];
  let hasVerifier = 1;
  // quantize(dequantize(q)) with identical scale, zero point and scheme is q
  // exactly. The reverse pair is a lossy fake-quant and is not folded.
  let hasFolder = 1;
}

def Qcc_DequantizeOp : Qcc_Op<"dequantize", [Pure]> {
  let summary = "integer to float: (q - zp) * scale";
  let arguments = (ins Qcc_IntTensor:$input, Qcc_FloatTensor:$scale,
      Optional<Qcc_IntTensor>:$zero_point, Qcc_QuantParamsAttr:$params);
  let results = (outs Qcc_FloatTensor:$result);
  let assemblyFormat = [{
    $params $input `,` $scale (`,` $zero_point^)? attr-dict `:` `(`
    type($input) `,` type($scale) (`,` type($zero_point)^)? `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qcc_RequantizeOp : Qcc_Op<"requantize", [Pure]> {
  let summary = "integer rescale by fixed-point multiplier and shift";
  let description = [{
    `out = clamp(((in - input_zp) * multiplier + 2^(shift-1)) >> shift
    + output_zp)` computed in 64-bit, the rounding adding half before the
    arithmetic shift (round half up). One multiplier/shift pair per tensor,
    or one per index of `axis` when `axis` is set. The result scheme is
    `params`; `input_params` is the input's scheme (it says whether the
    stored integers are unsigned), absent for a signed accumulator.
  }];
  let arguments = (ins Qcc_IntTensor:$input, DenseI32ArrayAttr:$multiplier,
      DenseI32ArrayAttr:$shift, I64Attr:$input_zp, I64Attr:$output_zp,
      OptionalAttr<I64Attr>:$axis, Qcc_QuantParamsAttr:$params,
      OptionalAttr<Qcc_QuantParamsAttr>:$input_params);
  let results = (outs Qcc_IntTensor:$result);
  let assemblyFormat = "$params $input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Qcc_DynamicQuantizeOp : Qcc_Op<"dynamic_quantize", [Pure]> {
  let summary = "quantize with scales computed from the data at run time";
  let description = [{
    Computes the scale (and zero point for asymmetric schemes) from the
    min/max of each quantization block of `input` at run time, then
    quantizes. Per-tensor u8 asymmetric is ONNX DynamicQuantizeLinear;
    `per_axis(rank-2)` on activations is per-token quantization.
  }];
  let arguments = (ins Qcc_FloatTensor:$input, Qcc_QuantParamsAttr:$params);
  let results = (outs Qcc_IntTensor:$result, Qcc_FloatTensor:$scale,
      Optional<Qcc_IntTensor>:$zero_point);
  let assemblyFormat = "$params $input attr-dict `:` type($input) `->` type(results)";
  let hasVerifier = 1;
}

def Qcc_ObserveOp : Qcc_Op<"observe", [SameOperandsAndResultType]> {
  let summary = "calibration probe: records statistics, returns its input";
  let arguments = (ins Qcc_FloatTensor:$input, StrAttr:$name);
  let results = (outs Qcc_FloatTensor:$result);
  let assemblyFormat = "$input $name attr-dict `:` type($result)";
}

def Qcc_QMatMulOp : Qcc_Op<"qmatmul", [Pure, AttrSizedOperandSegments]> {
  let summary = "integer matmul with i32 accumulation (ONNX MatMulInteger)";
  let description = [{
    `sum_k (lhs[m, k] - lhs_zp) * (rhs[k, n] - rhs_zp)` in i32, the operands
    widened per their schemes' signedness. Batch dims broadcast as in matmul.

    With `out_scale` (f32, one value or one per output column) the result
    is f32: each i32 sum converted to f32 and multiplied by its column's
    scale, the same two roundings as `qcc.cast` then `qcc.mul`, done in the
    kernel's epilogue (see `qcc-fuse-qmatmul-scale`).
  }];
  let arguments = (ins Qcc_IntTensor:$lhs, Qcc_IntTensor:$rhs,
      Optional<Qcc_IntTensor>:$lhs_zero_point,
      Optional<Qcc_IntTensor>:$rhs_zero_point,
      Optional<Qcc_FloatTensor>:$out_scale,
      Qcc_QuantParamsAttr:$lhs_params, Qcc_QuantParamsAttr:$rhs_params);
  let results = (outs RankedTensorOf<[I32, F32]>:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`lhs_zp` $lhs_zero_point^ `:` type($lhs_zero_point))?
    (`rhs_zp` $rhs_zero_point^ `:` type($rhs_zero_point))?
    (`scale` $out_scale^ `:` type($out_scale))? attr-dict `:`
    `(` type($lhs) `,` type($rhs) `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qcc_QLinearOp : Qcc_Op<"qlinear", [Pure, AttrSizedOperandSegments]> {
  let summary = "linear layer with a quantized weight";
  let description = [{
    `result = input x dequantize(weight) + bias (+ residual)`, `weight` being `[K, N]`
    integers (possibly packed, see `#qcc.packed`) with scheme
    `weight_params` whose axis is the reduction axis 0 for per-group or the
    output axis 1 for per-channel. Without `act_params` the activations stay
    float (weight-only quantization); with them, each row of `input` is
    quantized dynamically with that scheme before the integer dot products,
    or, with `act_scale` (static quantization from calibration), every row
    with that one scale, values clamped to [-qmax, qmax].
    The dequantized weight is a semantic device only: kernels never build it.
    `residual`, of the result's type, is added last (after the bias), as a
    separate `qcc.add` would: the kernels fuse a transformer's skip
    connection into their epilogue (see `qcc-fuse-residual`).
  }];
  let arguments = (ins Qcc_FloatTensor:$input, Qcc_IntTensor:$weight,
      Qcc_FloatTensor:$weight_scale, Optional<Qcc_IntTensor>:$weight_zero_point,
      Optional<Qcc_FloatTensor>:$bias, Optional<Qcc_FloatTensor>:$residual,
      Qcc_QuantParamsAttr:$weight_params,
      OptionalAttr<Qcc_QuantParamsAttr>:$act_params, OptionalAttr<F32Attr>:$act_scale);
  let results = (outs Qcc_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $weight_scale
    (`zp` $weight_zero_point^ `:` type($weight_zero_point))?
    (`bias` $bias^ `:` type($bias))? (`residual` $residual^ `:` type($residual))?
    attr-dict `:` `(` type($input) `,` type($weight) `,` type($weight_scale) `)`
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qcc_PackedConstantOp : Qcc_Op<"packed_constant", [Pure, ConstantLike]> {
  let summary = "a weight constant in a kernel's physical tile layout";
  let description = [{
    `value` holds the packed bytes (i8 elements); the result type's shape is
    the logical weight shape and its `#qcc.packed` encoding the layout.
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Qcc_IntTensor:$result);
  let assemblyFormat = "$value attr-dict `:` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

#endif // QCC_OPS_TD
