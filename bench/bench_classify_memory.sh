#!/usr/bin/env bash
# Peak and steady resident memory of `res2net classify` over many photos (issue 5: 1,000 images at batch 16 below
# 1.5 GB and flat). The photos are copies of the fixture photos (several sizes and formats), so every one is decoded,
# resized and cropped for real. RSS is sampled from /proc every 0.5 s; the script prints the peak (VmHWM), the RSS at
# each fifth of the run and the growth from the second fifth to the end (warm-up excluded).
#
# Usage: WEIGHTS=res2net50_26w_4s.pth bench/bench_classify_memory.sh
# Environment: MODEL=res2net50_26w_4s IMAGES=1000 BATCH=16 ENGINE=torch THREADS(unused: LibTorch takes all cores)
#   WEIGHTS=FILE  checkpoint of MODEL; default: the published weights (downloaded into $RES2NET_HOME once)
#   EXTRA="--precision bf16" or EXTRA="--onnx model-int8.onnx" (then leave WEIGHTS unset): more classify options
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
model=${MODEL:-res2net50_26w_4s}
images=${IMAGES:-1000}
batch=${BATCH:-16}
engine=${ENGINE:-torch}
weights_arg=()
if [ -n "${WEIGHTS:-}" ]; then weights_arg=(--weights "$WEIGHTS"); fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mapfile -t photos < <(fixture_photos)
[ "${#photos[@]}" -gt 0 ] || { echo "bench: no fixture photos under tests/fixtures/images" >&2; exit 1; }
mkdir -p "$work/photos"
for i in $(seq 0 $((images - 1))); do
  src=${photos[$((i % ${#photos[@]}))]}
  cp "$src" "$work/photos/$(printf '%05d' "$i")${src##*/}"
done

start=$(date +%s.%N)
# shellcheck disable=SC2086
"$cli" classify --model "$model" "${weights_arg[@]}" ${EXTRA:-} --engine "$engine" --batch-size "$batch" --topk 1 --format json \
  "$work/photos" > "$work/out.json" 2> "$work/err.txt" &
pid=$!
: > "$work/rss.txt"
hwm=0
while kill -0 "$pid" 2>/dev/null; do
  if status=$(cat "/proc/$pid/status" 2>/dev/null); then
    rss=$(awk '/^VmRSS:/ {print $2}' <<< "$status")
    hwm=$(awk '/^VmHWM:/ {print $2}' <<< "$status")
    [ -n "$rss" ] && echo "$(date +%s.%N) $rss" >> "$work/rss.txt"
  fi
  sleep 0.5
done
wait "$pid" || { echo "bench: classify failed:" >&2; cat "$work/err.txt" >&2; exit 1; }
end=$(date +%s.%N)
classified=$(wc -l < "$work/out.json")

awk -v start="$start" -v end="$end" -v hwm="$hwm" -v n="$classified" -v model="$model" -v batch="$batch" -v engine="$engine" -v extra="${EXTRA:-}" '
  { t[NR] = $1; r[NR] = $2 / 1024 }
  END {
    printf "%s, %s engine %s, %d images at batch %d, %.1f s (%.1f images/s incl. start-up)\n", model, engine, extra, n, batch, end - start, n / (end - start)
    printf "peak RSS (VmHWM) %.0f MB\n", hwm / 1024
    printf "RSS by fifth of the run (MB):"
    for (f = 1; f <= 5; f++) { i = int(NR * f / 5); if (i < 1) i = 1; printf " %.0f", r[i] }
    printf "\n"
    lo = int(NR * 2 / 5); if (lo < 1) lo = 1
    printf "growth from the second fifth to the end: %+.0f MB\n", r[NR] - r[lo]
  }' "$work/rss.txt"
