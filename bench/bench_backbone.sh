#!/usr/bin/env bash
# What dense-prediction users pay (issue 15): stage features of a backbone at 512x512, batch 8, side by side in one run.
#  1. Stopping early: c3 alone against c2..c5 (the torch engine stops after the deepest stage asked for; ONNX Runtime
#     runs the part of the graph the outputs need).
#  2. Output stride: c2..c5 at output stride 32, 16 and 8 (the later stages dilated instead of strided).
# Configurations are interleaved round by round, so load from other processes hits them alike; the table gives the
# best round's images/s (the least disturbed), the median round's, peak RSS, and each row's ratio to the first row of
# its group. Weights are fresh: speed does not depend on their values.
#
# Usage: bench/bench_backbone.sh
# Environment: MODEL=res2net50_26w_4s SIZE=512 BATCH=8 THREADS=2 ROUNDS=3 SECONDS_PER_RUN=8 ENGINES="torch onnx"
#   BENCH_LOCK=/tmp/build.lock  each run holds this lock (one heavy job at a time); empty: no lock
# Needs: a built CLI (Release) or the .NET SDK, and jq.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
model=${MODEL:-res2net50_26w_4s}
size=${SIZE:-512}
batch=${BATCH:-8}
threads=${THREADS:-2}
rounds=${ROUNDS:-3}
seconds=${SECONDS_PER_RUN:-8}
engines=${ENGINES:-torch onnx}

# name|arguments
configs=(
  "c3 only, OS 32|--stage c3"
  "c2..c5, OS 32|--stage c2,c3,c4,c5"
  "c2..c5, OS 16|--stage c2,c3,c4,c5 --output-stride 16"
  "c2..c5, OS 8|--stage c2,c3,c4,c5 --output-stride 8"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "bench_backbone: $model ${size}x${size} batch $batch, $threads threads, $rounds rounds of ${seconds} s, $(date -u +%F)" >&2
for round in $(seq 1 "$rounds"); do
  for engine in $engines; do
    for i in "${!configs[@]}"; do
      IFS='|' read -r name args <<<"${configs[$i]}"
      # shellcheck disable=SC2086 # args are words
      locked "$cli" bench --model "$model" --engine "$engine" --batch "$batch" --size "$size" --threads "$threads" \
        --seconds "$seconds" --format json $args |
        jq -c --arg name "$name" --arg engine "$engine" --argjson i "$i" '{i: $i, name: $name, engine: $engine, ips: .images_per_second, rss: .peak_rss_mb}' \
        >>"$work/runs.jsonl"
      echo "  round $round $engine: $name done" >&2
    done
  done
done

printf '| engine | features | images/s (best) | images/s (median) | peak RSS MB | vs c2..c5 at OS 32 |\n|---|---|---:|---:|---:|---:|\n'
jq -rs '
  group_by(.engine)[] | . as $runs
  | (map(select(.i == 1)) | map(.ips) | max) as $base
  | group_by(.i)[]
  | (map(.ips) | sort) as $ips
  | "| \(.[0].engine) | \(.[0].name) | \($ips | max | . * 100 | round / 100) | \($ips[($ips | length) / 2 | floor] | . * 100 | round / 100) | \(map(.rss) | max | round) | \(($ips | max) / $base | . * 100 | round / 100)x |"
' "$work/runs.jsonl"
