#!/usr/bin/env bash
# `make bench-anchor`: what the llama.cpp anchor figures need, built once into bench/.anchor/
# (git-ignored):
#   - llama.cpp's own `llama-bench`, built from the llama.cpp sources that the pinned
#     llama-cpp-python release vendors (its sdist, from pip's cache or PyPI);
#   - a GGUF with gpt-oss-20b's shapes (2 layers, 201,088-token vocabulary, random weights).
# bench/anchor.py runs llama-bench against the venv's own libllama/libggml (LD_LIBRARY_PATH), so
# both sides of the comparison run the very same compiled kernels.
# Usage: bash bench/anchor.sh [python]   (env: LLAMA_VERSION, SHAPED_LAYERS)
set -euo pipefail
PY=${1:-.venv/bin/python}
VER=${LLAMA_VERSION:-$("$PY" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')}
LAYERS=${SHAPED_LAYERS:-2}
A=bench/.anchor
BIN=$A/build-$VER/bin/llama-bench
MODEL=$A/gpt-oss-20b-shaped-${LAYERS}l.gguf
mkdir -p "$A"

if [ ! -x "$BIN" ]; then
  SDIST=$A/llama_cpp_python-$VER.tar.gz
  if [ ! -f "$SDIST" ]; then
    echo "… fetching the llama-cpp-python $VER source (pip's cache or PyPI)" >&2
    "$PY" -m pip download -q --no-binary :all: --no-deps "llama-cpp-python==$VER" -d "$A"
  fi
  SRC=$A/src-$VER
  if [ ! -d "$SRC/vendor/llama.cpp" ]; then
    rm -rf "$SRC" && mkdir -p "$SRC"
    tar xzf "$SDIST" -C "$SRC" --strip-components=1 "llama_cpp_python-$VER/vendor/llama.cpp"
  fi
  GEN=()
  command -v ninja > /dev/null && GEN=(-G Ninja)
  # The flags llama-cpp-python's own build uses on Linux (shared libraries, native CPU, OpenMP
  # when found, no curl); only the llama-bench target is built.
  echo "… building llama-bench (a few minutes on 2 cores)" >&2
  cmake -S "$SRC/vendor/llama.cpp" -B "$A/build-$VER" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=OFF > "$A/configure.log" 2>&1 || { tail -30 "$A/configure.log"; exit 1; }
  cmake --build "$A/build-$VER" --target llama-bench -j "$(nproc)" > "$A/build.log" 2>&1 \
    || { tail -30 "$A/build.log"; exit 1; }
fi

if [ ! -f "$MODEL" ]; then
  echo "… writing the ${LAYERS}-layer gpt-oss-20b-shaped model (about 3 GB, a few minutes)" >&2
  "$PY" bench/shaped_model.py "$MODEL.part" "$LAYERS"
  mv "$MODEL.part" "$MODEL"
fi
echo "llama-bench: $BIN" >&2
echo "model: $MODEL" >&2
