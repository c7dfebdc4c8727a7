#!/bin/bash
# The GPU check, prepared to run in under 10 minutes on one GPU (docs/benchmarks.md#gpu-check):
#   bash benchmarks/gpu_check.sh            (OUT=DIR to choose where its JSON and the toy claims go)
# Prints one table of ratios measured in the same run; writes $OUT/gpu_check.json and
# $OUT/batching_gpu.json (copy it to motionlib/assets/ for the projection to use it).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/motionlib-gpu-check}
mkdir -p "$OUT"
make env > "$OUT/make-env.log"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
.venv/bin/python benchmarks/gpu_check.py --device cuda --toy-claims --out "$OUT" \
  --json "$OUT/gpu_check.json" --batching-json "$OUT/batching_gpu.json" "$@"
