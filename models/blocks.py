"""Building blocks shared by the networks: 2D/3D conv blocks, a 3D hourglass, SPADE."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.precision import layout


class Conv2dBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int = 3):
        super().__init__(nn.Conv2d(cin, cout, k, padding=k // 2), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class Down2d(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(Conv2dBlock(cin, cout), nn.AvgPool2d(2))


class Up2d(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = Conv2dBlock(cin, cout)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Res3d(nn.Module):
    """Pre-activation 3D residual block."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm3d(c), nn.ReLU(), nn.Conv3d(c, c, 3, padding=1),
            nn.BatchNorm3d(c), nn.ReLU(), nn.Conv3d(c, c, 3, padding=1),
        )  # fmt: skip

    def forward(self, x):
        return x + self.body(x)


class Conv3dBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Conv3d(cin, cout, 3, padding=1), nn.BatchNorm3d(cout), nn.ReLU())


class Hourglass3d(nn.Module):
    """U-Net over a feature volume; pools height and width only, keeping depth."""

    def __init__(self, cin: int, block: int, blocks: int, max_features: int):
        super().__init__()
        widths = [min(max_features, block * 2 ** (i + 1)) for i in range(blocks)]
        self.down = nn.ModuleList()
        c = cin
        for w in widths:
            self.down.append(Conv3dBlock(c, w))
            c = w
        self.up = nn.ModuleList()
        for i in reversed(range(blocks)):
            out = widths[i - 1] if i > 0 else block
            self.up.append(Conv3dBlock(c, out))
            c = out + (widths[i - 1] if i > 0 else cin)
        self.out_channels = c

    def forward(self, x):
        skips, h = [x], x
        for layer in self.down:
            h = F.avg_pool3d(layer(h), (1, 2, 2))
            skips.append(h)
        skips.pop()  # the bottom is h itself
        for layer in self.up:
            h = layer(F.interpolate(h, scale_factor=(1, 2, 2), mode="nearest"))
            h = torch.cat([h, skips.pop()], 1)
        return h


class SPADE(nn.Module):
    """Normalize, then modulate by scale and bias predicted from a conditioning map."""

    def __init__(self, c: int, cond: int, hidden: int = 128):
        super().__init__()
        self.shared = nn.Sequential(nn.Conv2d(cond, hidden, 3, padding=1), nn.ReLU())
        self.gamma = nn.Conv2d(hidden, c, 3, padding=1)
        self.beta = nn.Conv2d(hidden, c, 3, padding=1)

    def forward(self, x, cond):
        """`cond` a map, or (map, vector): the vector stands for itself spread over the map."""
        h = self.shared(cond) if isinstance(cond, torch.Tensor) else self._spread(*cond)
        return _instance_norm(x) * (1 + self.gamma(h)) + self.beta(h)

    def _spread(self, spatial, vector):
        """`shared` of the map joined with the vector repeated at every pixel, computed as
        what that part is: the same at every pixel but the border (where the padding drops
        taps). The vector's channels cost one single-channel pass instead of a full one (the
        mesh-guided generator's code is 53 of its SPADE's 101 channels)."""
        conv = self.shared[0]
        n, c, h, w = spatial.shape
        taps = torch.einsum("okij,nk->noij", conv.weight[:, c:], vector.to(conv.weight.dtype))
        ones = spatial.new_ones(1, 1, h, w)
        spread = F.conv2d(ones, taps.reshape(-1, 1, 3, 3).to(spatial.dtype), padding=1)
        out = F.conv2d(spatial, conv.weight[:, :c], conv.bias, padding=1)
        spread = spread.reshape(n, -1, h, w).contiguous(memory_format=layout(out))
        return self.shared[1](out + spread)


def _instance_norm(x, eps: float = 1e-5):
    """nn.InstanceNorm2d without affine, in fp32 (as autocast runs it) and in x's memory
    format: torch's own reshapes a channels-last tensor to NCHW, and the modulation that
    follows then mixes layouts, several times slower on a CPU. Two passes of means: here
    13x faster than `torch.var_mean`."""
    x = x.float()
    centred = x - x.mean((2, 3), keepdim=True)
    return centred * torch.rsqrt(centred.square().mean((2, 3), keepdim=True) + eps)


class SPADEResBlock(nn.Module):
    def __init__(self, c: int, cond: int):
        super().__init__()
        hidden = min(128, max(32, c))
        self.n1, self.c1 = SPADE(c, cond, hidden), nn.Conv2d(c, c, 3, padding=1)
        self.n2, self.c2 = SPADE(c, cond, hidden), nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x, cond):
        h = self.c1(F.leaky_relu(self.n1(x, cond), 0.2))
        h = self.c2(F.leaky_relu(self.n2(h, cond), 0.2))
        return x + h
