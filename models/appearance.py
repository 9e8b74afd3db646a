"""Appearance feature extractor: one picture -> a 3D feature volume (C × D × H/4 × W/4).

Computed once per reference picture; every frame is then a warp of this volume, which is
why the receiver caches it.
"""

from __future__ import annotations

from torch import nn

from models.blocks import Conv2dBlock, Down2d, Res3d
from models.config import NetConfig


class AppearanceExtractor(nn.Module):
    def __init__(self, c: NetConfig):
        super().__init__()
        layers: list[nn.Module] = [Conv2dBlock(3, c.block, 7)]
        width = c.block
        for i in range(c.down_blocks):
            out = min(c.max_features, c.block * 2 ** (i + 1))
            layers.append(Down2d(width, out))
            width = out
        self.encode = nn.Sequential(*layers)
        self.lift = nn.Conv2d(width, c.volume_channels * c.volume_depth, 1)
        self.res = nn.Sequential(*[Res3d(c.volume_channels) for _ in range(c.volume_resblocks)])
        self.c, self.d = c.volume_channels, c.volume_depth

    def forward(self, image):
        """image: (N, 3, S, S) in [0, 1] -> (N, C, D, S/4, S/4)."""
        h = self.lift(self.encode(image))
        n, _, hh, ww = h.shape
        return self.res(h.view(n, self.c, self.d, hh, ww))
