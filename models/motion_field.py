"""Motion field estimator: keypoints of the source and the driving frame -> a dense 3D warp.

Each keypoint k proposes a flow that maps a driving-space point z to source space by moving
rigidly with the head: `kp_s[k] + J (z - kp_d[k])`, J the head's rotation (and scale) from
driving to source (face-vid2vid's first-order term, here from FLAME's pose rather than a
learned Jacobian). A flow for the background (identity) is added. The source volume warped by
each candidate, with Gaussian heatmaps of the keypoints, goes through a 3D hourglass that
predicts soft masks over the K+1 candidates and an occlusion map.

Sampling the volume is a 5D `grid_sample`. ONNX exports it (GridSample, opset 20, N-D);
TensorRT's grid-sample layer is 2D-only, and the 2D alternative (sample every depth slice
and blend by depth) costs D times the work, so this keeps the 5D form.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.blocks import Hourglass3d
from models.config import NetConfig


def volume_grid(d: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """(D, H, W, 3) coordinates (x, y, z) in [-1, 1], matching `grid_sample`'s convention."""
    axes = [torch.linspace(-1 + 1 / n, 1 - 1 / n, n, device=like.device, dtype=like.dtype)
            for n in (d, h, w)]
    z, y, x = torch.meshgrid(*axes, indexing="ij")
    return torch.stack([x, y, z], -1)


def keypoint_flows(grid, kp_s, kp_d, jac) -> torch.Tensor:
    """(N, K+1, D, H, W, 3): the identity flow, then one rigid flow per keypoint."""
    n = kp_s.shape[0]
    z = grid[None, None] - kp_d[:, :, None, None, None, :]  # (N, K, D, H, W, 3)
    moved = torch.einsum("nij,nkdhwj->nkdhwi", jac, z) + kp_s[:, :, None, None, None, :]
    ident = grid[None, None].expand(n, 1, *grid.shape)
    return torch.cat([ident, moved], 1)


def heatmaps(grid, kp_s, kp_d, sigma: float) -> torch.Tensor:
    """(N, K+1, D, H, W): Gaussian at the driving keypoint minus one at the source keypoint."""

    def gauss(kp):
        d2 = ((grid[None, None] - kp[:, :, None, None, None, :]) ** 2).sum(-1)
        return torch.exp(-d2 / (2 * sigma**2))

    h = gauss(kp_d) - gauss(kp_s)
    return torch.cat([torch.zeros_like(h[:, :1]), h], 1)


class MotionFieldEstimator(nn.Module):
    def __init__(self, c: NetConfig):
        super().__init__()
        self.compress = nn.Sequential(
            nn.Conv3d(c.volume_channels, c.motion_compress, 1),
            nn.BatchNorm3d(c.motion_compress), nn.ReLU(),
        )  # fmt: skip
        k1 = c.keypoints + 1
        self.hourglass = Hourglass3d(k1 * (c.motion_compress + 1), c.motion_block,
                                     c.motion_blocks, c.motion_max)
        out = self.hourglass.out_channels
        self.mask = nn.Conv3d(out, k1, 3, padding=1)
        self.occlusion = nn.Conv2d(out * c.volume_depth, 1, 7, padding=3)
        self.sigma = c.kp_sigma

    def forward(self, volume, kp_s, kp_d, jac):
        """-> deformation (N, D, H, W, 3) into source space, occlusion (N, 1, H, W)."""
        n, _, d, h, w = volume.shape
        grid = volume_grid(d, h, w, volume)
        flows = keypoint_flows(grid, kp_s, kp_d, jac)  # (N, K1, D, H, W, 3)
        k1 = flows.shape[1]
        feats = self.compress(volume)
        c = feats.shape[1]
        rep = feats[:, None].expand(n, k1, c, d, h, w).reshape(n * k1, c, d, h, w)
        warped = F.grid_sample(rep, flows.reshape(n * k1, d, h, w, 3), align_corners=False,
                               padding_mode="border")
        warped = warped.view(n, k1, c, d, h, w)
        heat = heatmaps(grid, kp_s, kp_d, self.sigma)[:, :, None]
        x = torch.cat([heat, warped], 2).view(n, k1 * (c + 1), d, h, w)
        hg = self.hourglass(x)
        mask = torch.softmax(self.mask(hg), 1)  # (N, K1, D, H, W)
        deformation = (mask[..., None] * flows).sum(1)
        occlusion = torch.sigmoid(self.occlusion(hg.reshape(n, -1, h, w)))
        return deformation, occlusion
