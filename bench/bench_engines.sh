#!/usr/bin/env bash
# Throughput of the torch and onnx engines side by side (and ONNX Runtime on PyTorch's own export when given), as in
# issue 5: res2net50_26w_4s, 224x224, batch 1 and 8, 2 threads; plus the torch engine in bfloat16 where the CPU has
# it and our INT8 export on ONNX Runtime. Engines are interleaved round by round, so load from
# other processes hits them alike; the table gives the best and the median round (the best is the least disturbed).
#
# Usage: bench/bench_engines.sh [--readme]
#   --readme          also replace the table between the bench markers in docs/performance.md
# Environment:
#   MODEL=res2net50_26w_4s  BATCHES="1 8"  THREADS=2  ROUNDS=3  SECONDS_PER_RUN=8
#   PYTORCH_ONNX=FILE       PyTorch's export of MODEL (made by bench/onnx_export_pytorch.py), timed as a third engine
#   OFFICIAL_DIR=DIR        the official Res2Net code: makes PYTORCH_ONNX with /usr/bin/python3 + torch if it is unset,
#                           and times PyTorch eager on the official model (bench/pytorch_inference.py) as a fourth row
#   BENCH_LOCK=/tmp/build.lock  each run holds this lock (one heavy job at a time on a small machine); empty: no lock
#   RESULTS=FILE            JSON lines to append to and summarise, so several sessions add up (ROUNDS=0: summarise only)
# Needs: a built CLI (Release) or the .NET SDK, and jq.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
model=${MODEL:-res2net50_26w_4s}
batches=${BATCHES:-1 8}
threads=${THREADS:-2}
rounds=${ROUNDS:-3}
seconds=${SECONDS_PER_RUN:-8}

pytorch_onnx=${PYTORCH_ONNX:-}
if [ -z "$pytorch_onnx" ] && [ -n "${OFFICIAL_DIR:-}" ]; then
  pytorch_onnx=$(mktemp -d)/pytorch-$model.onnx   # the file name labels its rows
  /usr/bin/python3 "$root/bench/onnx_export_pytorch.py" "$OFFICIAL_DIR" "$pytorch_onnx" "$model" >&2
fi

# Our INT8 export (QDQ, calibrated on the fixture photos), timed as a file like PyTorch's export.
int8_onnx=$(mktemp -d)/$model-int8.onnx
photos=$(fixture_photos)
# shellcheck disable=SC2086
[ "$rounds" -gt 0 ] && locked "$cli" export --model "$model" --fresh --size 224 --int8 --calibrate $photos --output "$int8_onnx" >&2

results=${RESULTS:-$(mktemp)}
touch "$results"
for batch in $batches; do
  for round in $(seq "$rounds"); do
    runs=("--engine torch" "--engine onnx" "--engine onnx --onnx $int8_onnx")
    # bfloat16 where the CPU computes it natively (AVX-512 BF16 or AMX), as its own row.
    grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && runs+=("--engine torch --precision bf16")
    [ -n "$pytorch_onnx" ] && runs+=("--engine onnx --onnx $pytorch_onnx")
    [ -n "${OFFICIAL_DIR:-}" ] && runs+=("pytorch-eager")
    # Each round starts one run later in the list, so no engine always follows the same one (a run can leave the
    # machine warmer, or its memory being paged out, for the next).
    shift_by=$(( (round - 1) % ${#runs[@]} ))
    runs=("${runs[@]:shift_by}" "${runs[@]:0:shift_by}")
    for run in "${runs[@]}"; do
      if [ "$run" = pytorch-eager ]; then
        locked /usr/bin/python3 "$root/bench/pytorch_inference.py" "$OFFICIAL_DIR" "$model" "$batch" "$threads" "$seconds"
      else
        # shellcheck disable=SC2086
        locked "$cli" bench --model "$model" $run --batch "$batch" --threads "$threads" --seconds "$seconds" --format json
      fi | jq -c --arg round "$round" '. + {round: ($round | tonumber)}' | tee -a "$results" >&2
    done
  done
done

table=$(jq -s -r --arg threads "$threads" --arg seconds "$seconds" '
  def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def name: if . == "torch" then "TorchSharp engine (`--engine torch`)"
            elif . == "torch:bf16" then "TorchSharp engine in bfloat16 (`--engine torch --precision bf16`)"
            elif . == "onnx" then "ONNX Runtime engine on this export (`--engine onnx`)"
            elif endswith("-int8.onnx") then "ONNX Runtime on this export in INT8 (`export --int8`, calibrated on the six fixture photos)"
            elif startswith("pytorch-eager") then "PyTorch \(ltrimstr("pytorch-eager-")) eager, official code (Python)"
            else "ONNX Runtime (same C# session settings) on PyTorch 1.13'"'"'s export" end;
  map(if (.precision // "fp32") != "fp32" then .engine += ":" + .precision else . end)
  | map(if (.engine | startswith("onnx:tmp.")) then .engine = "onnx:pytorch" else . end)   # older runs: random file names
  | (group_by(.engine) | map({engine: .[0].engine, rows: (group_by(.batch))})) as $groups
  | ($groups | map(.rows | map(.[0].batch)) | add | unique) as $batches
  | "| engine | " + ($batches | map("batch \(.): img/s best / median (latency median, p95 ms)") | join(" | ")) + " | peak RSS MB | GFLOP/s (largest batch, best) |",
    "|---|" + ($batches | map("---") | join("|")) + "|---|---|",
    ($groups[] | . as $g | "| " + ($g.engine | name) + " | "
      + ($batches | map(. as $b | ($g.rows[] | select(.[0].batch == $b)) as $r
          | "\($r | map(.images_per_second) | max * 10 | round / 10) / \($r | map(.images_per_second) | median * 10 | round / 10) (\($r | map(.median_ms) | min | round), \($r | map(.p95_ms) | min | round))") | join(" | "))
      + " | \($g.rows | map(map(.peak_rss_mb) | max) | max | round) | \($g.rows[-1] | map(.gflops) | if all(. == null) then "n/a" else (map(. // 0) | max | round) end) |"),
    "",
    "\(.[0].model), 224x224 float32 inputs (computed in bfloat16 and INT8 in those rows), \($threads) threads, \(group_by([.engine, .batch]) | map(length) | if min == max then "\(min)" else "\(min) to \(max)" end) interleaved rounds of timed runs (\($seconds) s each in the last session) after warm-up, fresh weights: images/s of the best and the median round, latencies the lowest over rounds."
' "$results")
echo "$table"

if [ "${1:-}" = "--readme" ]; then
  echo "$table" | "$root/bench/readme_section.sh" bench
fi
