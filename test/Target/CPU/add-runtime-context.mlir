// RUN: qcc-opt %s --qcc-add-runtime-context --qcc-add-runtime-context | FileCheck %s

// Public functions with a body get the context first, once; declarations
// and private functions keep their signatures.
// CHECK-LABEL: func @entry(%arg0: !llvm.ptr {qcc.runtime_context}, %arg1: tensor<4xf32> {qcc.name = "x"}) -> tensor<4xf32>
func.func @entry(%x: tensor<4xf32> {qcc.name = "x"}) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
// CHECK-LABEL: func private @helper(%arg0: tensor<4xf32>)
func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
// CHECK-LABEL: func private @external(tensor<4xf32>)
func.func private @external(tensor<4xf32>)
