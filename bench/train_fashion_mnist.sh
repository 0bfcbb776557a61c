#!/usr/bin/env bash
# Fashion-MNIST benchmark (not a test): trains the default small Res2Net and its equal-compute ResNet baseline on the
# full dataset with the same schedule and seed, evaluates both on the full test set, and compares the training
# throughput with PyTorch eager (Debian's python3-torch) on the same model shape and thread count.
# Results go to bench/results/ (logs, metrics.jsonl, chart.png, eval JSON, throughput.txt); the README quotes them.
#   THREADS=2 EPOCHS=<default> MODELS="res2net_small resnet_small" nice -n 10 bench/train_fashion_mnist.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
out=${OUT:-bench/results}
threads=${THREADS:-2}
models=${MODELS:-res2net_small resnet_small}
epochs_arg=()
if [ -n "${EPOCHS:-}" ]; then epochs_arg=(--epochs "$EPOCHS"); fi
[ -d "$data" ] || { echo "bench: $data not found; install the Debian package dataset-fashion-mnist" >&2; exit 1; }
mkdir -p "$out"
[ "${SKIP_BUILD:-0}" = 1 ] || flock /tmp/build.lock dotnet build src/Res2Net.Cli -c Release -v quiet -nologo >/dev/null
bin=${BIN:-src/Res2Net.Cli/bin/Release/net10.0/res2net}

if [ "${SKIP_THROUGHPUT:-0}" != 1 ]; then
  # Throughput, back to back so both see the same machine: PyTorch eager on random batches, then res2net train on
  # 30 real batches (its figure includes batch assembly and augmentation, PyTorch's does not).
  {
    echo "# $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $threads threads"
    if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
      /usr/bin/python3 bench/pytorch_throughput.py 1,2,2 16,32,64 64 4 32 128 "$threads" 2
    else
      echo "pytorch: /usr/bin/python3 with torch not available"
    fi
    "$bin" train --model res2net_small --data "$data" --epochs 1 --train-limit 3840 --test-limit 500 --threads "$threads" \
      --out "$out/throughput-run" 2>/dev/null
    python3 -c "import json,sys; m=[json.loads(l) for l in open(sys.argv[1])][-1]; print(f\"res2net train (TorchSharp): {m['images_per_second']:.0f} images/s\")" "$out/throughput-run/metrics.jsonl"
  } | tee "$out/throughput.txt"
fi

for model in $models; do
  start=$(date +%s)
  "$bin" train --model "$model" --data "$data" "${epochs_arg[@]}" --threads "$threads" --seed 42 --out "$out/$model" 2> "$out/$model.log"
  end=$(date +%s)
  "$bin" evaluate --model "$model" --weights "$out/$model/last.pth" --data "$data" --threads "$threads" --format json > "$out/$model.eval.json"
  echo "$model: $(cat "$out/$model.eval.json"), wall $(( (end - start) / 60 )) min $(( (end - start) % 60 )) s (training and per-epoch evaluation)" | tee -a "$out/summary.txt"
done
