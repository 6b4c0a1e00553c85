"""Runs models compiled by `qcc --emit=obj` from Python, for tests.

The object is linked into a shared library with clang and its
`_mlir_ciface_<fn>` entry point called through ctypes with memref
descriptors built from numpy arrays.
"""
import ctypes
import re
import subprocess

import numpy as np
import onnx

_CTYPES = {np.float32: ctypes.c_float, np.int64: ctypes.c_int64, np.int32: ctypes.c_int32,
           np.bool_: ctypes.c_bool, np.float64: ctypes.c_double, np.int8: ctypes.c_int8,
           np.uint8: ctypes.c_uint8, np.int16: ctypes.c_int16, np.uint16: ctypes.c_uint16,
           np.uint32: ctypes.c_uint32, np.uint64: ctypes.c_uint64, np.float16: ctypes.c_uint16}
_MLIR_DTYPES = {"f32": np.float32, "i64": np.int64, "i32": np.int32, "i1": np.bool_,
                "f64": np.float64, "i8": np.int8, "i16": np.int16, "f16": np.float16}
_ONNX_DTYPES = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.INT64: np.int64,
                onnx.TensorProto.INT32: np.int32, onnx.TensorProto.BOOL: np.bool_,
                onnx.TensorProto.DOUBLE: np.float64, onnx.TensorProto.INT8: np.int8,
                onnx.TensorProto.UINT8: np.uint8, onnx.TensorProto.INT16: np.int16,
                onnx.TensorProto.UINT16: np.uint16, onnx.TensorProto.UINT32: np.uint32,
                onnx.TensorProto.UINT64: np.uint64, onnx.TensorProto.FLOAT16: np.float16}


def _descriptor(rank):
    fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
              ("offset", ctypes.c_int64)]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"MemRef{rank}D", (ctypes.Structure,), {"_fields_": fields})


class CompiledModel:
    _count = 0

    def __init__(self, qcc_bin, onnx_path, workdir, extra_args=()):
        # dlopen caches by path: every compiled model gets its own file.
        CompiledModel._count += 1
        stem = f"model{CompiledModel._count}"
        obj, lib = workdir / f"{stem}.o", workdir / f"{stem}.so"
        subprocess.run([str(qcc_bin), str(onnx_path), "--emit=obj", "-o", str(obj), *extra_args],
                       check=True, capture_output=True)
        subprocess.run(["clang-19", "-shared", "-fuse-ld=lld", str(obj), "-o", str(lib), "-lm"],
                       check=True)
        self.lib = ctypes.CDLL(str(lib))
        graph = onnx.load(str(onnx_path), load_external_data=False).graph
        inits = {i.name for i in graph.initializer}
        self.inputs = [i for i in graph.input if i.name not in inits]
        self.outputs = list(graph.output)
        self.fn = self.lib._mlir_ciface_main
        self.fn.restype = None
        # Result ranks and element types, from the imported signature.
        text = subprocess.run([str(qcc_bin), str(onnx_path), "--emit=mlir", *extra_args],
                              check=True, capture_output=True, text=True).stdout
        results = re.search(r"func\.func @main\(.*\) -> \((.*)\) \{", text)
        types = re.findall(r"tensor<([^>]*)>", results.group(1)) if results else []
        self.output_ranks, self.output_dtypes = [], {}
        for vi, t in zip(self.outputs, types):
            parts = t.split("x")
            self.output_ranks.append(len(parts) - 1)
            self.output_dtypes[vi.name] = _MLIR_DTYPES.get(parts[-1])

    def __call__(self, feeds):
        args, keep = [], []
        for vi in self.inputs:
            arr = np.ascontiguousarray(feeds[vi.name], dtype=_ONNX_DTYPES[vi.type.tensor_type.elem_type])
            keep.append(arr)
            d = _descriptor(arr.ndim)()
            d.allocated = d.aligned = arr.ctypes.data
            d.offset = 0
            if arr.ndim:
                d.sizes[:] = arr.shape
                d.strides[:] = [s // arr.itemsize for s in arr.strides]
            args.append(ctypes.pointer(d))
        ranks = self.output_ranks
        descs = [_descriptor(r) for r in ranks]
        if len(descs) == 1:
            result = descs[0]()
            self.fn(ctypes.pointer(result), *args)
            results = [result]
        else:
            Results = type("Results", (ctypes.Structure,),
                           {"_fields_": [(f"r{i}", t) for i, t in enumerate(descs)]})
            packed = Results()
            self.fn(ctypes.pointer(packed), *args)
            results = [getattr(packed, f"r{i}") for i in range(len(descs))]
        outs = []
        for vi, d, rank in zip(self.outputs, results, ranks):
            dtype = _ONNX_DTYPES.get(vi.type.tensor_type.elem_type, self.output_dtypes[vi.name])
            shape = tuple(d.sizes[:rank]) if rank else ()
            strides = tuple(d.strides[:rank]) if rank else ()
            n = int(np.prod(shape)) if shape else 1
            base = ctypes.cast(d.aligned, ctypes.POINTER(_CTYPES[dtype]))
            flat = np.ctypeslib.as_array(base, shape=(d.offset + max(1, sum((s - 1) * st for s, st in zip(shape, strides)) + 1),))
            if dtype == np.float16:
                flat = flat.view(np.float16)
            view = np.lib.stride_tricks.as_strided(
                flat[d.offset:], shape=shape, strides=[st * np.dtype(dtype).itemsize for st in strides])
            outs.append(np.array(view, copy=True) if n else np.zeros(shape, dtype))
        return outs
