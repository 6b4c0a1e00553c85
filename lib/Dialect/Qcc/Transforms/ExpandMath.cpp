//===- ExpandMath.cpp - qcc-expand-math -----------------------------------===//
//
// Compiled models must not depend on the target's libm: transcendental ops
// become polynomial approximations in plain arithmetic.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace qcc {
#define GEN_PASS_DEF_QCCEXPANDMATH
#include "qcc/Dialect/Qcc/Transforms/Passes.h.inc"
} // namespace qcc

using namespace mlir;

namespace {
struct QccExpandMathPass : qcc::impl::QccExpandMathBase<QccExpandMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateExpandPowFPattern(patterns);
    populateExpandTanhPattern(patterns);
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
