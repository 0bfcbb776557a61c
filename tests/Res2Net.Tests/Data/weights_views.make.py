# Made with Debian's python3-torch 1.13.1 (run in this folder): /usr/bin/python3 weights_views.make.py
# Used by tests/Res2Net.Tests/Weights: views with offsets/strides and shared storage, every dtype,
# a {'epoch', 'arch', numpy-scalar metric, 'state_dict'} wrapper and DataParallel 'module.' prefixes.
import torch, collections, numpy as np
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
sd = collections.OrderedDict()
sd['module.full'] = base
sd['module.view_t'] = base.t()
sd['module.view_slice'] = base[1:3, 2:5]
sd['module.col'] = base[:, 1]
sd['module.f16'] = torch.tensor([-2.0, 0.5, 65504.0]).half()
sd['module.bf16'] = torch.tensor([1.0, -3.5, 256.0]).bfloat16()
sd['module.f64'] = torch.tensor([1.5, -2.25], dtype=torch.float64)
sd['module.i64'] = torch.tensor([1, -2, 3000000000], dtype=torch.int64)
sd['module.i32'] = torch.tensor([[7, -8]], dtype=torch.int32)
sd['module.i16'] = torch.tensor([300, -300], dtype=torch.int16)
sd['module.i8'] = torch.tensor([-5, 5], dtype=torch.int8)
sd['module.u8'] = torch.tensor([0, 255], dtype=torch.uint8)
sd['module.b'] = torch.tensor([True, False, True])
sd['module.scalar'] = torch.tensor(3.5)
sd['module.empty'] = torch.zeros(0, 3)
ck = {'epoch': 7, 'arch': 'res2net', 'best_metric': np.float64(0.75), 'state_dict': sd}
torch.save(ck, 'weights_views.legacy.pth', _use_new_zipfile_serialization=False)
torch.save(ck, 'weights_views.pth')
