#!/usr/bin/env bash
# The Open Inference Protocol under load (issue 20), side by side with the model alone, on 127.0.0.1 only:
#  - 16 gRPC clients (Res2Net.Client) each sending single photos as the BYTES input, against `res2net bench --batch 8`
#    (same model, same engine, a fixed 224x224 export), the model alone measured before and after the load;
#  - the same over REST with the binary extension;
#  - the server's own time to read a 1x3x224x224 FP32 JSON request and to write its answer (logits and embedding, JSON),
#    from its res2net_protocol_codec_seconds histogram after 100 such requests.
# Every load run is bounded in requests, and the server is stopped at the end.
#
# Usage: bench/bench_protocol.sh
# Environment: MODEL=res2net50_26w_4s THREADS=2 PHOTO=tests/fixtures/images/chelsea.png REQUESTS=1000 PORT=18191
#   GRPC_PORT=18192 BENCH_SECONDS=20
# Needs: curl, jq, python3 (to write the JSON request), a built CLI (Release) or the .NET SDK.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
model=${MODEL:-res2net50_26w_4s}
threads=${THREADS:-2}
photo=${PHOTO:-$root/tests/fixtures/images/chelsea.png}
requests=${REQUESTS:-1000}
port=${PORT:-18191}
grpc_port=${GRPC_PORT:-18192}
bench_seconds=${BENCH_SECONDS:-20}

work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
url=http://127.0.0.1:$port
load=$root/bench/OipLoad/bin/Release/net10.0/OipLoad
[ -x "$load" ] || locked dotnet build -c Release "$root/bench/OipLoad" >/dev/null

echo "bench_protocol: $model, $threads threads, $(date -u +%F), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
"$cli" export --model "$model" --fresh --size 224 --output "$work/model.onnx" 2>/dev/null
model_only() {
  "$cli" bench --model "$model" --engine onnx --batch 8 --size 224 --threads "$threads" --seconds "$bench_seconds" --format json | jq -r .images_per_second
}
before=$(model_only)

"$cli" serve --model "$model" --onnx "$work/model.onnx" --port "$port" --grpc-port "$grpc_port" --threads "$threads" \
  --max-batch 8 --max-delay-ms 5 --decode-threads 1 --max-queue 256 >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do curl -sf "$url/v2/health/ready" >/dev/null && break; sleep 0.5; done
curl -sf "$url/v2/health/ready" >/dev/null || { cat "$work/serve.log" >&2; exit 1; }
name=$(curl -s "$url/v1/models" | jq -r .name)

"$load" "grpc://127.0.0.1:$grpc_port" "$name" "$photo" 16 200 >/dev/null   # warm: the engine reaches its working set
grpc=$("$load" "grpc://127.0.0.1:$grpc_port" "$name" "$photo" 16 "$requests")
rest=$("$load" "$url" "$name" "$photo" 16 "$requests")

# The server's own codec time on a 1x3x224x224 FP32 JSON request (python3 writes it as numpy's tolist() would).
python3 - "$work/request.json" <<'PY'
import json, random, sys
random.seed(0)
data = [[[[round(random.gauss(0, 1), 6) for _ in range(224)] for _ in range(224)] for _ in range(3)]]
json.dump({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 224, 224], "data": data}],
           "outputs": [{"name": "logits"}, {"name": "embedding"}]}, open(sys.argv[1], "w"))
PY
for _ in $(seq 1 100); do
  curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary @"$work/request.json" "$url/v2/models/$name/infer"
done
codec() { # phase -> mean ms
  curl -s "$url/metrics" | awk -v p="$1" '
    $0 ~ "^res2net_protocol_codec_seconds_sum\\{phase=\"" p "\",transport=\"rest\"" { s = $2 }
    $0 ~ "^res2net_protocol_codec_seconds_count\\{phase=\"" p "\",transport=\"rest\"" { c = $2 }
    END { printf "%.2f", c ? s / c * 1000 : 0 }'
}
read_ms=$(codec read)
write_ms=$(codec write)
batch=$(curl -s "$url/metrics" | awk '/^res2net_batch_size_sum/ { s = $2 } /^res2net_batch_size_count/ { c = $2 } END { printf "%.2f", c ? s / c : 0 }')
kill "$server"; wait "$server" 2>/dev/null || true; server=
after=$(model_only)

echo
echo "model alone (res2net bench, onnx, batch 8): $before images/s before, $after after"
for line in "$grpc" "$rest"; do
  echo "$line" | jq -r --argjson a "$before" --argjson b "$after" \
    '"\(.transport): \(.clients) clients, \(.requests) single photos: \(.images_per_second) images/s (\((.images_per_second / (($a + $b) / 2) * 100 | round) / 100)x the model alone), p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, \(.errors) errors"'
done
echo "average batch (from /metrics): $batch"
echo "server codec time, 1x3x224x224 FP32 JSON request ($(stat -c %s "$work/request.json") bytes): read $read_ms ms, write (logits and embedding as JSON) $write_ms ms"
