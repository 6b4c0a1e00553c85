"""Runs models compiled by qcc from Python, for tests.

The model is compiled once into an artifact; its shared library's generated
entry point `_mlir_ciface_<name>_forward` is called through ctypes with
a run-time context (null: one thread) and memref descriptors built from
numpy arrays, and the manifest says the
inputs' and outputs' names, element types and ranks.
"""
import ctypes
import json
import subprocess

import numpy as np

_CTYPES = {np.float32: ctypes.c_float, np.int64: ctypes.c_int64, np.int32: ctypes.c_int32,
           np.bool_: ctypes.c_bool, np.float64: ctypes.c_double, np.int8: ctypes.c_int8,
           np.uint8: ctypes.c_uint8, np.int16: ctypes.c_int16, np.uint16: ctypes.c_uint16,
           np.uint32: ctypes.c_uint32, np.uint64: ctypes.c_uint64, np.float16: ctypes.c_uint16}
# The manifest's dtype names; types numpy cannot hold (bfloat16) are absent.
_DTYPES = {"float32": np.float32, "int64": np.int64, "int32": np.int32, "bool": np.bool_,
           "float64": np.float64, "int8": np.int8, "uint8": np.uint8, "int16": np.int16,
           "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64, "float16": np.float16}


def _descriptor(rank):
    fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
              ("offset", ctypes.c_int64)]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"MemRef{rank}D", (ctypes.Structure,), {"_fields_": fields})


class CompiledModel:
    _count = 0

    def __init__(self, qcc_bin, onnx_path, workdir, extra_args=()):
        # dlopen caches by path: every compiled model gets its own name.
        CompiledModel._count += 1
        name = f"model{CompiledModel._count}"
        subprocess.run([str(qcc_bin), str(onnx_path), "-o", str(workdir / name), f"--name={name}",
                        *extra_args], check=True, capture_output=True)
        # Linked by clang rather than taking the artifact's lib<name>.so:
        # f32 <-> f16 conversions for CPUs without F16C still call
        # compiler-rt/libgcc helpers that lld alone does not provide.
        lib = workdir / f"{name}_test.so"
        subprocess.run(["clang-19", "-shared", "-fuse-ld=lld", str(workdir / f"{name}.o"), "-o", str(lib),
                        "-lm"], check=True)
        self.lib = ctypes.CDLL(str(lib))
        self.fn = getattr(self.lib, f"_mlir_ciface_{name}_forward")
        self.fn.restype = None
        manifest = json.loads((workdir / f"{name}.json").read_text())
        self.inputs = [(t["name"], _DTYPES.get(t["dtype"])) for t in manifest["inputs"]]
        self.outputs = [(t["name"], _DTYPES.get(t["dtype"]), len(t["shape"]))
                        for t in manifest["outputs"]]

    def __call__(self, feeds):
        args, keep = [], []
        for name, dtype in self.inputs:
            arr = np.ascontiguousarray(feeds[name], dtype=dtype)
            keep.append(arr)
            d = _descriptor(arr.ndim)()
            d.allocated = d.aligned = arr.ctypes.data
            d.offset = 0
            if arr.ndim:
                d.sizes[:] = arr.shape
                d.strides[:] = [s // arr.itemsize for s in arr.strides]
            args.append(ctypes.pointer(d))
        ranks = [rank for _, _, rank in self.outputs]
        descs = [_descriptor(r) for r in ranks]
        if len(descs) == 1:
            result = descs[0]()
            self.fn(ctypes.pointer(result), None, *args)
            results = [result]
        else:
            Results = type("Results", (ctypes.Structure,),
                           {"_fields_": [(f"r{i}", t) for i, t in enumerate(descs)]})
            packed = Results()
            self.fn(ctypes.pointer(packed), None, *args)
            results = [getattr(packed, f"r{i}") for i in range(len(descs))]
        outs = []
        for (_, dtype, rank), d in zip(self.outputs, results):
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
