#!/usr/bin/env bash
# Runs the whole test suite: the lit/FileCheck tests, then pytest.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${QCC_VENV:-$HOME/.cache/qcc/venv}"
BUILD="${QCC_BUILD:-$ROOT/build}"
status=0
"$VENV/bin/lit" -sv "$BUILD/test" || status=1
# Most tests wait on one single-threaded compile: one worker per core.
QCC_BUILD="$BUILD" PYTHONPATH="$ROOT/python" \
  "$VENV/bin/python" -m pytest -q -n auto --maxprocesses=4 "$ROOT/test/e2e" || status=1
exit $status
