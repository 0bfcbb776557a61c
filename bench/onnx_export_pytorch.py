"""PyTorch's own ONNX export of an official Res2Net model: the baseline `res2net bench --onnx FILE` compares against.

By hand only (the product never needs Python). Needs PyTorch (Debian's python3-torch 1.13 works) and the official
Res2Net code (https://github.com/Res2Net/Res2Net-PretrainedModels: res2net.py, res2net_v1b.py, dla.py), which this
repository does not ship. Random weights: the baseline is about speed.

Usage: /usr/bin/python3 bench/onnx_export_pytorch.py OFFICIAL_DIR OUT.onnx [model=res2net50_26w_4s] [opset=17]
"""
import importlib
import sys

import torch

official, out = sys.argv[1], sys.argv[2]
name = sys.argv[3] if len(sys.argv) > 3 else "res2net50_26w_4s"
opset = int(sys.argv[4]) if len(sys.argv) > 4 else 17
sys.path.insert(0, official)
module = "res2net_v1b" if "v1b" in name else "dla" if "dla" in name else "res2next" if name.startswith("res2next") else "res2net"
model = getattr(importlib.import_module(module), name)(pretrained=False).eval()
x = torch.randn(1, 3, 224, 224)
# What a .NET team would typically get: constant folding on (PyTorch folds batch norm into convolutions in eval
# mode), a dynamic batch dimension, the opset ONNX Runtime recommends.
torch.onnx.export(model, x, out, opset_version=opset, do_constant_folding=True, input_names=["input"],
                  output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
print(f"wrote {out} (opset {opset}, torch {torch.__version__})")
