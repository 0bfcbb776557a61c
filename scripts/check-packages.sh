#!/usr/bin/env bash
# Proves the packages work as a user gets them: packs them, installs the tool and restores the samples from the
# local feed into empty package folders (nothing borrowed from this machine's NuGet cache), runs them, and checks that
# the runtime sample pulls in no TorchSharp or LibTorch, publishes under 100 MB, and prints what `res2net classify
# --onnx` prints. About 5 minutes on 2 cores, most of it downloading TorchSharp and LibTorch for the fine-tuning sample.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/res2net-packages.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$root"
fail() { echo "check-packages: $*" >&2; exit 1; }
note() { echo "== $*"; }

note "pack"
rm -rf artifacts/packages
dotnet pack Res2Net.slnx -c Release -o artifacts/packages -v quiet -nologo >/dev/null
for p in Res2Net.Runtime Res2Net Res2Net.AspNetCore Res2Net.Client Res2Net.Tool; do
  ls artifacts/packages/$p.*.nupkg artifacts/packages/$p.*.snupkg >/dev/null 2>&1 || fail "no package or symbol package for $p"
done
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)

note "the tool, into an empty tool path and package folder"
NUGET_PACKAGES=$work/nuget-tool dotnet tool install Res2Net.Tool --version "$version" --tool-path "$work/tools" \
  --add-source artifacts/packages >/dev/null
res2net=$work/tools/res2net
"$res2net" models --format json > "$work/models.json"
grep -q '"res2net50_26w_4s"' "$work/models.json" || fail "res2net models does not list res2net50_26w_4s"
(cd "$work" && "$res2net" train --model res2net_cifar_tiny --epochs 1 --train-limit 200 --test-limit 100 --out run >/dev/null 2>&1) \
  || fail "the installed tool cannot train"
mkdir -p "$work/model"
"$res2net" export --model res2net_cifar_tiny --weights "$work/run/best.pth" --output "$work/model/fm.onnx" 2>/dev/null
photos=(tests/fixtures/images/chelsea.png tests/fixtures/images/rocket.jpg tests/fixtures/images/camera.png)
"$res2net" classify --model res2net_cifar_tiny --onnx "$work/model/fm.onnx" --format json "${photos[@]}" > "$work/tool.jsonl"

note "the runtime sample: Res2Net.Runtime only"
NUGET_PACKAGES=$work/nuget-runtime dotnet publish samples/ClassifyOnnx -c Release -o "$work/classify" -v quiet -nologo >/dev/null
if ls "$work/nuget-runtime" | grep -qiE '^(torchsharp|libtorch)'; then
  fail "the runtime sample restored $(ls "$work/nuget-runtime" | grep -iE '^(torchsharp|libtorch)' | tr '\n' ' ')"
fi
runtime_mb=$(( $(du -sb "$work/classify" | cut -f1) / 1000000 ))
[ "$runtime_mb" -lt 100 ] || fail "the runtime sample publishes $runtime_mb MB, not under 100"
"$work/classify/ClassifyOnnx" "$work/model/fm.onnx" "${photos[@]}" > "$work/sample.jsonl"
cmp -s "$work/tool.jsonl" "$work/sample.jsonl" || { diff "$work/tool.jsonl" "$work/sample.jsonl" >&2; fail "the runtime sample and res2net classify --onnx disagree"; }

note "the service sample: Res2Net.AspNetCore only, configured by environment variables as a container is, on 127.0.0.1"
NUGET_PACKAGES=$work/nuget-service dotnet publish samples/Service -c Release -o "$work/service" -v quiet -nologo >/dev/null
if ls "$work/nuget-service" | grep -qiE '^(torchsharp|libtorch)'; then
  fail "the service sample restored $(ls "$work/nuget-service" | grep -iE '^(torchsharp|libtorch)' | tr '\n' ' ')"
fi
service_mb=$(( $(du -sb "$work/service" | cut -f1) / 1000000 ))
Res2Net__Models__fm__Source="$work/model/fm.onnx" \
  Kestrel__Endpoints__Http__Url=http://127.0.0.1:18799 \
  Kestrel__Endpoints__Grpc__Url=http://127.0.0.1:18798 Kestrel__Endpoints__Grpc__Protocols=Http2 \
  "$work/service/Service" >"$work/service.log" 2>&1 &
service=$!
stop_service() { kill "$service" 2>/dev/null; wait "$service" 2>/dev/null || true; }
for _ in $(seq 1 60); do curl -sf http://127.0.0.1:18799/v2/health/ready >/dev/null && break; sleep 0.5; done
served=$(curl -sf -X POST --data-binary @"${photos[0]}" -H 'Content-Type: image/png' 'http://127.0.0.1:18799/v1/classify?topk=5' || true)
[ -n "$served" ] || { stop_service; cat "$work/service.log" >&2; fail "the service sample did not answer /v1/classify"; }
expected=$(head -1 "$work/tool.jsonl" | jq -c '[.top[].class]')
[ "$(echo "$served" | jq -c '[.top[].class]')" = "$expected" ] || { stop_service; fail "the service sample and res2net classify --onnx disagree: $served"; }

note "the client sample: Res2Net.Client only, classifying over REST and gRPC on the service sample"
NUGET_PACKAGES=$work/nuget-client dotnet publish samples/Client -c Release -o "$work/client" -v quiet -nologo >/dev/null \
  || { stop_service; fail "the client sample does not build"; }
if ls "$work/nuget-client" | grep -qiE '^(torchsharp|libtorch|microsoft\.ml\.onnxruntime)'; then
  stop_service; fail "the client sample restored a model runtime: $(ls "$work/nuget-client" | grep -iE '^(torchsharp|libtorch|microsoft\.ml)' | tr '\n' ' ')"
fi
for address in http://127.0.0.1:18799 grpc://127.0.0.1:18798; do
  answer=$("$work/client/Client" "$address" fm "${photos[0]}" || true)
  [ "$(echo "$answer" | jq -c '[.top[].class]' 2>/dev/null)" = "$expected" ] \
    || { stop_service; cat "$work/service.log" >&2; fail "the client sample over $address disagrees with res2net classify --onnx: $answer"; }
done
stop_service

note "the fine-tuning sample: the Res2Net package, TorchSharp from NuGet, no fix from this repository"
NUGET_PACKAGES=$work/nuget-full dotnet publish samples/FineTune -c Release -o "$work/finetune" -v quiet -nologo >/dev/null
finetune_mb=$(( $(du -sb "$work/finetune" | cut -f1) / 1000000 ))
"$work/finetune/FineTune" "$work/finetune-out" | tee "$work/finetune.log"
grep -q "logits (1, 1000)" "$work/finetune.log" || fail "the fine-tuning sample ran no forward pass"
[ -f "$work/finetune-out/tuned/best.pth" ] || fail "the fine-tuning sample wrote no checkpoint"

note "the library tour in docs/models.md compiles against the Res2Net package"
NUGET_PACKAGES=$work/nuget-full dotnet build samples/Tour -c Release -v quiet -nologo >/dev/null || fail "samples/Tour (docs/models.md) does not compile"

echo "packages: $(ls artifacts/packages | tr '\n' ' ')"
echo "published: runtime sample $runtime_mb MB, service sample $service_mb MB, fine-tuning sample $finetune_mb MB"
echo "check-packages: ok"
