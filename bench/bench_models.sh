#!/usr/bin/env bash
# Both engines on every registered ImageNet model (fresh weights, 224x224, one batch size, one round each), as a table:
# the rest of issue 5's table beyond res2net50_26w_4s (bench/bench_engines.sh times that one in detail). Also the
# torch engine in bfloat16 (where the CPU has it) and each model's INT8 export (calibrated on the fixture photos).
#
# Usage: bench/bench_models.sh [--readme]
#   --readme   also replace the table between the <!-- models:begin --> and <!-- models:end --> markers in docs/performance.md
# Environment: BATCH=8 THREADS=2 SECONDS_PER_RUN=6 MODELS="<all ImageNet models>" BENCH_LOCK=/tmp/build.lock
# Needs: a built CLI (Release) or the .NET SDK, and jq.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
batch=${BATCH:-8}
threads=${THREADS:-2}
seconds=${SECONDS_PER_RUN:-6}
models=${MODELS:-$("$cli" models --format json | jq -r '.[] | select(.official_params != null) | .name')}

results=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
photos=$(fixture_photos)
runs=("--engine torch" "--engine onnx")
grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && runs+=("--engine torch --precision bf16")
for model in $models; do
  # shellcheck disable=SC2086
  locked "$cli" export --model "$model" --fresh --size 224 --int8 --calibrate $photos --output "$work/int8.onnx" 2>/dev/null
  for run in "${runs[@]}" "--engine onnx --onnx $work/int8.onnx"; do
    # shellcheck disable=SC2086
    locked "$cli" bench --model "$model" $run --batch "$batch" --threads "$threads" --seconds "$seconds" --format json \
      | jq -c '. + {engine: (if .engine | startswith("onnx:") then "int8" elif .precision == "bf16" then "bf16" else .engine end)}' \
      | tee -a "$results" >&2
  done
done

table=$(jq -s -r --arg batch "$batch" --arg threads "$threads" '
  group_by(.model) | sort_by(.[0].model) as $rows
  | "| model | GMACs | TorchSharp img/s (batch \($batch)) | TorchSharp bf16 | ONNX Runtime | ONNX Runtime INT8 | ONNX / TorchSharp |",
    "|---|---|---|---|---|---|---|",
    ($rows[] | (map(select(.engine == "torch"))[0]) as $t | (map(select(.engine == "onnx"))[0]) as $o
      | (map(select(.engine == "bf16"))[0]) as $b | (map(select(.engine == "int8"))[0]) as $q
      | def ips($r): if $r == null then "n/a" else "\($r.images_per_second * 10 | round / 10)" end;
        "| \($t.model) | \(($t.gflops / 2 / $t.images_per_second * 100 | round) / 100) | \(ips($t)) | \(ips($b)) | \(ips($o)) | \(ips($q)) | \(($o.images_per_second / $t.images_per_second * 100 | round) / 100)x |"),
    "",
    "Fresh weights, 224x224 float32 inputs, batch \($batch), \($threads) threads, one timed run per engine and model; INT8 is `export --int8` calibrated on the six fixture photos."
' "$results")
echo "$table"

if [ "${1:-}" = "--readme" ]; then
  echo "$table" | "$root/bench/readme_section.sh" models
fi
