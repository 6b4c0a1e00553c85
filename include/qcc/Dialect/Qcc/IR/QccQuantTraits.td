//===- QccQuantTraits.td - scale propagation rules ----------*- tablegen -*-===//
//
// How an op relates the quantization scales of its operands and results.
// qcc-propagate-scales reads these to decide where integers may flow through
// an op unchanged, where a scale is fixed by the op's math, and where values
// must stay float.
//
//===----------------------------------------------------------------------===//
#ifndef QCC_QUANT_TRAITS_TD
#define QCC_QUANT_TRAITS_TD

include "mlir/IR/OpBase.td"

// The op only moves, copies or selects elements of its float tensor operands:
// quantized inputs that share one per-tensor scale and zero point give a
// result with that same scale and zero point, so the op may run on the
// integers.
def Qcc_SameScale : NativeOpTrait<"QuantSameScale"> {
  let cppNamespace = "::qcc::QuantTrait";
}

// The op computes in float whatever the schemes around it (normalizations and
// softmax, whose accuracy depends on float statistics of the whole row).
def Qcc_StaysFloat : NativeOpTrait<"QuantStaysFloat"> {
  let cppNamespace = "::qcc::QuantTrait";
}

def Qcc_FixedRangeOpInterface : OpInterface<"FixedRangeOpInterface"> {
  let cppNamespace = "::qcc";
  let description = [{
    An op whose result lies in a range known from its math (softmax and
    sigmoid in [0, 1], tanh in [-1, 1]): a quantized consumer takes its scale
    from that range rather than from calibration statistics.
  }];
  let methods = [
    InterfaceMethod<"The closed interval every result value lies in.",
        "std::pair<double, double>", "getFixedOutputRange">,
  ];
}

#endif // QCC_QUANT_TRAITS_TD
