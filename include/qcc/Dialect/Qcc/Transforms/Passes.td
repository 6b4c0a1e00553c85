//===- Passes.td - qcc dialect passes ----------------------*- tablegen -*-===//
#ifndef QCC_TRANSFORMS_PASSES_TD
#define QCC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def QccFuseNormalizations : Pass<"qcc-fuse-normalizations", "mlir::func::FuncOp"> {
  let summary = "fuse decomposed LayerNorm and RMSNorm into qcc.layer_norm / qcc.rms_norm";
  let description = [{
    Exporters often spell normalizations out as ReduceMean / Sub / Pow / Sqrt
    / Div / Mul / Add chains. This pass recognizes
    `x * rsqrt(mean(x^2) + eps) * w` (RMSNorm) and
    `(x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) * w + b` (LayerNorm)
    over the last axis and replaces them with the fused ops, which later
    passes treat as a unit.
  }];
  let dependentDialects = ["::qcc::QccDialect"];
}

def QccFuseActivations : Pass<"qcc-fuse-activations", "mlir::func::FuncOp"> {
  let summary = "fuse decomposed GELU and SiLU into qcc.gelu / qcc.silu";
  let description = [{
    Recognizes `0.5 * x * (1 + erf(x / sqrt(2)))` as exact GELU,
    `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))` as tanh GELU and
    `x * sigmoid(x)` as SiLU.
  }];
  let dependentDialects = ["::qcc::QccDialect"];
}

def QccExpandMath : Pass<"qcc-expand-math"> {
  let summary = "expand transcendental math ops into polynomial approximations";
  let description = [{
    Rewrites `math.exp`, `log`, `tanh`, `erf`, `powf` and friends into
    arithmetic (MLIR's polynomial approximations), so compiled models do not
    call the platform's libm and give the same results everywhere.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def QccQuantizeWeights : Pass<"qcc-quantize-weights", "mlir::func::FuncOp"> {
  let summary = "quantize the constant weights of linear layers into qcc.qlinear";
  let description = [{
    Rewrites each `qcc.matmul` whose right operand is a constant 2-D f32,
    f16 or bf16 weight `[K, N]` (a linear layer; a following `qcc.add` of a
    constant `[N]` bias is folded in) into `qcc.qlinear` with integer
    weights (an f16 / bf16 layer computes in f32 between `qcc.cast`s, so it
    runs on the same kernels):

    * `bits=8|4`, symmetric signed (`s8`, `s4`: scale = max|w| / qmax) or,
      with `asym`, unsigned with a zero point over [min(w, 0), max(w, 0)];
    * `group=0`: one scale per output column; `group=g`: one per block of g
      along K, the last block shorter when g does not divide K;
    * `algo=rtn` rounds to nearest; `algo=mse` searches, per scale block, a
      clipping ratio (1.0, 0.98, ..., 0.52 of the range) minimizing the
      weight reconstruction error; `algo=gptq` fixes each group's range by
      that search, then quantizes input rows in order of decreasing Hessian
      diagonal and compensates each row's rounding error on the rows still
      to come through the layer's calibration Hessian (`qcc.calib_hessian`,
      X^T X / n over the calibration inputs, set by the driver), damped by
      adding `damp` (default 0.1) times its mean diagonal (a few hundred
      calibration tokens span only part of a wide layer's input space; the
      damping keeps the updates from fitting the directions the samples
      leave out); `algo=awq` (activation-aware scaling)
      multiplies input row k of the weight by s_k = a_k^alpha, a_k the
      input's RMS from the calibration Hessian's diagonal, and the layer's
      input by 1 / s_k (a `qcc.mul` before the layer), alpha chosen from
      0, 0.1, ..., 1 by the output error sum_k H_kk |w_k - dq_k / s_k|^2 of
      the clipping-searched quantization (the report gives `awq_alpha`);
    * `scale-type=f16` stores the weight scales as f16 (each rounded to
      nearest; the scheme's `scale = f16`), halving their bytes;
    * `act=dynamic` adds int8 per-row activations (`act_params`);
      `act=static` int8 activations with one scale per layer,
      `act_scale = T / 127` for the range T the calibration chose
      (`qcc.calib_range`, else the largest |x|, `qcc.calib_absmax`; both set
      by the driver, and a layer without them is an error); `none` keeps
      activations float (weight-only).

    Products with non-constant operands (attention) stay float. A linear
    whose result is a function result (a language model's head) keeps 8-bit
    per-column weights when fewer bits are asked for: its error reaches the
    output unattenuated.

    A `qcc.quant_override` dictionary on a matmul (the driver sets them from
    a recipe) overrides the options for that layer: `float` keeps it float,
    `bits`, `group`, `asym`, `algo` replace the pass's values.

    Every rewritten layer carries `qcc.quant_report`: its name (the ONNX node
    name), scheme, algorithm and weight SQNR in dB (signal over
    reconstruction error power) and, with a calibration Hessian, the layer
    output's SQNR on the calibration inputs, tr(W^T H W) / tr(D^T H D) for
    the weight error D; drivers print them.
  }];
  let options = [
    Option<"bits", "bits", "unsigned", /*default=*/"8", "Weight bits (4 or 8)">,
    Option<"group", "group", "int64_t", /*default=*/"0",
           "Group size along K (0: one scale per output column)">,
    Option<"asym", "asym", "bool", /*default=*/"false",
           "Unsigned weights with zero points">,
    Option<"algo", "algo", "std::string", /*default=*/"\"rtn\"",
           "Weight rounding: rtn, mse, gptq or awq">,
    Option<"damp", "damp", "double", /*default=*/"0.1",
           "GPTQ: fraction of the Hessian's mean diagonal added to its diagonal">,
    Option<"scaleType", "scale-type", "std::string", /*default=*/"\"f32\"",
           "Weight scale storage: f32, or f16 (rounded to nearest; half the bytes)">,
    Option<"act", "act", "std::string", /*default=*/"\"none\"",
           "Activations: none (float), dynamic (int8 per row) or static (int8, calibrated scale)">
  ];
  let dependentDialects = ["::qcc::QccDialect"];
}

def QccQuantizeAttention : Pass<"qcc-quantize-attention", "mlir::func::FuncOp"> {
  let summary = "run products of two activations (attention) on int8";
  let description = [{
    Rewrites each `qcc.matmul` whose operands are both non-constant f32
    activations (the attention scores `Q K^T` and the weighted sum `P V`)
    into `qcc.qmatmul` on int8 operands with i32 accumulation, the result
    `float(acc) * (s_lhs * s_rhs)`. Each operand is quantized symmetric per
    tensor: with a scale fixed by the range of the op it comes from (through
    same-scale ops) when that op has one (a softmax's probabilities take
    1 / 127), else with `qcc.dynamic_quantize` (max|x| / 127 at run time).
    The product carries a `qcc.quant_report` record, as quantized linear
    layers do.
  }];
  let dependentDialects = ["::qcc::QccDialect", "::mlir::arith::ArithDialect"];
}

def QccPropagateScales : Pass<"qcc-propagate-scales", "mlir::func::FuncOp"> {
  let summary = "move integers through scale-preserving ops and requantize between scales";
  let description = [{
    Applies the ops' quantization traits (see the dialect reference) to a
    graph with explicit `qcc.quantize` / `qcc.dequantize`, as pre-quantized
    (QDQ) models import, so values stay integers as far as they can:

    * same scale: a `Qcc_SameScale` op (reshape, transpose, expand, slice,
      gather, concat, identity) whose float operands are all per-tensor
      dequantized with one scheme, scale and zero point runs on the integers,
      and its result is dequantized after it;
    * conflicts: when the inputs of a concat carry different scales or zero
      points of one storage type, each input is requantized to one scheme
      and the concat runs on the integers: the scheme of the quantize that
      consumes the concat when there is one (values round once), else that
      of the widest input (largest scale x integer range: nothing clips);
    * cleanup: `quantize(dequantize(x))` with equal scheme, scale and zero
      point is `x`; with other per-tensor constant scales it becomes
      `qcc.requantize` by the fixed-point multiplier and shift of
      input scale / output scale (round half up: see docs/Quantization.md);
      a per-axis input scale gives one multiplier per channel;
    * fixed output range: a linear layer with a static activation scale whose
      input comes, through same-scale ops, from a `FixedRangeOpInterface` op
      (softmax, sigmoid, tanh) takes its scale from that range,
      max(|lo|, |hi|) / qmax, instead of from calibration;
    * axis schemes through transposes: `transpose(dequantize(x))` with
      per-axis or per-group scales becomes `dequantize(transpose(x))` with
      the axis where the transpose moves it (per-group scales and zero
      points transposed too), so weights stored transposed (Gemm with
      `transB`) become `[K, N]` integer constants once the transposes of
      constants fold;
    * `Qcc_StaysFloat` ops (layer_norm, rms_norm, softmax) and ops without
      a rule keep float operands: the dequantize stays before them.

    Only constant scales and zero points are compared; dynamic ones (from
    `qcc.dynamic_quantize`) are left as they are.
  }];
  let dependentDialects = ["::qcc::QccDialect"];
}

def QccFuseDequantizedLinear : Pass<"qcc-fuse-dequantized-linear", "mlir::func::FuncOp"> {
  let summary = "turn matmuls of dequantized constant weights into qcc.qlinear or integer matmuls";
  let description = [{
    Pre-quantized models (QDQ format, QLinearMatMul) give linear weights as
    `qcc.dequantize` of a constant `[K, N]` integer tensor feeding
    `qcc.matmul`. This pass rewrites such a matmul into a weight-only
    `qcc.qlinear` on the same integers, scales, zero points and scheme (4-
    or 8-bit; per output column, per group along K, or per tensor), so the
    weights reach the packed kernels instead of being dequantized on every
    call. Other activations are left as they are: a dequantized input stays
    the float operand, so results equal the float definition up to float
    summation order.

    When the activations are themselves a `qcc.dequantize` of 8-bit
    integers with one scale (QDQ activations) and the weight is 8-bit per
    column or per tensor with values minus zero point in [-127, 127] (what
    the int8 kernels take), the scales factor out of the sum instead:
    `matmul(dq(qa), dq(W))` becomes `float(qcc.qmatmul(qa, W)) * (s_a * s_w)`,
    an exact integer product rounded once, which the CPU target runs on its
    int8 kernels.
  }];
  let dependentDialects = ["::qcc::QccDialect"];
}

def QccMergeSiblingLinears : Pass<"qcc-merge-sibling-linears", "mlir::func::FuncOp"> {
  let summary = "merge quantized linear layers that read the same input";
  let description = [{
    Replaces the `qcc.qlinear` ops of a block that read the same input with
    the same weight type and scheme (per output column or per group; not
    per tensor), scale and zero-point types and activation quantization
    (`act_params`, `act_scale`) by one `qcc.qlinear` over their weights,
    scales, zero points and biases concatenated along N (a layer without
    bias contributes zeros), followed by one `qcc.slice` per original layer
    along the last dimension, in program order. A transformer's Q, K and V
    projections, or an FFN's gate and up projections, then quantize their
    shared activation once per row and run as one kernel call over all
    their columns. Every column computes exactly what it did before: the
    per-row activation scale depends only on the input. Weights must be
    unpacked constants, so the pass runs before `qcc-pack-weights`; layers
    with a residual operand are left alone.
  }];
  let dependentDialects = ["::qcc::QccDialect", "::mlir::arith::ArithDialect"];
}

def QccF16Scales : Pass<"qcc-f16-scales", "mlir::func::FuncOp"> {
  let summary = "store the f32 weight scales of quantized linear layers as f16";
  let description = [{
    Rewrites each `qcc.qlinear` whose weight scale is an f32 constant (the
    model's own quantized weights: MatMulNBits, DequantizeLinear weights)
    to an f16 copy of it, rounded to nearest, and sets `scale = f16` in its
    `weight_params`. A packed 4-bit weight in groups of 32 (a byte of zero
    point per group) then takes 4.75 bits instead of 5.25, and decode,
    which streams every weight once, reads that much less. The rounding
    moves each scale by at most 2^-11 of itself. A nonzero scale outside
    f16's normal range (6.1e-5 to 65504 in magnitude) is an error naming the
    layer: it would lose more than that, or become 0 or infinite. Scales
    of 0 stay 0. `qcc --scale-type=f16` runs this pass.
  }];
  let dependentDialects = ["::qcc::QccDialect", "::mlir::arith::ArithDialect"];
}

def QccFuseResidual : Pass<"qcc-fuse-residual", "mlir::func::FuncOp"> {
  let summary = "fold a skip connection's add into the linear layer it follows";
  let description = [{
    Replaces `qcc.add(qcc.qlinear(...), r)` (either operand order), where the
    layer's only use is the add and `r` and the layer's result have the
    add's type (no broadcasting), by the layer with `r` as its `residual`
    operand. The kernels then add `r` in their epilogue, after the bias, as
    the add did: the results are the same bits, without writing the
    layer's output and reading it back. Run after
    `qcc-merge-sibling-linears`, which leaves layers with a residual alone.
  }];
  let dependentDialects = ["::qcc::QccDialect"];
}

def QccFuseQMatMulScale : Pass<"qcc-fuse-qmatmul-scale", "mlir::func::FuncOp"> {
  let summary = "fold the float scaling of an integer matmul into its epilogue";
  let description = [{
    Dynamic int8 graphs (onnxruntime's `quantize_dynamic`, QDQ activations)
    end each integer matmul with `qcc.mul(qcc.cast(qcc.qmatmul(...)), s)`,
    `s` the product of the activation and weight scales: one f32 value or
    one per output column. This pass gives the qmatmul `s` as its
    `out_scale` operand and an f32 result, when the cast and the qmatmul
    have no other use and `s` is f32 of rank 0 or 1 (size 1 or N). The
    kernels then convert and multiply each sum while it is in registers:
    the same two roundings, so the same bits, without writing the i32
    matrix and reading it back in a separate loop.
  }];
  let dependentDialects = ["::qcc::QccDialect"];
}

def QccPackWeights : Pass<"qcc-pack-weights", "mlir::ModuleOp"> {
  let summary = "pack quantized linear and integer matmul weights into the kernels' tile layout";
  let description = [{
    Replaces the constant integer weight of each `qcc.qlinear` that the
    quantized kernels can run by a `qcc.packed_constant` whose type carries
    `#qcc.packed<layout, [group, nr], params>` and whose bytes are the
    layout of docs/Kernels.md: a 64-byte header (K, N, bits, group, nr),
    then for each tile of `nr` output columns and each group of K, the
    weights four K-steps deep per column (int4 as nibble pairs holding k and
    k + 4, offset to unsigned), the group's scales (f32, or f16 when the
    scheme stores f16 scales) and, for int4, its zero points. Per-column and per-tensor scales become one group spanning
    K rounded up to 8. Entries past K or N are padding that dequantizes to 0.

    Packed: int4 (signed or with zero points) and signed int8 without zero
    points, per group of a multiple of 8, per column or per tensor. Other
    weights keep their plain constants and the reference lowering.

    The constant `[K, N]` rhs of a `qcc.qmatmul` (8-bit, zero point per
    tensor or per column) is packed for the kernels' int32 variant: one
    group over K, values stored minus their zero point, and each column's
    int32 sum of them in place of the scales (header flag 2). The kernels
    need those centered values in [-127, 127] and one lhs zero point (or one
    per row of a 2-D lhs); other integer matmuls are left alone. The pass
    does nothing without a `layout` (the CPU pipeline names the layout of
    the kernel variant it links for the target).
  }];
  let options = [
    Option<"layout", "layout", "std::string", /*default=*/"\"\"",
           "Kernel family that reads the data, e.g. x86.avx2 (empty: no packing)">,
    Option<"nr", "nr", "int64_t", /*default=*/"8", "Output columns per tile">
  ];
  let dependentDialects = ["::qcc::QccDialect"];
}

def QccInsertObservers : Pass<"qcc-insert-observers", "mlir::func::FuncOp"> {
  let summary = "probe the inputs or outputs of linear layers with qcc.observe";
  let description = [{
    With `probe=inputs`, inserts `qcc.observe %x "<layer>"` on the
    activation input of each linear layer qcc-quantize-weights would rewrite
    (the layer named as in its report), so a calibration run can record what
    the layer sees.

    With `probe=outputs`, observes each layer's output instead: that of a
    quantized `qcc.qlinear`, of a layer kept float, or of a still-float
    quantizable matmul (after its bias add, as qcc-quantize-weights folds
    it), named as in the report. Running a float and a quantized model so
    probed on the same inputs measures every layer's output error.

    Probes are f32: an f16 or bf16 value is widened for its probe and
    narrowed back (exactly) for its users.
  }];
  let options = [
    Option<"probe", "probe", "std::string", /*default=*/"\"inputs\"",
           "What to observe: inputs (calibration) or outputs (error measurement)">
  ];
  let dependentDialects = ["::qcc::QccDialect"];
}

def QccExposeObservers : Pass<"qcc-expose-observers", "mlir::ModuleOp"> {
  let summary = "turn qcc.observe probes into extra function results";
  let description = [{
    Replaces each `qcc.observe` in a public function by its input and
    returns the observed value as an extra result named `qcc_observe_<i>`
    (result attribute `qcc.name`) with the layer in `qcc.observe`. The
    calibration driver compiles this instrumented float model with the CPU
    target, runs it on every sample and folds each exposed activation into
    streaming statistics, so memory stays bounded by one sample.
  }];
}

#endif // QCC_TRANSFORMS_PASSES_TD
