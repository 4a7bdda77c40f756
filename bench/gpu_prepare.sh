#!/usr/bin/env bash
# Prepare the git-ignored .gpu/ folder that travels to a CUDA machine for `bench gpu`
# (bench/gpu_check.sh). Run on the development machine, from the project root:
#   bash bench/gpu_prepare.sh
# It runs ../shared/gpu/prepare_carry.sh (trimmed llama-cpp-python source, gguf and diskcache
# wheels, device_setup.sh) and adds .gpu/pylib/ with the pure-Python packages Hearth imports that
# a bare GPU machine may lack (platformdirs: app.paths needs it). gpu_check.sh puts .gpu/pylib on
# PYTHONPATH when the machine's Python has no platformdirs of its own.
set -eu
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
bash ../shared/gpu/prepare_carry.sh
mkdir -p .gpu/pylib
for pkg in platformdirs; do
  src=$("$PY" -c "import os, $pkg; print(os.path.dirname($pkg.__file__))")
  rm -rf ".gpu/pylib/$pkg"
  cp -r "$src" ".gpu/pylib/$pkg"
  find ".gpu/pylib/$pkg" -name '__pycache__' -prune -exec rm -rf {} +
done
echo "ready: carry .gpu (then on the device: source .gpu/device_setup.sh && bash bench/gpu_check.sh)"
du -sh .gpu
