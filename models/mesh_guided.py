"""The mesh-guided warping generator: start from the mesh warp, learn what geometry misses.

The receiver already holds, per frame, a dense backward map from every output pixel to the
reference (the FLAME mesh warp of `codec/render/meshwarp.py`) and the picture it gives. This
generator takes both as its starting point instead of learning motion from scratch:

- appearance features of the reference, computed once per reference at 1/f of the crop;
- per frame, those features are warped along the mesh's map (pooled to 1/f), joined with
  the mesh-warped picture and the map's displacement, and run through SPADE residual blocks
  conditioned on the expression code (ψ[:N] zero-padded, plus jaw) — the paper's way of
  letting the code drive what warping alone cannot (mouth interior, wrinkles, eyelids);
- two zero-initialized heads: a flow correction that re-samples the reference at full
  resolution, and an RGB residual decoded back to full resolution with the warped picture
  as a skip input.

    out = mesh_warp + (sample(reference, map + Δmap) − sample(reference, map)) + Δrgb

At initialization Δmap = Δrgb = 0, so the output *is* the mesh warp (its mouth shading
included): training can only move away from a renderer that already scores well, which is
what lets it converge in CPU-hours on 16 minutes of video. Detail stays sharp because the
full-resolution pixels always come from the reference; the network spends its compute at
1/f resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.blocks import SPADEResBlock
from models.config import NetConfig


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2, inplace=True))


def _zero(conv: nn.Conv2d) -> nn.Conv2d:
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class MeshGuidedGenerator(nn.Module):
    def __init__(self, c: NetConfig):
        super().__init__()
        self.config = c
        w, levels = c.mesh_width, c.mesh_factor.bit_length() - 1
        widths = [max(16, w >> (levels - i)) for i in range(levels + 1)]  # full res ... 1/f
        self.appearance = nn.Sequential(
            _conv(3, widths[0]),
            *(_conv(widths[i], widths[i + 1], 2) for i in range(levels)),
            _conv(w, w),
        )  # fmt: skip
        self.entry = _conv(w + 3 + 2, w)
        self.blocks = nn.ModuleList(SPADEResBlock(w, w + c.code_dims)
                                    for _ in range(c.mesh_blocks))
        self.flow = _zero(nn.Conv2d(w, 2, 3, padding=1))
        self.up = nn.ModuleList(_conv(widths[i + 1] + 3, widths[i])
                                for i in reversed(range(levels)))
        self.rgb = _zero(nn.Conv2d(widths[0] + 3, 3, 3, padding=1))

    def forward(self, source, warped, grid, code):
        return self.render(self.appearance(source), source, warped, grid, code)

    def render(self, features, source, warped, grid, code):
        """features from `appearance`; source, warped (N, 3, S, S) in [0, 1]; grid
        (N, S, S, 2) the mesh's backward map in grid_sample's units; code (N, code_dims)."""
        f = self.config.mesh_factor
        grid_lo = F.avg_pool2d(grid.permute(0, 3, 1, 2), f)  # (N, 2, h, w)
        n, _, h, w = grid_lo.shape
        moved = grid_lo - _identity(n, h, w, grid.device, grid.dtype)
        feats = F.grid_sample(features, grid_lo.permute(0, 2, 3, 1), align_corners=False,
                              padding_mode="border")
        x = self.entry(torch.cat([feats, F.avg_pool2d(warped, f), moved], 1))
        cond = torch.cat([x, code[:, :, None, None].expand(-1, -1, h, w)], 1)
        for block in self.blocks:
            x = block(x, cond)
        delta = F.interpolate(self.flow(x), size=grid.shape[1:3], mode="bilinear",
                              align_corners=False).permute(0, 2, 3, 1)
        base = F.grid_sample(source, grid, align_corners=False, padding_mode="reflection")
        moved_pic = F.grid_sample(source, grid + delta, align_corners=False,
                                  padding_mode="reflection")
        picture = warped + (moved_pic - base)
        for i, layer in enumerate(self.up):
            scale = f >> (i + 1)
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            skip = F.avg_pool2d(picture, scale) if scale > 1 else picture
            x = layer(torch.cat([x, skip], 1))
        return picture + self.rgb(torch.cat([x, picture], 1))


_IDENTITY: dict = {}


def _identity(n: int, h: int, w: int, device, dtype) -> torch.Tensor:
    key = (h, w, device, dtype)
    if key not in _IDENTITY:
        ys = (torch.arange(h, device=device, dtype=dtype) + 0.5) * (2.0 / h) - 1.0
        xs = (torch.arange(w, device=device, dtype=dtype) + 0.5) * (2.0 / w) - 1.0
        _IDENTITY[key] = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), 0)[None]
    return _IDENTITY[key].expand(n, -1, -1, -1)
