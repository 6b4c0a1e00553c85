"""Quantized linear layers and a 4-bit decoder: qcc vs onnxruntime.

    python bench/bench_quant.py [--threads 2] [--quick] [--no-decoder | --decoder-only]
                                [--out bench/results_quant.md]

Cases, each one ONNX model run by onnxruntime and by the qcc artifact on the
same inputs (see bench/README.md):
  * w4a8: MatMulNBits, 4-bit blocks of 32 with zero points,
    accuracy_level 4 (onnxruntime quantizes activations to int8 per block,
    qcc per row); the same file is compiled by qcc.
  * w4a8 f16: that same file compiled with qcc --scale-type=f16, its
    scales rounded to f16 (4.75 bits per weight instead of 5.25).
  * w4a16: the same weights with accuracy_level 0 (float activations).
  * w8a8: onnxruntime's dynamic int8 graph (DynamicQuantizeLinear +
    MatMulInteger + scale multiply, s8 per-column weights) vs qcc --w8a8
    on the float model (s8 per-column weights, int8 per-row activations).
  * w8a8 onnx: that same onnxruntime graph compiled by qcc (its integer
    matmuls on qcc's int32 kernel, the ONNX definition's results).
  * a Llama-style decoder quantized to MatMulNBits (block 32,
    accuracy_level 4) by onnxruntime's own quantizer, the same file compiled
    by qcc: prefill and decode tokens/s.
Shapes K x N = 4096 x 4096 and 4096 x 14336 followed by 14336 x 4096, at
M = 1, 4, 128, two distinct layers per model so weights stream from memory;
times per layer. The same run measures two limits with bench/limits.c, at
the start and after each case, keeping the best of each: the memory read
bandwidth and the int8 dot-product peak (and, with AMX, the tile peak);
prefill results are shown as a fraction of the peak. Decode calls on
weights larger than the cache are timed again one by one, each between two
reads of a window of memory, and shown as a fraction of the bandwidth
those reads saw.
"""
import ctypes
import json
import logging
import math
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
sys.path.insert(0, str(ROOT / "bench"))
from bench_float import bench_args, time_pair  # noqa: E402
from qcc.models import llama  # noqa: E402

BLOCK = 32


def save(path, nodes, k, inits, ms=False):
    opsets = [h.make_opsetid("", 21)] + ([h.make_opsetid("com.microsoft", 1)] if ms else [])
    g = h.make_graph(nodes, "q", [h.make_tensor_value_info("x", T.FLOAT, ["m", k])],
                     [h.make_tensor_value_info(nodes[-1].output[0], T.FLOAT, None)], inits)
    onnx.save(h.make_model(g, opset_imports=opsets, ir_version=10), str(path))


def layer_shapes(k, n, layers):
    return [(k, n) if i % 2 == 0 else (n, k) for i in range(layers)]


def nbits_model(path, k, n, layers, accuracy_level, seed=0):
    """MatMulNBits layers, u4 blocks of 32 with zero points, in
    onnxruntime's packed format."""
    rng = np.random.default_rng(seed)
    nodes, inits, prev = [], [], "x"
    for i, (kk, nn) in enumerate(layer_shapes(k, n, layers)):
        kb = kk // BLOCK
        q = rng.integers(0, 16, size=(nn, kb * BLOCK), dtype=np.uint8)
        packed = (q[:, 0::2] | (q[:, 1::2] << 4)).astype(np.uint8).reshape(nn, kb, BLOCK // 2)
        scales = (rng.random((nn, kb)) * 0.02 / np.sqrt(kk) + 0.001).astype(np.float32)
        zp = rng.integers(6, 11, size=(nn, kb), dtype=np.uint8)
        zpk = (zp[:, 0::2] | (zp[:, 1::2] << 4)).astype(np.uint8)
        inits += [nh.from_array(packed, f"b{i}"), nh.from_array(scales.reshape(-1), f"s{i}"),
                  nh.from_array(zpk.reshape(-1), f"z{i}")]
        nodes.append(h.make_node("MatMulNBits", [prev, f"b{i}", f"s{i}", f"z{i}"], [f"y{i}"],
                                 domain="com.microsoft", K=kk, N=nn, bits=4, block_size=BLOCK,
                                 accuracy_level=accuracy_level))
        prev = f"y{i}"
    save(path, nodes, k, inits, ms=True)


def float_model(path, k, n, layers, seed=0):
    """Float MatMul layers."""
    rng = np.random.default_rng(seed)
    nodes, inits, prev = [], [], "x"
    for i, (kk, nn) in enumerate(layer_shapes(k, n, layers)):
        inits.append(nh.from_array((rng.standard_normal((kk, nn)) / np.sqrt(kk)).astype(np.float32), f"w{i}"))
        nodes.append(h.make_node("MatMul", [prev, f"w{i}"], [f"y{i}"]))
        prev = f"y{i}"
    save(path, nodes, k, inits)


def int8_model(path, k, n, layers, seed=0):
    """onnxruntime's dynamic int8 graph: DynamicQuantizeLinear, MatMulInteger
    with s8 weights, then float(acc) * (x_scale * w_scale[col])."""
    rng = np.random.default_rng(seed)
    nodes, inits, prev = [], [], "x"
    for i, (kk, nn) in enumerate(layer_shapes(k, n, layers)):
        w = (rng.standard_normal((kk, nn)) / np.sqrt(kk)).astype(np.float32)
        ws = (np.abs(w).max(0) / 127).astype(np.float32)
        wq = np.clip(np.rint(w / ws), -127, 127).astype(np.int8)
        inits += [nh.from_array(wq, f"w{i}"), nh.from_array(ws, f"ws{i}")]
        nodes += [h.make_node("DynamicQuantizeLinear", [prev], [f"xq{i}", f"xs{i}", f"xz{i}"]),
                  h.make_node("MatMulInteger", [f"xq{i}", f"w{i}", f"xz{i}"], [f"acc{i}"]),
                  h.make_node("Cast", [f"acc{i}"], [f"accf{i}"], to=T.FLOAT),
                  h.make_node("Mul", [f"xs{i}", f"ws{i}"], [f"sc{i}"]),
                  h.make_node("Mul", [f"accf{i}", f"sc{i}"], [f"y{i}"])]
        prev = f"y{i}"
    save(path, nodes, k, inits)


def layer_bytes(scheme, k, n):
    """What qcc reads of one K x N layer: weights, scales and zero points."""
    if scheme == "w4a8 f16":
        return k * n * (0.5 + 3 / BLOCK)  # 4-bit weights, f16 scales, 8-bit zero points
    if scheme in ("w8a8", "w8a8 onnx"):
        return k * n * 1.0 + 4 * n  # int8 weights, an f32 scale per column
    return k * n * (0.5 + 5 / BLOCK)  # 4-bit weights, f32 scales, 8-bit zero points


def scheme_files(scheme, work, k, n, layers):
    """The model qcc compiles and the one onnxruntime runs for `scheme`, with
    qcc's flags, the bytes per layer and the peer's name."""
    if scheme == "w8a8 onnx":
        qpath = opath = work / "i8.onnx"
        int8_model(opath, k, n, layers)
        flags, peer = [], "DQL+MatMulInteger"
    elif scheme == "w8a8":
        qpath, opath = work / "f.onnx", work / "i8.onnx"
        float_model(qpath, k, n, layers)
        int8_model(opath, k, n, layers)
        flags, peer = ["--w8a8"], "DQL+MatMulInteger"
    else:
        qpath = opath = work / "nb.onnx"
        acc = 0 if scheme == "w4a16" else 4
        nbits_model(qpath, k, n, layers, acc)
        # w4a8 f16: the peer's own file with its scales rounded to f16 by qcc.
        flags, peer = ["--scale-type=f16"] if scheme == "w4a8 f16" else [], f"MatMulNBits acc{acc}"
    return qpath, opath, flags, layer_bytes(scheme, k, n), peer


def last_level_cache_bytes():
    """The largest cache of CPU 0, from sysfs; 64 MiB where none is listed."""
    sizes = []
    for f in pathlib.Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = f.read_text().strip()
        mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        sizes.append(int(text.rstrip("KMG")) * mult)
    return max(sizes, default=64 << 20)


def limits_build():
    """bench/limits.c as a program (the limits, as JSON) and as a library
    whose read_window(threads, bytes) gives the read bandwidth of one
    window."""
    out = pathlib.Path(tempfile.mkdtemp(prefix="qcc-limits-"))
    # -march=native on some KVM guests names features clang-19 warns about.
    cc = ["clang-19", "-O2", "-march=native", "-pthread", "-Wno-invalid-feature-combination",
          str(ROOT / "bench" / "limits.c")]
    subprocess.run(cc + ["-o", str(out / "limits")], check=True)
    subprocess.run(cc + ["-shared", "-fPIC", "-o", str(out / "liblimits.so")], check=True)
    lib = ctypes.CDLL(str(out / "liblimits.so"))
    lib.limits_read_window_gbs.restype = ctypes.c_double
    lib.limits_read_window_gbs.argtypes = [ctypes.c_int, ctypes.c_size_t]

    def read_window(threads, window):
        gbs = lib.limits_read_window_gbs(threads, window)
        if gbs <= 0:
            raise RuntimeError(f"limits_read_window_gbs({threads}, {window}): no buffer for "
                               "that window (too small, or out of memory)")
        return gbs
    return out / "limits", read_window


def paired_bandwidth(call, window, nbytes, pairs=40):
    """`pairs` timed calls of `call` (which reads `nbytes` of weights from
    memory), each between two read windows, one right before it and one
    right after: the medians of the calls' GB/s, of the windows' GB/s, and
    of each call's GB/s over the mean of its two windows. The bandwidth of
    this VM jumps between spells (34 and 57 GB/s on one machine) within a
    second, so a call is compared with the reads around it, not with a
    limit measured minutes away. An untimed call between the first window
    and the timed one wakes the workers that slept while the window ran."""
    own, reads, ratios = [], [], []
    for _ in range(pairs):
        before = window()
        call()
        t0 = time.perf_counter()
        call()
        gbs = nbytes / (time.perf_counter() - t0) / 1e9
        limit = (before + window()) / 2
        own.append(gbs)
        reads.append(limit)
        ratios.append(gbs / limit)
    return statistics.median(own), statistics.median(reads), statistics.median(ratios)


def limits(exe, threads, best=None):
    """The limits measured now, each the larger of this run and `best`: the
    VM's speed drifts over a run (by 30 % and more), and qcc's figures are
    its best calls, so each limit is its best over the whole run."""
    now = json.loads(subprocess.run([str(exe), str(threads)], check=True, capture_output=True,
                                    text=True).stdout)
    if best:
        for key, value in now.items():
            if isinstance(value, (int, float)):
                now[key] = max(value, best[key])
    return now


def main():
    ap = bench_args("results_quant.md")
    ap.add_argument("--no-decoder", action="store_true")
    ap.add_argument("--decoder-only", action="store_true")
    args = ap.parse_args()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    work = pathlib.Path(tempfile.mkdtemp(prefix="qcc-bench-"))
    lim_exe, read_window = limits_build()
    lim = limits(lim_exe, args.threads)
    print(f"limits: {lim}", flush=True)
    rows = []

    def measure(labels, qcc_path, ort_path, flags, inputs, per, name, then=None):
        return list(zip(labels, *time_pair(args, opts, work, name, qcc_path, ort_path, inputs,
                                           per, flags, best=True, then=then)))

    llc = last_level_cache_bytes()
    # Windows four times the cache: each one reads from memory.
    window = lambda: read_window(args.threads, max(128 << 20, 4 * llc))

    def decode_bandwidth(nbytes):
        """The `then` of measure: qcc's and the peer's paired_bandwidth at
        M <= 4 on models whose `nbytes` of weights are twice the cache or
        more (at 1.05x, int8 layers read 103 % of the windows' bandwidth:
        part of them came from the cache); else None."""
        def then(fq, fo, feed):
            if feed["x"].shape[0] > 4 or nbytes < 2 * llc:
                return None
            return [paired_bandwidth(f, window, nbytes) for f in (fq, fo)]
        return then

    shapes = [] if args.decoder_only else [(1024, 1024)] if args.quick else \
        [(4096, 4096), (4096, 14336)]
    ms = (1, 4, 128)
    layers = 2
    for k, n in shapes:
        dims = f"{k}x{n}" if k == n else f"{k}x{n} + {n}x{k}"
        xs = [{"x": np.random.default_rng(1).standard_normal((m, k)).astype(np.float32)} for m in ms]
        macs = k * n  # per row, per layer
        for scheme in ("w4a8", "w4a8 f16", "w4a16", "w8a8", "w8a8 onnx"):
            qpath, opath, flags, wbytes, peer = scheme_files(scheme, work, k, n, layers)
            labels = [(scheme, peer, dims, m, wbytes, 2 * m * macs) for m in ms]
            rows += measure(labels, qpath, opath, flags, xs, layers,
                            f"{scheme.replace(' ', '_')}_{k}_{n}",
                            then=decode_bandwidth(wbytes * layers))
            for p in (qpath, opath):
                p.unlink(missing_ok=True)
            print(rows[-1], flush=True)
            lim = limits(lim_exe, args.threads, lim)

    # Decode from memory: the two-layer models above can sit in a large
    # last-level cache (260 MiB on some CPUs), so their decode rows measure cache
    # bandwidth. A stack of distinct layers twice that cache streams the
    # weights from memory on each pass, as a real decoder does (at 1.5x,
    # int8 layers still came partly from the cache: 112 % of the memory
    # bandwidth). Only the cases whose files stay small: 4-bit and int8
    # weights as onnxruntime's own graphs (float files would be 4-8x larger).
    # w4a8 f16 reads fewer bytes per layer, so it may stack more layers.
    streamed = []
    k, n = 4096, 14336
    if not args.decoder_only and not args.quick:
        xs = [{"x": np.random.default_rng(1).standard_normal((m, k)).astype(np.float32)}
              for m in (1, 4)]
        for scheme in ("w4a8", "w4a8 f16", "w4a16", "w8a8 onnx"):
            # Pairs of layers, enough for twice the cache.
            deep = 2 * max(1, math.ceil(llc / layer_bytes(scheme, k, n)))
            path, _, flags, wbytes, peer = scheme_files(scheme, work, k, n, deep)
            dims = f"{k}x{n} + {n}x{k}, {deep} layers"
            labels = [(scheme, peer, dims, m, wbytes, 2 * m * k * n) for m in (1, 4)]
            streamed += measure(labels, path, path, flags, xs, deep,
                                f"deep_{scheme.replace(' ', '_')}",
                                then=decode_bandwidth(wbytes * deep))
            path.unlink(missing_ok=True)
            print(streamed[-1], flush=True)
            lim = limits(lim_exe, args.threads, lim)

    dec = []
    if not args.no_decoder:
        cfg = llama.Config(vocab=4096, hidden=1024, heads=16, kv_heads=4, layers=4, ffn=2816) \
            if not args.quick else llama.SIZES["medium"]
        fpath, qpath = work / "llama.onnx", work / "llama_q4.onnx"
        llama.build(str(fpath), cfg)
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
        logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
        logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
        qz = MatMulNBitsQuantizer(onnx.load(str(fpath)), bits=4, block_size=BLOCK,
                                  is_symmetric=False, accuracy_level=4)
        qz.process()
        qz.model.save_model_to_file(str(qpath))
        feeds, prompt = [], 32
        for s, p in ((prompt, 0), (1, prompt)):
            past = [(np.zeros((1, cfg.kv_heads, p, cfg.head_dim), np.float32),) * 2
                    for _ in range(cfg.layers)]
            feeds.append(llama.feeds(cfg, np.ones((1, s), np.int64), past))
        dec = measure([("prefill", prompt), ("decode", 1)], qpath, qpath, [], feeds, 1, "llama")

    # Where the CPU has AMX, both qcc and onnxruntime run prefill on it:
    # the tile peak is then a second column.
    amx = lim.get("amx_gops", 0)
    lines = [f"qcc vs onnxruntime {ort.__version__}, {args.threads} threads each. Limits on this "
             f"machine: memory read {lim['read_gbs']:.1f} GB/s, int8 dot-product peak "
             f"{lim['int8_gops']:.0f} GOP/s ({lim['int8_isa']})"
             + (f", AMX tdpbusd peak {amx:.0f} GOP/s ({lim['amx_loaded_gops']:.0f} with each "
                f"step's tile loads from L1, {lim.get('amx_l2_gops', 0):.0f} from L2)"
                if amx else "") + ".", "",
             "Times per layer: qcc ms and peer ms are medians of the alternating blocks, and "
             "ratio = their quotient, onnxruntime / qcc (> 1: qcc faster). The limits are each "
             "the best of their runs (measured at the start and after each case), so the "
             "fractions of them use qcc's best call (best ms): GB/s, the layer's weight bytes "
             "(with scales and zero points) over it; GOP/s, 2*M*K*N over it, and % peak, that "
             "over the int8 dot-product peak (M = 128)"
             + ("; % amx: over the AMX peak" if amx else "") + ". % bw (decode, M <= 4) is "
             "measured beside each call, as in the decode-from-memory table below: the median "
             "of each call's weight bytes per second over the read bandwidth of the memory "
             "windows read right before and after it, for qcc and for the peer; \"cache\" "
             "where the model's weights are less than twice the last-level cache.", "",
             "| scheme | peer | K x N | M | qcc ms | peer ms | ratio | best ms | GB/s | % bw "
             "| peer % bw | GOP/s | % peak |" + (" % amx |" if amx else ""),
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if amx else "")]
    for (scheme, peer, dims, m, wbytes, ops), tq, to, bq, pairs in rows:
        gbs, gops = wbytes / bq / 1e9, ops / bq / 1e9
        bw = [f"{100 * p[2]:.0f}" for p in pairs] if pairs else \
            ["cache"] * 2 if m <= 4 else ["", ""]
        pk = f"{100 * gops / lim['int8_gops']:.0f}" if m >= 128 else ""
        pa = (f" {100 * gops / amx:.0f} |" if m >= 128 else " |") if amx else ""
        lines.append(f"| {scheme} | {peer} | {dims} | {m} | {tq * 1e3:.3f} | {to * 1e3:.3f} | "
                     f"{to / tq:.2f} | {bq * 1e3:.3f} | {gbs:.1f} | {bw[0]} | {bw[1]} | "
                     f"{gops:.0f} | {pk} |{pa}")
    if streamed:
        lines += ["", f"Decode from memory: a stack of distinct layers twice the last-level cache "
                  f"({llc >> 20} MiB) or more, so each pass streams every weight from memory. "
                  "qcc ms, peer ms and ratio as above. Then each runtime's calls are timed "
                  "again, one at a time, each between two reads of a window of memory (a "
                  "buffer far larger than the cache, summed by as many threads): qcc GB/s and "
                  "peer GB/s are the medians of the calls' weight bytes per second, read GB/s "
                  "the windows' median (the mean of the two runtimes'), and % bw the median of "
                  "each call's GB/s over the mean of the two windows around it:", "",
                  "| scheme | peer | K x N | M | qcc ms | peer ms | ratio | qcc GB/s | peer GB/s "
                  "| read GB/s | qcc % bw | peer % bw |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for (scheme, peer, dims, m, _, _), tq, to, _, pairs in streamed:
            (gq, rq, fq), (go, ro, fo) = pairs
            lines.append(f"| {scheme} | {peer} | {dims} | {m} | {tq * 1e3:.3f} | "
                         f"{to * 1e3:.3f} | {to / tq:.2f} | {gq:.1f} | {go:.1f} | "
                         f"{(rq + ro) / 2:.1f} | {100 * fq:.0f} | {100 * fo:.0f} |")
    if dec:
        lines += ["", f"Decoder (hidden {cfg.hidden}, {cfg.layers} layers, ffn {cfg.ffn}, vocab "
                  f"{cfg.vocab}), MatMulNBits 4-bit block 32 accuracy_level 4 from onnxruntime's "
                  "quantizer, the same file in both:", "",
                  "| phase | qcc tokens/s | onnxruntime tokens/s | ratio |", "|---|---|---|---|"]
        for (phase, tokens), tq, to, _ in dec:
            lines.append(f"| {phase} ({tokens} tok) | {tokens / tq:.1f} | {tokens / to:.1f} | "
                         f"{to / tq:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    pathlib.Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
