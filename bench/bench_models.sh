#!/usr/bin/env bash
# Both engines on every registered ImageNet model (fresh weights, 224x224, one batch size, one round each), as a table:
# the rest of issue 5's table beyond res2net50_26w_4s (bench/bench_engines.sh times that one in detail).
#
# Usage: bench/bench_models.sh [--readme]
#   --readme   also replace the table between the <!-- models:begin --> and <!-- models:end --> markers in README.md
# Environment: BATCH=8 THREADS=2 SECONDS_PER_RUN=6 MODELS="<all ImageNet models>" BENCH_LOCK=/tmp/build.lock
# Needs: a built CLI (Release) or the .NET SDK, and jq.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
batch=${BATCH:-8}
threads=${THREADS:-2}
seconds=${SECONDS_PER_RUN:-6}
lock=${BENCH_LOCK-/tmp/build.lock}
cli=$root/src/Res2Net.Cli/bin/Release/net10.0/res2net
locked() { if [ -n "$lock" ]; then flock "$lock" "$@"; else "$@"; fi; }
[ -x "$cli" ] || locked dotnet build -c Release "$root/src/Res2Net.Cli" >/dev/null
models=${MODELS:-$("$cli" models --format json | jq -r '.[] | select(.official_params != null) | .name')}

results=$(mktemp)
for model in $models; do
  for engine in torch onnx; do
    locked "$cli" bench --model "$model" --engine "$engine" --batch "$batch" --threads "$threads" --seconds "$seconds" --format json \
      | jq -c . | tee -a "$results" >&2
  done
done

table=$(jq -s -r --arg batch "$batch" --arg threads "$threads" '
  group_by(.model) | sort_by(.[0].model) as $rows
  | "| model | GMACs | TorchSharp img/s (batch \($batch)) | ONNX Runtime img/s | ONNX / TorchSharp |",
    "|---|---|---|---|---|",
    ($rows[] | (map(select(.engine == "torch"))[0]) as $t | (map(select(.engine == "onnx"))[0]) as $o
      | "| \($t.model) | \(($t.gflops / 2 / $t.images_per_second * 100 | round) / 100) | \($t.images_per_second * 10 | round / 10) | \($o.images_per_second * 10 | round / 10) | \(($o.images_per_second / $t.images_per_second * 100 | round) / 100)x |"),
    "",
    "Fresh weights, 224x224 float32, batch \($batch), \($threads) threads, one timed run per engine and model."
' "$results")
echo "$table"

if [ "${1:-}" = "--readme" ]; then
  echo "$table" | "$root/bench/readme_section.sh" models
fi
