"""Multi-scale patch discriminator (hinge loss), with features kept for feature matching."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn


class PatchDiscriminator(nn.Module):
    def __init__(self, width: int = 64, layers: int = 4):
        super().__init__()
        blocks, cin = [], 3
        for i in range(layers):
            cout = min(512, width * 2**i)
            blocks.append(nn.Sequential(
                nn.utils.spectral_norm(nn.Conv2d(cin, cout, 4, stride=2 if i < layers - 1
                                                 else 1, padding=1)),
                nn.LeakyReLU(0.2),
            ))  # fmt: skip
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Conv2d(cin, 1, 3, padding=1)

    def forward(self, x):
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return self.out(x), feats


class MultiScaleDiscriminator(nn.Module):
    def __init__(self, scales: int = 2, width: int = 64):
        super().__init__()
        self.nets = nn.ModuleList(PatchDiscriminator(width) for _ in range(scales))

    def forward(self, x):
        outs = []
        for i, net in enumerate(self.nets):
            outs.append(net(x if i == 0 else F.avg_pool2d(x, 2**i)))
        return outs
