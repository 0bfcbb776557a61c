#!/usr/bin/python3
"""Small files that would cost a naive reader gigabytes or forever (tests/Res2Net.Tests/Weights/HostileInputTests.cs).
Run with Debian's torch 1.13 in this folder: /usr/bin/python3 make.py
"""
import gzip
import io
import struct
import zipfile

import torch

# 1. A zip checkpoint whose tensor is a stride-0 view: 250 million float32 from one element (1 GB once copied).
torch.save({"w": torch.zeros(1).expand(250_000_000)}, "expand_view.pth")

# 2. A zip checkpoint whose data.pkl is None then 2 million MEMOIZE opcodes (deflated to a few KB).
pkl = b"\x80\x02N" + b"\x94" * 2_000_000 + b"."
with zipfile.ZipFile("memoize_bomb.pth", "w", compression=zipfile.ZIP_DEFLATED) as z:
    z.writestr("archive/data.pkl", pkl)
    z.writestr("archive/version", "3\n")

# 3. A gzipped IDX images file whose header promises 20 images of 28x28 but which inflates to 8 MB.
head = struct.pack(">I", 0x00000803) + struct.pack(">III", 20, 28, 28)
with gzip.open("idx_bomb-images-idx3-ubyte.gz", "wb", compresslevel=9) as f:
    f.write(head + bytes(8 << 20))
