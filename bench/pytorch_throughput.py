"""Training-step throughput of a CIFAR-style Res2Net in PyTorch eager, for comparison with `res2net train`.

Written for this repository (no code from other projects): the same block structure as
src/Res2Net/Models/Bottle2neck.cs and Res2NetModel.cs with the Cifar stem, SGD-Nesterov, label smoothing,
batch of 1-channel 28x28 images. Usage: python3 bench/pytorch_throughput.py [layers] [widths] [basewidth] [scale] [stem] [batch] [threads] [stem_stride]
The defaults are res2net_small (1,2,2 blocks; planes 16,32,64; base width 64; scale 4; stem 32; batch 128; 2 threads;
stem stride 2, so the stages run at 14, 7 and 4 pixels).
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, width, scale, card, stride, first):
        super().__init__()
        self.width, self.scale, self.first = width, scale, first
        self.nb = 1 if scale == 1 else scale - 1
        self.conv1 = nn.Conv2d(cin, width * scale, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width * scale)
        self.convs = nn.ModuleList([nn.Conv2d(width, width, 3, stride, 1, groups=card, bias=False) for _ in range(self.nb)])
        self.bns = nn.ModuleList([nn.BatchNorm2d(width) for _ in range(self.nb)])
        self.pool = nn.AvgPool2d(3, stride, 1) if first else None
        self.conv3 = nn.Conv2d(width * scale, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        splits = [y] if self.scale == 1 else torch.split(y, self.width, 1)
        outs = []
        sp = None
        for i in range(self.nb):
            sp = splits[i] if i == 0 or self.first else sp + splits[i]
            sp = F.relu(self.bns[i](self.convs[i](sp)))
            outs.append(sp)
        if self.scale != 1:
            outs.append(self.pool(splits[self.nb]) if self.pool is not None else splits[self.nb])
        y = self.bn3(self.conv3(torch.cat(outs, 1) if self.scale != 1 else outs[0]))
        return F.relu(y + (x if self.down is None else self.down(x)))


class Net(nn.Module):
    def __init__(self, layers, widths, base_width, scale, card=1, stem=32, in_ch=1, classes=10, stem_stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, stem, 3, stem_stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        blocks = []
        cin = stem
        for s, (n, planes) in enumerate(zip(layers, widths)):
            width = planes * base_width // 64 * card
            for b in range(n):
                blocks.append(Block(cin, planes * 4, width, scale, card, 2 if (s > 0 and b == 0) else 1, b == 0))
                cin = planes * 4
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def main():
    a = sys.argv[1:]
    layers = [int(v) for v in (a[0] if len(a) > 0 else "1,2,2").split(",")]
    widths = [int(v) for v in (a[1] if len(a) > 1 else "16,32,64").split(",")]
    base_width = int(a[2]) if len(a) > 2 else 64
    scale = int(a[3]) if len(a) > 3 else 4
    stem = int(a[4]) if len(a) > 4 else 32
    batch = int(a[5]) if len(a) > 5 else 128
    threads = int(a[6]) if len(a) > 6 else 2
    stem_stride = int(a[7]) if len(a) > 7 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Net(layers, widths, base_width, scale, stem=stem, stem_stride=stem_stride)
    print(f"params {sum(p.numel() for p in model.parameters())}")
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    n = 30
    t = time.perf_counter()
    for _ in range(n):
        step()
    dt = time.perf_counter() - t
    print(f"pytorch {torch.__version__} threads {threads} batch {batch}: {n * batch / dt:.0f} images/s")


if __name__ == "__main__":
    main()
