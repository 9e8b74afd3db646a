"""Building blocks shared by the networks: 2D/3D conv blocks, a 3D hourglass, SPADE."""

from __future__ import annotations

import itertools
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn


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
        return self.modulate(x, shared_hidden([self], cond)[0])

    def modulate(self, x, hidden):
        """x normalized, then scaled and shifted by what `gamma` and `beta` make of the
        hidden map (one convolution for both)."""
        weight = torch.cat([self.gamma.weight, self.beta.weight])
        bias = torch.cat([self.gamma.bias, self.beta.bias])
        gamma, beta = F.conv2d(hidden, weight, bias, padding=1).chunk(2, 1)
        return _instance_norm(x) * (1 + gamma) + beta


def shared_hidden(layers: list[SPADE], cond) -> list[torch.Tensor]:
    """The hidden maps of SPADE layers that read one conditioning input, from one convolution:
    all of a generator's blocks read the same input, so one launch does for all (no faster
    on a 2-core CPU, where convolutions already run near its peak; fewer, wider kernels on
    a GPU). `cond` a map, or (map, vector) where the vector stands for itself spread over
    the map (`_add_spread`)."""
    convs = [cast(nn.Conv2d, layer.shared[0]) for layer in layers]
    weight = torch.cat([conv.weight for conv in convs])
    bias = torch.cat([cast(torch.Tensor, conv.bias) for conv in convs])
    if isinstance(cond, torch.Tensor):
        out = F.conv2d(cond, weight, bias, padding=1)
    else:
        spatial, vector = cond
        c = spatial.shape[1]
        out = F.conv2d(spatial, weight[:, :c], bias, padding=1)
        out = _add_spread(out, torch.einsum("okij,nk->noij", weight[:, c:],
                                            vector.to(weight.dtype)))
    return list(F.relu(out).split([conv.out_channels for conv in convs], 1))


def _add_spread(out, taps):
    """out plus the convolution of a map of ones by `taps` (N, O, 3, 3), zero-padded: every
    tap inside the map, less the taps that fall on the padding along the border. The
    vector's channels so cost a sum of taps instead of a pass over the map (the mesh-guided
    generator's code is 53 of its SPADE's 101 channels)."""
    taps = taps.to(out.dtype)
    out = out + taps.sum((2, 3))[..., None, None]
    out[:, :, 0] -= taps[:, :, 0].sum(-1)[..., None]  # the top row lacks the kernel's top row
    out[:, :, -1] -= taps[:, :, 2].sum(-1)[..., None]
    out[..., 0] -= taps[..., 0].sum(-1)[..., None]
    out[..., -1] -= taps[..., 2].sum(-1)[..., None]
    for (y, i), (x, j) in itertools.product(((0, 0), (-1, 2)), repeat=2):
        out[:, :, y, x] += taps[:, :, i, j]  # a corner lost that tap twice
    return out


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
        return self.step(x, *shared_hidden([self.n1, self.n2], cond))

    def step(self, x, hidden1, hidden2):
        """The block given its SPADE layers' hidden maps (`spade_blocks` computes them for
        all blocks at once)."""
        h = self.c1(F.leaky_relu(self.n1.modulate(x, hidden1), 0.2))
        h = self.c2(F.leaky_relu(self.n2.modulate(h, hidden2), 0.2))
        return x + h


def spade_blocks(blocks, x, cond):
    """x through SPADE residual blocks that all read `cond`, their SPADE layers' first
    convolutions run as one (`shared_hidden`)."""
    hidden = shared_hidden([n for block in blocks for n in (block.n1, block.n2)], cond)
    for k, block in enumerate(blocks):
        x = block.step(x, hidden[2 * k], hidden[2 * k + 1])
    return x
