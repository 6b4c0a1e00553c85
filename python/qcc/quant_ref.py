"""numpy reference of qcc's quantized arithmetic (docs/Quantization.md).

These functions define what compiled quantized code computes: the integer
parts exactly, the float epilogues step by step in float32 in the same
order. Tests compare compiled artifacts with them.
"""
import numpy as np


def qrange(bits, signed):
    """Smallest and largest integer of a scheme."""
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def expand_groups(p, k, axis=0, group=None):
    """Scale / zero point [ceil(K/g), N] (per group along axis 0), [N] (per
    column) or a scalar, repeated to the weight's [K, N]."""
    p = np.asarray(p)
    if group is None:
        return p
    return np.repeat(p, group, axis=axis)[:k]


def quantize(x, scale, zero_point=0, bits=8, signed=True):
    """clamp(round_half_even(x / scale) + zero_point, qmin, qmax)."""
    lo, hi = qrange(bits, signed)
    q = np.rint(np.float32(x) / np.float32(scale)).astype(np.float32) + np.float32(zero_point)
    return np.clip(q, lo, hi).astype(np.int32)


def dequantize(q, scale, zero_point=0):
    """float32(q - zero_point) * scale."""
    return (np.asarray(q, np.int32) - np.asarray(zero_point, np.int32)).astype(np.float32) * \
        np.asarray(scale, np.float32)


def dynamic_quantize(x):
    """ONNX DynamicQuantizeLinear, every step in float32: scale (hi - lo) / 255
    over [min(x, 0), max(x, 0)] (1 for an empty range), zero point
    round_half_even(-lo / scale) in [0, 255]; (q, scale, zero point)."""
    f = np.float32
    lo, hi = f(min(np.min(x, initial=0), 0)), f(max(np.max(x, initial=0), 0))
    scale = f(1) if hi - lo == 0 else f(hi - lo) / f(255)
    zero_point = int(np.clip(np.rint(f(0) - lo / scale), 0, 255))
    return quantize(x, scale, zero_point, 8, False), scale, zero_point


def fixed_point_multiplier(ratio):
    """The int32 multiplier M and right shift s with ratio ~= M * 2^-s
    (qcc/Support/FixedPoint.h): M in [2^30, 2^31) unless the shift would pass
    62."""
    import math
    frac, exp = math.frexp(float(ratio))
    m = math.floor(frac * 2.0 ** 31 + 0.5)
    if m == 1 << 31:
        m, exp = m >> 1, exp + 1
    shift = 31 - exp
    if shift > 62:
        m, shift = math.floor(math.ldexp(float(ratio), 62) + 0.5), 62
    return m, shift


def requantize(q, in_scale, in_zero_point, out_scale, out_zero_point, bits=8, signed=True):
    """Integers of one per-tensor scheme in another, integer-only:
    clamp(((q - in_zp) * M + 2^(s-1)) >> s + out_zp) for the fixed-point form
    of in_scale / out_scale (ties round up)."""
    m, s = fixed_point_multiplier(np.float64(np.float32(in_scale)) / np.float64(np.float32(out_scale)))
    v = (np.asarray(q, np.int64) - in_zero_point) * m + (1 << (s - 1))
    lo, hi = qrange(bits, signed)
    return np.clip((v >> s) + out_zero_point, lo, hi).astype(np.int32)


def quantize_rows(x, bits=8):
    """Dynamic symmetric per-row (per-token) quantization of activations:
    scale = max|row| / qmax (1 for an all-zero row)."""
    lo, hi = qrange(bits, True)
    x = np.asarray(x, np.float32)
    amax = np.max(np.abs(x), axis=-1)
    scale = np.where(amax == 0, np.float32(1), amax / np.float32(hi)).astype(np.float32)
    q = np.clip(np.rint(x / scale[..., None]), lo, hi).astype(np.int32)
    return q, scale


def qlinear(x, wq, w_scale, w_zero_point=None, group=None, act_bits=None, bias=None,
            act_scale=None):
    """A linear layer with a quantized [K, N] weight.

    wq: integers [K, N]; w_scale: [ceil(K/group), N] per group along K, or
    [N] per column. Without act_bits the activations stay float:
    x @ dequantize(w) (+ bias). With act_bits, each row of x is quantized
    (quantize_rows), the integer dot products of each group accumulate
    exactly, and out = s_row * sum_g float32(acc_g) * s_w[g] (+ bias), the
    groups summed in increasing order in float32. With act_scale (static
    quantization), every row uses that scale, clamped to [-qmax, qmax].
    """
    x = np.asarray(x, np.float32)
    k, n = wq.shape
    zp = 0 if w_zero_point is None else expand_groups(w_zero_point, k, 0, group)
    if act_bits is None:
        w = dequantize(wq, expand_groups(w_scale, k, 0, group), zp)
        y = x @ w
        return y if bias is None else (y + np.float32(bias)).astype(np.float32)
    if act_scale is None:
        qa, sa = quantize_rows(x, act_bits)
    else:
        hi = qrange(act_bits, True)[1]
        sa = np.full(x.shape[:-1], act_scale, np.float32)
        qa = np.clip(np.rint(x / np.float32(act_scale)), -hi, hi).astype(np.int32)
    wc = np.asarray(wq, np.int64) - np.asarray(zp, np.int64)
    gs = group or k
    groups = -(-k // gs)
    pad = groups * gs - k
    qa = np.concatenate([qa, np.zeros(qa.shape[:-1] + (pad,), np.int32)], -1) if pad else qa
    wc = np.concatenate([wc, np.zeros((pad, n), np.int64)]) if pad else wc
    acc = np.einsum("...gk,gkn->...gn", qa.reshape(qa.shape[:-1] + (groups, gs)).astype(np.int64),
                    wc.reshape(groups, gs, n))
    assert np.all(np.abs(acc) < 2**31), "accumulator overflows int32"
    sw = np.asarray(w_scale, np.float32).reshape(-1, n)
    t = np.zeros(x.shape[:-1] + (n,), np.float32)
    for g in range(groups):
        t = (t + acc[..., g, :].astype(np.float32) * sw[g if group else 0]).astype(np.float32)
    y = (sa[..., None] * t).astype(np.float32)
    return y if bias is None else (y + np.float32(bias)).astype(np.float32)


def activation_product(a, b, a_range=None, b_range=None):
    """a @ b of two activations on int8 (qcc-quantize-attention): each
    operand symmetric per tensor with scale max|x| / 127 (1 if all zero), or
    range / 127 for an operand of known range (softmax: 1), the integer
    products accumulated exactly, then float32(acc) * (s_a * s_b)."""
    def quant(x, r):
        x = np.asarray(x, np.float32)
        amax = np.float32(r) if r is not None else np.max(np.abs(x))
        s = np.float32(1) if amax == 0 else np.float32(amax) / np.float32(127)
        return np.clip(np.rint(x / s), -128, 127).astype(np.int64), s
    qa, sa = quant(a, a_range)
    qb, sb = quant(b, b_range)
    acc = np.matmul(qa, qb)
    assert np.all(np.abs(acc) < 2**31), "accumulator overflows int32"
    return (acc.astype(np.float32) * np.float32(sa * sb)).astype(np.float32)


def quantize_weight(w, bits, group=None, asym=False, algo="rtn"):
    """Compile-time weight quantization of a [K, N] float weight, as
    qcc-quantize-weights does it: per scale block (a column, or a group of
    `group` rows of it), symmetric signed (scale = max|w| / qmax) or, with
    asym, unsigned over [min(w, 0), max(w, 0)] with a zero point. algo="mse"
    also tries the ranges shrunk to 0.98, 0.96, ..., 0.52 and keeps the one
    with the least squared reconstruction error (the first on ties).
    Returns (q [K, N], scale [G, N] or [N], zero point like scale or None)."""
    w = np.asarray(w, np.float32)
    k, n = w.shape
    gs = group or k
    groups = -(-k // gs)
    q = np.zeros((k, n), np.int32)
    scale = np.zeros((groups, n), np.float32)
    zp = np.zeros((groups, n), np.int32)
    steps = 25 if algo == "mse" else 1
    ratios = [np.float32(1) - np.float32(0.02) * np.float32(i) for i in range(steps)]
    for g in range(groups):
        wb = w[g * gs:(g + 1) * gs]
        lo0 = np.minimum(np.float32(0), wb.min(0))
        hi0 = np.maximum(np.float32(0), wb.max(0))
        best = np.full(n, np.inf)
        for r in ratios:
            if asym:
                qmin, qmax = np.float32(0), np.float32((1 << bits) - 1)
                lo, hi = lo0 * r, hi0 * r
                s = ((hi - lo) / qmax).astype(np.float32)
                s[s == 0] = 1
                z = np.clip(np.rint(-lo / s), qmin, qmax).astype(np.int32)
            else:
                qmax = np.float32((1 << (bits - 1)) - 1)
                qmin = -qmax - 1
                s = (np.maximum(-lo0, hi0) * r / qmax).astype(np.float32)
                s[s == 0] = 1
                z = np.zeros(n, np.int32)
            qb = np.clip(np.rint(wb / s) + z.astype(np.float32), qmin, qmax).astype(np.int32)
            rec = ((qb - z).astype(np.float32) * s).astype(np.float32)
            err = ((wb.astype(np.float64) - rec.astype(np.float64)) ** 2).sum(0)
            better = err < best
            best[better] = err[better]
            q[g * gs:(g + 1) * gs, better] = qb[:, better]
            scale[g, better] = s[better]
            zp[g, better] = z[better]
    if group is None:
        scale, zp = scale[0], zp[0]
    return q, scale, (zp if asym else None)


def sqnr_db(ref, approx):
    """Signal to quantization noise ratio in dB."""
    ref = np.asarray(ref, np.float64)
    noise = np.sum((ref - np.asarray(approx, np.float64)) ** 2)
    return np.inf if noise == 0 else 10 * np.log10(np.sum(ref ** 2) / noise)


HIST_BINS = 2048


def abs_histogram(values):
    """The calibration histogram of |x| (qcc/Support/ActivationRange.h):
    HIST_BINS bins over [0, R), R the smallest power of two above max|x|.
    Returns (counts, R, max|x|)."""
    a = np.abs(np.asarray(values, np.float32)).astype(np.float64).ravel()
    amax = float(a.max()) if a.size else 0.0
    if amax == 0:
        return np.bincount(np.zeros(a.size, np.int64), minlength=HIST_BINS).astype(np.float64), 0.0, 0.0
    r = float(np.ldexp(1.0, int(np.floor(np.log2(amax))) + 1))
    bins = np.minimum((a * HIST_BINS / r).astype(np.int64), HIST_BINS - 1)
    return np.bincount(bins, minlength=HIST_BINS).astype(np.float64), r, amax


def activation_range(counts, r, amax, method, percentile=99.99):
    """Clipping threshold T (scale T / 127) and the fraction of values
    beyond it, as qcc's --calib-method computes them."""
    if amax == 0:
        return 0.0, 0.0
    width, total = r / HIST_BINS, counts.sum()
    if method == "minmax":
        return amax, 0.0
    if method == "percentile":
        last = min(int(np.searchsorted(np.cumsum(counts), percentile / 100 * total)), HIST_BINS - 1)
    elif method == "mse":
        centers = (np.arange(HIST_BINS) + 0.5) * width
        errs = []
        for i in range(HIST_BINS):
            t = (i + 1) * width
            tail = centers[i + 1:]
            errs.append(np.sum(counts[i + 1:] * (tail - t) ** 2) +
                        counts[:i + 1].sum() * (t / 127) ** 2 / 12)
        last = int(np.argmin(errs))
    else:
        raise ValueError(method)
    t = min((last + 1) * width, amax)
    return t, (counts[last + 1:].sum() / total if t < amax else 0.0)
