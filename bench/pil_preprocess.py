"""Decoding and preprocessing per photo with PIL + torchvision, one thread: the reference `res2net bench --photos`
reports beside its own (preprocess_ms). Written for this repository: torchvision's evaluation transform, as timm and
the official Res2Net code use it (Resize(256), CenterCrop(224), ToTensor, Normalize with ImageNet's mean and std).

Usage: /usr/bin/python3 bench/pil_preprocess.py FILE... (Debian's python3-torch, python3-torchvision, python3-pil)
Prints one JSON object: photos, passes, decode_ms, transform_ms, total_ms (means per photo, best pass of three).
"""
import json
import sys
import time

import torch
from PIL import Image
from torchvision import transforms

torch.set_num_threads(1)
transform = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])
files = sys.argv[1:]
best = None
for _ in range(3):
    decode = transform_time = 0.0
    for f in files:
        t0 = time.perf_counter()
        image = Image.open(f).convert("RGB")
        t1 = time.perf_counter()
        transform(image)
        t2 = time.perf_counter()
        decode += t1 - t0
        transform_time += t2 - t1
    if best is None or decode + transform_time < best[0] + best[1]:
        best = (decode, transform_time)
n = len(files)
print(json.dumps({"photos": n, "passes": 3, "decode_ms": round(best[0] * 1000 / n, 3),
                  "transform_ms": round(best[1] * 1000 / n, 3), "total_ms": round((best[0] + best[1]) * 1000 / n, 3)}))
