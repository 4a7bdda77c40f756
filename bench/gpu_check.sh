#!/usr/bin/env bash
# The one prepared device check (issues 5 and 6): Hearth's engine against llama-bench tg128 on the
# gpt-oss-20b-shaped model, for three load plans: all on the GPU, and plans forced to fit 8 GB and
# 12 GB of VRAM (experts of the first N layers kept on the CPU). Host and backend sampling each.
#
# On the development machine, before the device run (fills the git-ignored .gpu/):
#   bash ../shared/gpu/prepare_carry.sh
#   mkdir -p .gpu/pylib && cp -r .venv/lib/python3.11/site-packages/platformdirs .gpu/pylib/
# On the GPU machine, from the project root (carry .gpu):
#   source .gpu/device_setup.sh && bash bench/gpu_check.sh
# Results: one JSON line per plan on stdout and in $OUT/gpu-results.jsonl; a table on stderr.
# Budget: device_setup.sh takes about 4 minutes; this script keeps to about 3 more.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
: "${SHAPED_MODEL:?run 'source .gpu/device_setup.sh' first}"
if [ -z "${LLAMA_BENCH:-}" ]; then echo "LLAMA_BENCH is not set: llama-bench side skipped" >&2; fi
# app.paths needs platformdirs (pure Python); the GPU machine may not have it.
if ! python3 -c "import platformdirs" 2>/dev/null; then
  if [ -d .gpu/pylib/platformdirs ]; then
    export PYTHONPATH="$ROOT/.gpu/pylib:${PYTHONPATH:-}"
  else
    echo "platformdirs missing: copy it to .gpu/pylib/ (see the top of this script)" >&2; exit 1
  fi
fi
export PYTHONPATH="$ROOT:${PYTHONPATH:-}"
export OUT="${OUT:-/tmp/hearth-gpu-out}"
mkdir -p "$OUT"
export HEARTH_HOME="${HEARTH_HOME:-/tmp/hearth-gpu-home}"
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv 2>/dev/null | tee "$OUT/nvidia-smi.txt" >&2
start=$SECONDS
for plan in "all-gpu:--ngl 99" "12gb:--budget-gb 12" "8gb:--budget-gb 8"; do
  label=${plan%%:*}
  args=${plan#*:}
  if [ $((SECONDS - start)) -gt 200 ]; then echo "skipping $label: out of time" >&2; continue; fi
  # shellcheck disable=SC2086
  timeout 120 python3 -m bench gpu --model "$SHAPED_MODEL" $args --label "$label" --reps 2 \
    --n-gen 128 || echo "plan $label failed (rc=$?)" >&2
  echo "[$label done at $((SECONDS - start)) s]" >&2
done
cp -r "$HEARTH_HOME/logs" "$OUT/hearth-logs" 2>/dev/null || true
