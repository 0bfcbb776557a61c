#!/usr/bin/env bash
# Builds the res2net tool and runs the main job, offline on real data: trains the default small Res2Net on the
# embedded Fashion-MNIST sample, evaluates the checkpoint it wrote, and classifies a few of the sample's test images.
set -euo pipefail
cd "$(dirname "$0")"
dotnet build src/Res2Net.Cli -c Release -v quiet -nologo >/dev/null
bin=src/Res2Net.Cli/bin/Release/net10.0/res2net
out=runs/quickstart
rm -rf "$out"
echo "== train res2net_small on the embedded Fashion-MNIST sample (3,000 training, 1,000 test images) =="
"$bin" train --epochs 6 --out "$out" --export-samples 8
echo
echo "== evaluate $out/best.pth on the sample's test images =="
"$bin" evaluate --model res2net_small --weights "$out/best.pth"
echo
echo "== classify 8 test images with it (names from $out/classes.txt; the true classes, from $out/samples.txt: row, label, name) =="
"$bin" classify --model res2net_small --weights "$out/best.pth" --topk 3 "$out/samples.npy"
cat "$out/samples.txt"
echo
echo "files: $(ls "$out" | tr '\n' ' ')"
