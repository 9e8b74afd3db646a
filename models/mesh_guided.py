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

    out = mesh_warp + m · ((sample(reference, map + Δmap) − sample(reference, map)) + Δrgb)

At initialization Δmap = Δrgb = 0, so the output *is* the mesh warp (its mouth shading
included): training can only move away from a renderer that already scores well, which is
what lets it converge in CPU-hours on 16 minutes of video. With `blend_mask`, a third head
gives m in [0, 1] at 1/f, upsampled, and training pays for its area: corrections land where
the warp is wrong (mouth interior, lids, outline) and elsewhere the output stays near the
warp's full-resolution reference pixels, so the face is not blurred by corrections that
regress to the mean. A sigmoid is never 0, so that holds exactly only under a mask floor
(`NetConfig.mask_floor`), below which m is 0. The network spends its compute at 1/f.

Sampling grids are always sampled in fp32, also under bf16 autocast on a GPU: a bf16 grid
has steps of half a pixel at 256².
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.blocks import SPADEResBlock, spade_blocks
from models.config import NetConfig
from models.precision import layout


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2, inplace=True))


def _zero(conv: nn.Conv2d) -> nn.Conv2d:
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)  # type: ignore[arg-type]  # built with a bias
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
        self.mask = nn.Conv2d(w, 1, 3, padding=1) if c.blend_mask else None
        if self.mask is not None:
            nn.init.zeros_(self.mask.weight)
            nn.init.constant_(self.mask.bias, c.mask_init)  # type: ignore[arg-type]

    def forward(self, source, warped, grid, code):
        """Training's call: (output, blend mask or None) from the reference itself."""
        return self.render_parts(self.appearance(source), source, warped, grid, code)

    def render(self, features, source, warped, grid, code):
        """features from `appearance`; source, warped (N, 3, S, S) in [0, 1]; grid
        (N, S, S, 2) the mesh's backward map in grid_sample's units; code (N, code_dims).
        Every argument may hold frames of different calls (features and source repeated)."""
        return self.render_parts(features, source, warped, grid, code)[0]

    def render_parts(self, features, source, warped, grid, code):
        """(output, blend mask at full resolution or None)."""
        grid, warped = grid.float(), warped.float()
        core = self._core(features, warped, grid, code)
        size = grid.shape[1:3]
        if self.mask is None:
            return warped + self._correction(core, source, warped, grid), None
        logits, floor = self.mask(core).float(), self.config.mask_floor
        if not floor:
            mask = torch.sigmoid(_upsample(logits, size))
            return warped + mask * self._correction(core, source, warped, grid), mask
        low = (torch.sigmoid(logits) - floor).clamp_min(0) / (1 - floor)
        mask = _upsample(low, size)
        if torch.is_grad_enabled():
            return warped + mask * self._correction(core, source, warped, grid), mask
        return self._only_under(low, mask, core, source, warped, grid), mask

    def _core(self, features, warped, grid, code):
        """The network at 1/f: warped features, picture and displacement through SPADE."""
        f = self.config.mesh_factor
        grid_lo = F.avg_pool2d(grid.permute(0, 3, 1, 2), f)  # (N, 2, h, w)
        n, _, h, w = grid_lo.shape
        moved = grid_lo - _identity(n, h, w, grid.device, grid.dtype)
        feats = _sample(features, grid_lo.permute(0, 2, 3, 1), "border")
        x = self.entry(torch.cat([feats, F.avg_pool2d(warped, f).to(feats.dtype),
                                  moved.to(feats.dtype)], 1))
        return spade_blocks(self.blocks, x, (x, code))  # the code stands for its spread map

    def _correction(self, core, source, warped, grid):
        """Full resolution: the reference re-sampled along the corrected map, minus the
        warp's own sample, plus the decoded RGB residual."""
        f = self.config.mesh_factor
        delta = _upsample(self.flow(core).float(), grid.shape[1:3]).permute(0, 2, 3, 1)
        correction = _sample(source, grid + delta) - _sample(source, grid)
        picture = warped + correction
        x = core
        for i, layer in enumerate(self.up):
            scale = f >> (i + 1)
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            skip = F.avg_pool2d(picture, scale) if scale > 1 else picture
            x = layer(torch.cat([x, skip.to(x.dtype)], 1))
        return correction + self.rgb(torch.cat([x, picture.to(x.dtype)], 1)).float()

    def _only_under(self, low, mask, core, source, warped, grid):
        """Inference under a floored mask: the correction is decoded only in the box around
        the pixels the mask keeps, grown by `MARGIN` cells so the box's edges cannot reach
        them; everywhere else the output is the warp itself, and a frame the mask leaves
        alone costs no full-resolution work at all."""
        rows = low.amax((0, 1, 3)).nonzero()
        if len(rows) == 0:
            return warped
        cols = low.amax((0, 1, 2)).nonzero()
        h, w = low.shape[2:]
        y0, y1 = max(0, int(rows[0]) - MARGIN), min(h, int(rows[-1]) + 1 + MARGIN)
        x0, x1 = max(0, int(cols[0]) - MARGIN), min(w, int(cols[-1]) + 1 + MARGIN)
        f = self.config.mesh_factor
        box = (slice(None), slice(None), slice(f * y0, f * y1), slice(f * x0, f * x1))
        part = self._correction(core[..., y0:y1, x0:x1], source, warped[box],
                                grid[:, f * y0:f * y1, f * x0:f * x1])
        out = warped.clone()
        out[box] += mask[box] * part
        return out


MARGIN = 4  # cells at 1/f: the decoder's reach past a box edge is under 2


def _upsample(x, size):
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _sample(image, grid, padding: str = "reflection"):
    """grid_sample in fp32 whatever the autocast (grids need the precision), back in the
    image's dtype."""
    with torch.autocast(grid.device.type, enabled=False):
        out = F.grid_sample(image.float(), grid.float(), align_corners=False,
                            padding_mode=padding)
    out = out.contiguous(memory_format=layout(image))  # grid_sample gives NCHW
    return out.to(image.dtype) if image.dtype != torch.float32 else out


_IDENTITY: dict = {}


def _identity(n: int, h: int, w: int, device, dtype) -> torch.Tensor:
    key = (h, w, device, dtype)
    if key not in _IDENTITY:
        ys = (torch.arange(h, device=device, dtype=dtype) + 0.5) * (2.0 / h) - 1.0
        xs = (torch.arange(w, device=device, dtype=dtype) + 0.5) * (2.0 / w) - 1.0
        _IDENTITY[key] = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), 0)[None]
    return _IDENTITY[key].expand(n, -1, -1, -1)
