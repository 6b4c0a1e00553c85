"""Float matmul-layer and whole-decoder benchmark: qcc vs onnxruntime fp32.

    python bench/bench_float.py [--threads 2] [--out bench/results_float.md]

Each case is one ONNX model run by onnxruntime (CPU provider, the given
thread count) and by the qcc artifact compiled from the same file (through
its C API in this process), on the same inputs. Times are medians of
repeated runs after warm-up, the two runtimes alternating in blocks of
calls. Prints a table and writes it to --out.

Idle workers of one runtime spinning while the other runs would take cores
from it on a small machine: each block ends with a pause long enough for
them to go to sleep.
"""
import argparse
import ctypes
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
from qcc.models import llama  # noqa: E402


class Artifact:
    """A compiled model driven through its C API with ctypes."""

    def __init__(self, qcc, onnx_path, workdir, name, threads, flags=()):
        subprocess.run([str(qcc), str(onnx_path), "-o", str(workdir / name), f"--name={name}",
                        *flags], check=True, stdout=subprocess.DEVNULL)
        self.lib = ctypes.CDLL(str(workdir / f"lib{name}.so"))
        f = lambda n: getattr(self.lib, f"{name}_{n}")
        self.inst = ctypes.c_void_p()
        assert f("create")(ctypes.byref(self.inst)) == 0
        assert f("set_num_threads")(self.inst, threads) == 0
        self.run_fn = f("run")
        self.n_in = f("num_inputs")()
        self.destroy_fn = f("destroy")

    def close(self):
        """Stops the instance's worker threads."""
        self.destroy_fn(self.inst)
        self.inst = None

    def run(self, arrays):
        ptrs = (ctypes.c_void_p * self.n_in)(*[a.ctypes.data for a in arrays])
        shapes = [np.array(a.shape, np.int64) for a in arrays]
        sp = (ctypes.c_void_p * self.n_in)(*[s.ctypes.data for s in shapes])
        assert self.run_fn(self.inst, ptrs, sp) == 0


def time_pair(args, opts, work, name, qcc_path, ort_path, inputs, per=1, flags=(), best=False,
              then=None):
    """Median times (per `per` layers) of the qcc artifact compiled from
    qcc_path with `flags` and of onnxruntime on ort_path, on each input
    dict; with `best`, qcc's fastest call as a third list. The two
    alternate in blocks of calls, so a slow spell of the shared machine
    falls on both alike; a pause after each block lets the idle workers of
    one stop spinning before the other runs. With `then`, its results on
    (qcc call, onnxruntime call, input dict) for each input are one more
    list."""
    order = [i.name for i in onnx.load(str(qcc_path), load_external_data=False).graph.input]
    art = Artifact(args.qcc, qcc_path, work, name, args.threads, flags)
    sess = ort.InferenceSession(str(ort_path), opts, providers=["CPUExecutionProvider"])
    t_qcc, t_ort, b_qcc, more = [], [], [], []
    for f in inputs:
        a = [np.ascontiguousarray(f[n]) for n in order]
        fq, fo = (lambda: art.run(a)), (lambda: sess.run(None, f))
        tq, to, bq = alternate(fq, fo)
        t_qcc.append(tq / per)
        t_ort.append(to / per)
        b_qcc.append(bq / per)
        if then:
            more.append(then(fq, fo, f))
    art.close()
    del sess
    out = (t_qcc, t_ort, b_qcc) if best else (t_qcc, t_ort)
    return out + (more,) if then else out


def alternate(fa, fb, blocks=10, reps=5, budget=40.0, warm=0.02):
    """Medians of fa's and fb's times over `blocks` alternating blocks of
    `reps` calls, and fa's fastest. Each block starts with warm-up calls
    for at least `warm` seconds (one call at least): after the pause, a
    runtime's sleeping workers take up to a millisecond or more to wake on
    this VM, and the machine itself runs slow for about 10 ms (one thread
    alone, calls of 0.75 ms took 1.2 ms right after a 50 ms sleep and came
    down over ten calls), and the timed calls are meant to see the steady
    state of a loop of back-to-back calls."""
    ta, tb, start = [], [], time.perf_counter()
    for _ in range(blocks):
        for fn, out in ((fa, ta), (fb, tb)):
            t0 = time.perf_counter()
            fn()
            while time.perf_counter() - t0 < warm:
                fn()
            for _ in range(reps):
                t0 = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t0)
            time.sleep(0.05)
        if time.perf_counter() - start > budget:
            break
    return statistics.median(ta), statistics.median(tb), min(ta)


def matmul_model(path, k, n, layers):
    rng = np.random.default_rng(0)
    nodes, inits, prev = [], [], "x"
    for i in range(layers):
        # Alternate K x N and N x K so the layers chain; distinct weights so
        # each pass streams from memory.
        shape = (k, n) if i % 2 == 0 else (n, k)
        inits.append(nh.from_array((rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32), f"w{i}"))
        nodes.append(h.make_node("MatMul", [prev, f"w{i}"], [f"y{i}"]))
        prev = f"y{i}"
    g = h.make_graph(nodes, "mm", [h.make_tensor_value_info("x", T.FLOAT, ["m", k])],
                     [h.make_tensor_value_info(prev, T.FLOAT, None)], inits)
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)]), path)


def bench_args(results_name):
    """The options every benchmark script takes."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--qcc", default=str(ROOT / "build" / "bin" / "qcc"))
    ap.add_argument("--out", default=str(ROOT / "bench" / results_name))
    ap.add_argument("--quick", action="store_true", help="smaller shapes, for a smoke run")
    return ap


def main():
    args = bench_args("results_float.md").parse_args()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    work = pathlib.Path(tempfile.mkdtemp(prefix="qcc-bench-"))
    rows = []

    def measure(label, path, name, inputs, per=1):
        """Median time of qcc, then of onnxruntime, on the same inputs."""
        rows.extend(zip(label, *time_pair(args, opts, work, name, path, path, inputs, per)))

    # Alternating K x N and N x K layers: both shapes of a transformer's MLP
    # (4096 x 14336 and 14336 x 4096) are timed, per layer.
    shapes = [(1024, 1024)] if args.quick else [(4096, 4096), (4096, 14336)]
    for k, n in shapes:
        path = work / f"mm_{k}_{n}.onnx"
        layers = 2
        matmul_model(path, k, n, layers)
        ms = (1, 128)
        xs = [{"x": np.random.default_rng(1).standard_normal((m, k)).astype(np.float32)} for m in ms]
        dims = f"{k}x{n}" if k == n else f"{k}x{n} + {n}x{k}"
        measure([f"matmul M={m}, {dims} (per layer)" for m in ms], path, f"mm{k}x{n}", xs, layers)
        path.unlink()
    # Whole decoder, float: prefill 32 tokens, then one decode step.
    cfg = llama.SIZES["medium"]
    path = work / "llama.onnx"
    llama.build(str(path), cfg)
    feeds = []
    for s, p in ((32, 0), (1, 32)):
        past = [(np.zeros((1, cfg.kv_heads, p, cfg.head_dim), np.float32),) * 2 for _ in range(cfg.layers)]
        feeds.append(llama.feeds(cfg, np.ones((1, s), np.int64), past))
    measure(["decoder prefill 32 tok", "decoder decode 1 tok"], path, "llama", feeds)

    lines = [f"qcc vs onnxruntime {ort.__version__}, fp32, {args.threads} threads each", "",
             "| case | qcc ms | onnxruntime ms | onnxruntime/qcc speed ratio |", "|---|---|---|---|"]
    for label, tq, to in rows:
        lines.append(f"| {label} | {tq * 1e3:.3f} | {to * 1e3:.3f} | {to / tq:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    pathlib.Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
