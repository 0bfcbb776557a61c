#!/usr/bin/env bash
# Accuracy cost of reduced precision on a real task: the Fashion-MNIST model that bench/train_fashion_mnist.sh trains
# (res2net_small), evaluated on all 10,000 test images by the torch engine in float32 and bfloat16, and by ONNX Runtime
# on its float32 and INT8 exports.
# (Speed at ImageNet size: rows of bench/bench_engines.sh.)  SIZE=28: the export's input side.
#
# Usage: bench/bench_precision.sh [--readme]     --readme: also replace the table between the precision markers in docs/performance.md
# Environment: WEIGHTS=bench/results/res2net_small/last.pth  MODEL=res2net_small  DATA=/usr/share/datasets/fashion-mnist  THREADS=2
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
model=${MODEL:-res2net_small}
weights=${WEIGHTS:-$root/bench/results/$model/last.pth}
data=${DATA:-/usr/share/datasets/fashion-mnist}
threads=${THREADS:-2}
[ -f "$weights" ] || { echo "bench: $weights not found; train it first with bench/train_fashion_mnist.sh" >&2; exit 1; }
[ -d "$data" ] || { echo "bench: $data not found; install the Debian package dataset-fashion-mnist" >&2; exit 1; }

rows=""
for precision in fp32 bf16; do
  start=$(date +%s%N)
  json=$("$cli" evaluate --model "$model" --weights "$weights" --data "$data" --threads "$threads" --precision "$precision" --format json)
  seconds=$(( ($(date +%s%N) - start) / 1000000 ))e-3
  echo "$precision: $json, $seconds s" >&2
  rows+=$(echo "$json" | jq -r --arg p "TorchSharp, $precision" --arg s "$seconds" \
    '"| \($p) | \(.top1 * 100 | round / 100)% | \(.top5 * 100 | round / 100)% | \(.loss * 10000 | round / 10000) | \(.images) | \($s | tonumber * 10 | round / 10) s |"')$'\n'
done

# ONNX Runtime: the float32 export, and the INT8 export calibrated on 256 training images (never the test images).
tmp=$(mktemp -d)
for precision in fp32 int8; do
  flags=()
  [ "$precision" = int8 ] && flags=(--int8 --calibrate "$data")
  "$cli" export --model "$model" --weights "$weights" --size "${SIZE:-28}" "${flags[@]}" --output "$tmp/$precision.onnx" 2>&1 | sed 's/^/  /' >&2
  start=$(date +%s%N)
  json=$("$cli" evaluate --model "$model" --onnx "$tmp/$precision.onnx" --data "$data" --threads "$threads" --format json)
  seconds=$(( ($(date +%s%N) - start) / 1000000 ))e-3
  echo "onnx $precision: $json, $seconds s" >&2
  rows+=$(echo "$json" | jq -r --arg p "ONNX Runtime, $precision$([ "$precision" = int8 ] && echo ' (export --int8)')" --arg s "$seconds" \
    '"| \($p) | \(.top1 * 100 | round / 100)% | \(.top5 * 100 | round / 100)% | \(.loss * 10000 | round / 10000) | \(.images) | \($s | tonumber * 10 | round / 10) s |"')$'\n'
done
rm -rf "$tmp"

table="| engine, precision | top-1 | top-5 | loss | test images | evaluate wall time (incl. start-up) |
|---|---|---|---|---|---|
${rows%$'\n'}

$model trained on Fashion-MNIST by bench/train_fashion_mnist.sh, evaluated by \`res2net evaluate --precision fp32|bf16\` and \`res2net evaluate --onnx FILE\`, $threads threads."
echo "$table"
if [ "${1:-}" = "--readme" ]; then
  echo "$table" | "$root/bench/readme_section.sh" precision
fi
