"""A Llama-style decoder with KV cache, as ONNX with deterministic weights.

Grouped-query attention, rotary position embeddings (rotate-half form with
cos/sin caches gathered by position_ids), RMSNorm spelled out as
Pow/ReduceMean/Add/Sqrt/Reciprocal/Mul, SwiGLU with SiLU spelled out as
x * Sigmoid(x), a causal mask built from Range/Greater/Where over the past
length plus the padding mask, and past_key_values inputs / present outputs,
as torch.onnx exports Hugging Face Llama models.

    python -m qcc.models.llama out.onnx [--size tiny|small|medium]
"""
import argparse
from dataclasses import dataclass

import numpy as np
from onnx import TensorProto as T

from .graph import GraphBuilder


@dataclass(frozen=True)
class Config:
    vocab: int
    hidden: int
    heads: int
    kv_heads: int
    layers: int
    ffn: int
    max_pos: int = 256
    theta: float = 10000.0
    eps: float = 1e-6

    @property
    def head_dim(self):
        return self.hidden // self.heads


SIZES = {
    "tiny": Config(vocab=256, hidden=64, heads=4, kv_heads=2, layers=2, ffn=160),
    "small": Config(vocab=512, hidden=128, heads=8, kv_heads=2, layers=4, ffn=352),
    "medium": Config(vocab=1024, hidden=256, heads=8, kv_heads=4, layers=4, ffn=688),
}


def make_weights(cfg, seed=0):
    rng = np.random.default_rng(seed)
    f32 = np.float32

    def lin(i, o):  # stored [in, out] as MatMul consumes it
        return (rng.standard_normal((i, o)) / np.sqrt(i)).astype(f32)

    w = {"embed": (rng.standard_normal((cfg.vocab, cfg.hidden)) * 0.5).astype(f32)}
    kvd = cfg.kv_heads * cfg.head_dim
    for i in range(cfg.layers):
        p = f"layers.{i}."
        w[p + "in_norm"] = (1.0 + 0.1 * rng.standard_normal(cfg.hidden)).astype(f32)
        w[p + "q"], w[p + "k"], w[p + "v"] = lin(cfg.hidden, cfg.hidden), lin(cfg.hidden, kvd), lin(cfg.hidden, kvd)
        w[p + "o"] = lin(cfg.hidden, cfg.hidden)
        w[p + "post_norm"] = (1.0 + 0.1 * rng.standard_normal(cfg.hidden)).astype(f32)
        w[p + "gate"], w[p + "up"] = lin(cfg.hidden, cfg.ffn), lin(cfg.hidden, cfg.ffn)
        w[p + "down"] = lin(cfg.ffn, cfg.hidden)
    w["norm"] = (1.0 + 0.1 * rng.standard_normal(cfg.hidden)).astype(f32)
    w["lm_head"] = lin(cfg.hidden, cfg.vocab)
    return w


def rope_cache(cfg):
    inv = 1.0 / cfg.theta ** (np.arange(0, cfg.head_dim, 2) / cfg.head_dim)
    freqs = np.outer(np.arange(cfg.max_pos), inv)
    emb = np.concatenate([freqs, freqs], -1)
    return np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)


def build(path, cfg, weights=None, opset=18):
    w = weights if weights is not None else make_weights(cfg)
    g = GraphBuilder("llama")
    ids = g.input("input_ids", T.INT64, ["batch", "seq"])
    mask = g.input("attention_mask", T.INT64, ["batch", "total"])
    pos = g.input("position_ids", T.INT64, ["batch", "seq"])
    past = []
    for i in range(cfg.layers):
        past.append((g.input(f"past_key_values.{i}.key", T.FLOAT, ["batch", cfg.kv_heads, "past", cfg.head_dim]),
                     g.input(f"past_key_values.{i}.value", T.FLOAT, ["batch", cfg.kv_heads, "past", cfg.head_dim])))
    f = lambda v: g.const(v, np.float32)
    fmin = f(np.finfo(np.float32).min)
    hd, half = cfg.head_dim, cfg.head_dim // 2

    x = g.op("Gather", [g.weight("embed", w["embed"]), ids], axis=0)
    cos_c, sin_c = rope_cache(cfg)
    cos = g.op("Unsqueeze", [g.op("Gather", [g.weight("cos_cached", cos_c), pos], axis=0), g.const([1])])
    sin = g.op("Unsqueeze", [g.op("Gather", [g.weight("sin_cached", sin_c), pos], axis=0), g.const([1])])

    # Causal mask over [past + seq] keys, plus padding.
    seq = g.op("Gather", [g.op("Shape", [ids]), g.const(1)], axis=0)
    total = g.op("Gather", [g.op("Shape", [mask]), g.const(1)], axis=0)
    past_len = g.op("Sub", [total, seq])
    rows = g.op("Unsqueeze", [g.op("Range", [past_len, total, g.const(1)]), g.const([-1])])
    cols = g.op("Range", [g.const(0), total, g.const(1)])
    causal = g.op("Where", [g.op("Greater", [cols, rows]), fmin, f(0.0)])
    pad = g.op("Cast", [g.op("Unsqueeze", [mask, g.const([1, 2])])], to=T.FLOAT)
    pad = g.op("Mul", [g.op("Sub", [f(1.0), pad]), fmin])
    attn_mask = g.op("Add", [causal, pad])

    def rms(t, weight):
        var = g.op("ReduceMean", [g.op("Pow", [t, f(2.0)]), g.const([-1])], keepdims=1)
        inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, f(cfg.eps)])])])
        return g.op("Mul", [weight, g.op("Mul", [t, inv])])

    def rotate(t):
        a = g.op("Slice", [t, g.const([0]), g.const([half]), g.const([3])])
        b = g.op("Slice", [t, g.const([half]), g.const([np.iinfo(np.int64).max]), g.const([3])])
        rot = g.op("Concat", [g.op("Neg", [b]), a], axis=-1)
        return g.op("Add", [g.op("Mul", [t, cos]), g.op("Mul", [rot, sin])])

    def heads(t, n):
        r = g.reshape_dims(t, [g.dim(t, 0), g.dim(t, 1), n, hd])
        return g.op("Transpose", [r], perm=[0, 2, 1, 3])

    rep = cfg.heads // cfg.kv_heads
    for i in range(cfg.layers):
        p = f"layers.{i}."
        W = lambda n: g.weight(p + n, w[p + n])
        hN = rms(x, W("in_norm"))
        q = rotate(heads(g.op("MatMul", [hN, W("q")]), cfg.heads))
        k = rotate(heads(g.op("MatMul", [hN, W("k")]), cfg.kv_heads))
        v = heads(g.op("MatMul", [hN, W("v")]), cfg.kv_heads)
        k = g.op("Concat", [past[i][0], k], axis=2)
        v = g.op("Concat", [past[i][1], v], axis=2)
        g.nodes.append(__import__("onnx").helper.make_node("Identity", [k], [f"present.{i}.key"]))
        g.nodes.append(__import__("onnx").helper.make_node("Identity", [v], [f"present.{i}.value"]))
        g.output(f"present.{i}.key", T.FLOAT, ["batch", cfg.kv_heads, "total", hd])
        g.output(f"present.{i}.value", T.FLOAT, ["batch", cfg.kv_heads, "total", hd])

        def repeat_kv(t):
            if rep == 1:
                return t
            u = g.op("Unsqueeze", [t, g.const([2])])
            shape = g.op("Concat", [g.dim(t, 0), g.const([cfg.kv_heads]), g.const([rep]), g.dim(t, 2),
                                    g.const([hd])], axis=0)
            e = g.op("Expand", [u, shape])
            return g.reshape_dims(e, [g.dim(t, 0), cfg.heads, g.dim(t, 2), hd])

        k, v = repeat_kv(k), repeat_kv(v)
        s = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])
        s = g.op("Add", [g.op("Mul", [s, f(1.0 / np.sqrt(hd))]), attn_mask])
        ctx = g.op("Transpose", [g.op("MatMul", [g.op("Softmax", [s], axis=-1), v])], perm=[0, 2, 1, 3])
        ctx = g.reshape_dims(ctx, [g.dim(ctx, 0), g.dim(ctx, 1), cfg.hidden])
        x = g.op("Add", [x, g.op("MatMul", [ctx, W("o")])])
        hN = rms(x, W("post_norm"))
        gate = g.op("MatMul", [hN, W("gate")])
        act = g.op("Mul", [gate, g.op("Sigmoid", [gate])])
        mlp = g.op("MatMul", [g.op("Mul", [act, g.op("MatMul", [hN, W("up")])]), W("down")])
        x = g.op("Add", [x, mlp])
    x = rms(x, g.weight("norm", w["norm"]))
    g.nodes.append(__import__("onnx").helper.make_node("MatMul", [x, g.weight("lm_head", w["lm_head"])],
                                                       ["logits"], name="lm_head"))
    g.outputs.insert(0, __import__("onnx").helper.make_tensor_value_info("logits", T.FLOAT,
                                                                        ["batch", "seq", cfg.vocab]))
    return g.save(path, opset=opset)


def empty_past(cfg, batch):
    z = np.zeros((batch, cfg.kv_heads, 0, cfg.head_dim), np.float32)
    return [(z, z) for _ in range(cfg.layers)]


def feeds(cfg, ids, past, mask=None, pos=None):
    """ONNX input dict for one forward step."""
    b, s = ids.shape
    p = past[0][0].shape[2]
    if mask is None:
        mask = np.ones((b, p + s), np.int64)
    if pos is None:
        pos = np.broadcast_to(np.arange(p, p + s, dtype=np.int64), (b, s)).copy()
    d = {"input_ids": ids, "attention_mask": mask, "position_ids": pos}
    for i, (k, v) in enumerate(past):
        d[f"past_key_values.{i}.key"], d[f"past_key_values.{i}.value"] = k, v
    return d


def reference(cfg, w, ids, past, mask=None, pos=None):
    """numpy forward: (logits, [(present_key, present_value)] per layer)."""
    inp = feeds(cfg, ids, past, mask, pos)
    mask, pos = inp["attention_mask"], inp["position_ids"]
    b, s = ids.shape
    total = mask.shape[1]
    hd, half, rep = cfg.head_dim, cfg.head_dim // 2, cfg.heads // cfg.kv_heads
    cos_c, sin_c = rope_cache(cfg)
    cos, sin = cos_c[pos][:, None].astype(np.float64), sin_c[pos][:, None].astype(np.float64)
    fmin = float(np.finfo(np.float32).min)
    causal = np.where(np.arange(total)[None] > np.arange(total - s, total)[:, None], fmin, 0.0)
    am = causal + (1.0 - mask[:, None, None, :]) * fmin

    def rms(t, weight):
        return weight * (t / np.sqrt((t ** 2).mean(-1, keepdims=True) + cfg.eps))

    def rot(t):
        return t * cos + np.concatenate([-t[..., half:], t[..., :half]], -1) * sin

    x = w["embed"][ids].astype(np.float64)
    presents = []
    for i in range(cfg.layers):
        p = f"layers.{i}."
        hN = rms(x, w[p + "in_norm"])
        sp = lambda t, n: t.reshape(b, s, n, hd).transpose(0, 2, 1, 3)
        q = rot(sp(hN @ w[p + "q"], cfg.heads))
        k = np.concatenate([past[i][0], rot(sp(hN @ w[p + "k"], cfg.kv_heads))], 2)
        v = np.concatenate([past[i][1], sp(hN @ w[p + "v"], cfg.kv_heads)], 2)
        presents.append((k, v))
        kr, vr = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
        sc = q @ kr.transpose(0, 1, 3, 2) / np.sqrt(hd) + am
        sc = np.exp(sc - sc.max(-1, keepdims=True))
        ctx = ((sc / sc.sum(-1, keepdims=True)) @ vr).transpose(0, 2, 1, 3).reshape(b, s, cfg.hidden)
        x = x + ctx @ w[p + "o"]
        hN = rms(x, w[p + "post_norm"])
        gate = hN @ w[p + "gate"]
        x = x + ((gate / (1.0 + np.exp(-gate))) * (hN @ w[p + "up"])) @ w[p + "down"]
    return rms(x, w["norm"]) @ w["lm_head"], presents


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output")
    ap.add_argument("--size", choices=sorted(SIZES), default="tiny")
    args = ap.parse_args()
    build(args.output, SIZES[args.size])


if __name__ == "__main__":
    main()
