#!/usr/bin/env bash
# Photos as fast as the model (issue 16), side by side in one run on copies of the fixture photos:
#  - `res2net classify --engine onnx --batch-size 16` over a folder (wall clock, process start included) and the
#    steady-state pipeline (`bench --photos`: decode, preprocess, model, top-k) against the model alone at the same
#    batch (`bench`), round after round;
#  - decoding and preprocessing per photo on one thread, ours (`bench --photos`' preprocess_ms) against PIL 9.4 +
#    torchvision 0.14 (bench/pil_preprocess.py) on the same files;
#  - peak memory of a first-use ONNX classify (the export made then) against a cached one.
# Weights are fresh (`convert --fresh`): speed does not depend on their values.
#
# Usage: bench/bench_pipeline.sh
# Environment: MODEL=res2net50_26w_4s PHOTOS=320 ROUNDS=3 THREADS=2 BATCH=16 SECONDS_PER_RUN=15
# Needs: a built CLI (Release) or the .NET SDK, jq, GNU time (/usr/bin/time), and for the PIL column Debian's
#   python3-torch, python3-torchvision and python3-pil (/usr/bin/python3).
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
model=${MODEL:-res2net50_26w_4s}
count=${PHOTOS:-320}
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
batch=${BATCH:-16}
seconds=${SECONDS_PER_RUN:-15}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mapfile -t photos < <(fixture_photos)
mkdir -p "$work/photos" "$work/home"
for i in $(seq 0 $((count - 1))); do
  src=${photos[$((i % ${#photos[@]}))]}
  cp "$src" "$work/photos/$(printf '%05d' "$i")${src##*/}"
done
export RES2NET_HOME=$work/home OMP_NUM_THREADS=$threads
echo "bench_pipeline: $model, $count photos, batch $batch, $threads threads, $rounds rounds, $(date -u +%F)" >&2
"$cli" convert --model "$model" --fresh --output "$work/w.pth" 2>/dev/null

# First use against cached: peak RSS (VmHWM) of the same classify, without and then with the export cached.
mkdir "$work/first"
cp "$work/w.pth" "$work/first/w.pth"
peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
first_kb=$(peak "$cli" classify --model "$model" --weights "$work/first/w.pth" --engine onnx --batch-size "$batch" --topk 1 --format json "$work/photos")
cached_kb=$(peak "$cli" classify --model "$model" --weights "$work/first/w.pth" --engine onnx --batch-size "$batch" --topk 1 --format json "$work/photos")

classify_ips=() pipeline_ips=() model_ips=() preprocess_ms=()
for round in $(seq 1 "$rounds"); do
  start=$(date +%s.%N)
  "$cli" classify --model "$model" --weights "$work/first/w.pth" --engine onnx --batch-size "$batch" --topk 1 --format json "$work/photos" >/dev/null
  end=$(date +%s.%N)
  classify_ips+=("$(echo "$count / ($end - $start)" | bc -l)")
  json=$("$cli" bench --model "$model" --weights "$work/first/w.pth" --engine onnx --batch "$batch" --size 224 --threads "$threads" \
    --seconds "$seconds" --photos "$work/photos" --format json)
  model_ips+=("$(echo "$json" | jq '.[0].images_per_second')")
  pipeline_ips+=("$(echo "$json" | jq '.[1].images_per_second')")
  preprocess_ms+=("$(echo "$json" | jq '.[1].preprocess_ms')")
  echo "  round $round: classify ${classify_ips[-1]} img/s, pipeline ${pipeline_ips[-1]}, model ${model_ips[-1]}" >&2
done
pil=$(/usr/bin/python3 "$root/bench/pil_preprocess.py" "$work/photos"/* 2>/dev/null || echo '{}')

best() { printf '%s\n' "$@" | sort -g | tail -1; }
low() { printf '%s\n' "$@" | sort -g | head -1; }
m=$(best "${model_ips[@]}")
printf '| what | images/s (best of %s) | vs the model alone |\n|---|---:|---:|\n' "$rounds"
printf '| model alone (`bench --batch %s`) | %.1f | 1.00x |\n' "$batch" "$m"
printf '| pipeline (`bench --photos`, steady state) | %.1f | %.2fx |\n' "$(best "${pipeline_ips[@]}")" "$(echo "$(best "${pipeline_ips[@]}") / $m" | bc -l)"
printf '| `classify --batch-size %s` over %s photos (process start included) | %.1f | %.2fx |\n' "$batch" "$count" "$(best "${classify_ips[@]}")" "$(echo "$(best "${classify_ips[@]}") / $m" | bc -l)"
echo
ours=$(low "${preprocess_ms[@]}")
pil_ms=$(echo "$pil" | jq -r '.total_ms // empty')
printf '| decode + preprocess, one thread | ms per photo |\n|---|---:|\n| ours | %.2f |\n' "$ours"
[ -n "$pil_ms" ] && printf '| PIL + torchvision | %.2f (decode %s, transform %s) |\n| ours / PIL | %.2fx |\n' "$pil_ms" \
  "$(echo "$pil" | jq .decode_ms)" "$(echo "$pil" | jq .transform_ms)" "$(echo "$ours / $pil_ms" | bc -l)"
echo
printf '| classify peak RSS | MB |\n|---|---:|\n| first use (export made) | %d |\n| export cached | %d |\n| first / cached | %.2fx |\n' \
  "$((first_kb / 1024))" "$((cached_kb / 1024))" "$(echo "$first_kb / $cached_kb" | bc -l)"
