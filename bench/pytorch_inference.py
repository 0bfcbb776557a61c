"""PyTorch eager inference of an official Res2Net model, timed like `res2net bench` and printed as its JSON line.

By hand only (the product never needs Python): the "faster than PyTorch eager" row of bench/bench_engines.sh.
Needs PyTorch (Debian's python3-torch 1.13) and the official Res2Net code (res2net.py, res2net_v1b.py, res2next.py,
dla.py from https://github.com/Res2Net/Res2Net-PretrainedModels), which this repository does not ship.

Usage: /usr/bin/python3 bench/pytorch_inference.py OFFICIAL_DIR [model=res2net50_26w_4s] [batch=8] [threads=2] [seconds=8]
"""
import importlib
import json
import statistics
import sys
import time

import torch

official = sys.argv[1]
name = sys.argv[2] if len(sys.argv) > 2 else "res2net50_26w_4s"
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 8
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 8.0
torch.set_num_threads(threads)
sys.path.insert(0, official)
module = "res2net_v1b" if "v1b" in name else "dla" if "dla" in name else "res2next" if name.startswith("res2next") else "res2net"
model = getattr(importlib.import_module(module), name)(pretrained=False).eval()
x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(0))


def run():
    with torch.inference_mode():
        model(x).softmax(1).topk(1)


# Warm-up as `res2net bench`: at least two runs and one second.
start = time.perf_counter()
runs = 0
while runs < 2 or time.perf_counter() - start < 1:
    run()
    runs += 1

latencies = []
start = time.perf_counter()
while len(latencies) < 5 or time.perf_counter() - start < seconds:
    t = time.perf_counter()
    run()
    latencies.append((time.perf_counter() - t) * 1000)

latencies.sort()


def percentile(q):
    pos = q * (len(latencies) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(latencies) - 1)
    return latencies[lo] + (latencies[hi] - latencies[lo]) * (pos - lo)


ips = batch * len(latencies) / (sum(latencies) / 1000)
with open("/proc/self/status") as status:
    hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
print(json.dumps({"model": name, "engine": f"pytorch-eager-{torch.__version__.split('a')[0]}", "batch": batch,
                  "images_per_second": round(ips, 3), "median_ms": round(statistics.median(latencies), 2),
                  "p95_ms": round(percentile(0.95), 2), "peak_rss_mb": round(hwm, 1), "gflops": None}))
