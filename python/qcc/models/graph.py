"""A small graph-building helper over onnx.helper with exporter-style idioms."""
import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh


class GraphBuilder:
    def __init__(self, name):
        self.name = name
        self.nodes, self.inits, self.inputs, self.outputs = [], [], [], []
        self._count = {}
        self._consts = {}

    def fresh(self, base):
        n = self._count.get(base, 0)
        self._count[base] = n + 1
        return f"{base}_{n}" if n else base

    def input(self, name, dtype, shape):
        self.inputs.append(h.make_tensor_value_info(name, dtype, shape))
        return name

    def output(self, name, dtype=T.FLOAT, shape=None):
        self.outputs.append(h.make_tensor_value_info(name, dtype, shape))

    def weight(self, name, array):
        self.inits.append(nh.from_array(np.array(array, order="C", copy=True), name))
        return name

    def const(self, value, dtype=np.int64):
        """A small constant initializer, shared by value."""
        arr = np.asarray(value, dtype=dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key not in self._consts:
            self._consts[key] = self.weight(self.fresh("const"), arr)
        return self._consts[key]

    def op(self, op_type, inputs, n_out=1, name=None, domain="", **attrs):
        name = self.fresh(name or op_type.lower())
        outs = [f"{name}_out{i}" if n_out > 1 else f"{name}_out" for i in range(n_out)]
        self.nodes.append(h.make_node(op_type, list(inputs), outs, name=name, domain=domain, **attrs))
        return outs if n_out > 1 else outs[0]

    # Exporter idioms -------------------------------------------------------
    def dim(self, x, i):
        """Shape(x)[i] as a 1-element int64 tensor (Shape -> Gather -> Unsqueeze)."""
        s = self.op("Shape", [x])
        g = self.op("Gather", [s, self.const(i)], axis=0)
        return self.op("Unsqueeze", [g, self.const([0])])

    def reshape_dims(self, x, parts):
        """Reshape to a shape mixing dims of tensors and constants."""
        pieces = [p if isinstance(p, str) else self.const([p]) for p in parts]
        shape = self.op("Concat", pieces, axis=0)
        return self.op("Reshape", [x, shape])

    def linear(self, x, w, b=None, name=None):
        y = self.op("MatMul", [x, w], name=name)
        return self.op("Add", [y, b]) if b is not None else y

    def save(self, path, opset=17, external_data=False):
        graph = h.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.inits)
        model = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)],
                             producer_name="qcc.models")
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=False)
        if external_data:
            import os
            loc = os.path.basename(path) + ".data"
            onnx.save(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                      location=loc, size_threshold=1024)
        else:
            onnx.save(model, path)
        return model
