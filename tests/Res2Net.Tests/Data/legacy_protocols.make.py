#!/usr/bin/python3
"""Legacy (non-zip) torch.save files of one small state dict with pickle protocols 2 to 5, as PyTorch writes them
with torch.save(sd, f, pickle_protocol=p, _use_new_zipfile_serialization=False). Run with Debian's torch 1.13:
    /usr/bin/python3 legacy_protocols.make.py
"""
import collections
import os

import torch

here = os.path.dirname(os.path.abspath(__file__))
sd = collections.OrderedDict()
sd["conv.weight"] = torch.arange(24, dtype=torch.float32).reshape(2, 3, 2, 2) / 7
sd["bn.running_var"] = torch.tensor([0.5, 2.0], dtype=torch.float32)
sd["bn.num_batches_tracked"] = torch.tensor(3, dtype=torch.int64)
for p in (2, 3, 4, 5):
    torch.save(sd, os.path.join(here, f"legacy_protocol{p}.pth"), pickle_protocol=p, _use_new_zipfile_serialization=False)
