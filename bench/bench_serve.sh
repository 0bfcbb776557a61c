#!/usr/bin/env bash
# The HTTP service under load (issue 14), side by side with the model alone, on 127.0.0.1 only:
#  - throughput with 16 concurrent clients posting a fixture photo, against `res2net bench` at batch 8 (same model,
#    same engine, fixed 224x224 export), measured before and after the load so the machine's drift shows;
#  - p50 and p99 latency at 1, 4 and 16 clients, and the average batch size the service's /metrics report;
#  - resident memory after the first 200 requests and after 5,000.
# Every load run is bounded in requests and time (hey -n, -z caps) and the server is stopped at the end.
#
# Usage: bench/bench_serve.sh
# Environment: MODEL=res2net50_26w_4s THREADS=2 PHOTO=tests/fixtures/images/chelsea.png REQUESTS=2000 PORT=18181
#   MAX_BATCH=8 MAX_DELAY_MS=5 DECODE_THREADS=1 BENCH_SECONDS=20
# Needs: hey (apt-get install hey), curl, jq, a built CLI (Release) or the .NET SDK.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
model=${MODEL:-res2net50_26w_4s}
threads=${THREADS:-2}
photo=${PHOTO:-$root/tests/fixtures/images/chelsea.png}
requests=${REQUESTS:-2000}
port=${PORT:-18181}
max_batch=${MAX_BATCH:-8}
max_delay=${MAX_DELAY_MS:-5}
decode_threads=${DECODE_THREADS:-1}
bench_seconds=${BENCH_SECONDS:-20}
command -v hey >/dev/null || { echo "bench_serve: needs hey (apt-get install hey)" >&2; exit 1; }

work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
url=http://127.0.0.1:$port

echo "bench_serve: $model, $threads threads, $(date -u +%F)" >&2
"$cli" export --model "$model" --fresh --size 224 --output "$work/model.onnx" 2>/dev/null
model_only() {
  "$cli" bench --model "$model" --engine onnx --batch 8 --size 224 --threads "$threads" --seconds "$bench_seconds" --format json | jq -r .images_per_second
}
before=$(model_only)

OMP_NUM_THREADS=$threads "$cli" serve --model "$model" --onnx "$work/model.onnx" --port "$port" --max-batch "$max_batch" \
  --max-delay-ms "$max_delay" --decode-threads "$decode_threads" --max-queue 256 >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.5; done
curl -sf "$url/readyz" >/dev/null || { cat "$work/serve.log" >&2; exit 1; }
rss() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status"; }
load() { # clients requests -> "rps p50_ms p99_ms"
  hey -n "$2" -c "$1" -z 0 -t 60 -m POST -T image/png -D "$photo" "$url/v1/classify?topk=5" >"$work/hey.txt"
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ { print $2 }' "$work/hey.txt")
  p50=$(awk '/ 50%/ { print $3 * 1000 }' "$work/hey.txt")
  p99=$(awk '/ 99%/ { print $3 * 1000 }' "$work/hey.txt")
  errors=$(awk '/^\s+\[[0-9]+\]/ && $1 != "[200]" { n += $2 } END { print n + 0 }' "$work/hey.txt")
  [ "$errors" = 0 ] || { echo "bench_serve: $errors requests did not get 200:" >&2; cat "$work/hey.txt" >&2; exit 1; }
  echo "$rps $p50 $p99"
}
batch_mean() { curl -s "$url/metrics" | awk '/^res2net_batch_size_sum/ { s = $2 } /^res2net_batch_size_count/ { c = $2 } END { printf "%.2f", c ? s / c : 0 }'; }

load 16 200 >/dev/null   # the same load as the runs below, so the engine has reached its working set
rss_200=$(rss)
printf '| clients | requests | images/s | p50 ms | p99 ms |\n|---:|---:|---:|---:|---:|\n'
for clients in 1 4 16; do
  n=$((clients == 1 ? requests / 4 : requests))
  read -r rps p50 p99 < <(load "$clients" "$n")
  printf '| %s | %s | %.1f | %.0f | %.0f |\n' "$clients" "$n" "$rps" "$p50" "$p99"
  [ "$clients" = 16 ] && served=$rps
done
while [ "$(curl -s "$url/metrics" | awk '/^res2net_requests_total\{route="classify",status="200"\}/ { print int($2) }')" -lt 5000 ]; do
  load 16 500 >/dev/null
done
rss_5000=$(rss)
mean=$(batch_mean)
kill "$server"; wait "$server" 2>/dev/null || true; server=
after=$(model_only)
echo
echo "model alone (res2net bench, onnx, batch 8): $before images/s before, $after after"
awk -v s="$served" -v a="$before" -v b="$after" 'BEGIN { printf "16 clients against the model alone: %.2fx (against the mean of before and after)\n", s / ((a + b) / 2) }'
echo "average batch (from /metrics): $mean"
echo "resident memory: $rss_200 MB after 200 requests, $rss_5000 MB after 5,000 ($((rss_5000 - rss_200)) MB more)"
