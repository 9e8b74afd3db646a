"""The face-vid2vid baseline's motion source: keypoints and head pose learned from pixels.

Canonical keypoints come from a 3D heatmap (soft-argmax); a pose network gives yaw, pitch,
roll, translation and per-keypoint expression offsets; the frame's keypoints are
`R (canonical + offsets) + t`, and the flows' Jacobian is the rotation between frames. The
same generator runs on these instead of FLAME keypoints and gets no expression code.
"""

from __future__ import annotations

import torch
from torch import nn

from models.blocks import Conv2dBlock, Down2d
from models.config import NetConfig


def euler_matrix(angles: torch.Tensor) -> torch.Tensor:
    """(N, 3) yaw, pitch, roll in radians -> (N, 3, 3)."""
    y, p, r = angles.unbind(-1)
    one, zero = torch.ones_like(y), torch.zeros_like(y)
    ry = torch.stack([y.cos(), zero, y.sin(), zero, one, zero, -y.sin(), zero, y.cos()], -1)
    rx = torch.stack([one, zero, zero, zero, p.cos(), -p.sin(), zero, p.sin(), p.cos()], -1)
    rz = torch.stack([r.cos(), -r.sin(), zero, r.sin(), r.cos(), zero, zero, zero, one], -1)
    return ry.view(-1, 3, 3) @ rx.view(-1, 3, 3) @ rz.view(-1, 3, 3)


class _Encoder(nn.Sequential):
    def __init__(self, c: NetConfig, levels: int):
        layers: list[nn.Module] = [Conv2dBlock(3, c.block // 2, 7)]
        width = c.block // 2
        for i in range(levels):
            out = min(c.max_features, c.block * 2**i)
            layers.append(Down2d(width, out))
            width = out
        super().__init__(*layers)
        self.width = width


class KeypointDetector(nn.Module):
    def __init__(self, c: NetConfig):
        super().__init__()
        self.encode = _Encoder(c, c.down_blocks)
        self.heat = nn.Conv2d(self.encode.width, c.keypoints * c.volume_depth, 3, padding=1)
        self.k, self.d = c.keypoints, c.volume_depth

    def forward(self, image):
        h = self.heat(self.encode(image))
        n, _, hh, ww = h.shape
        prob = torch.softmax(h.view(n, self.k, -1), -1).view(n, self.k, self.d, hh, ww)
        axes = [torch.linspace(-1 + 1 / s, 1 - 1 / s, s, device=h.device, dtype=h.dtype)
                for s in (self.d, hh, ww)]
        z = (prob.sum((3, 4)) * axes[0]).sum(-1)
        y = (prob.sum((2, 4)) * axes[1]).sum(-1)
        x = (prob.sum((2, 3)) * axes[2]).sum(-1)
        return torch.stack([x, y, z], -1)


class PoseEstimator(nn.Module):
    def __init__(self, c: NetConfig):
        super().__init__()
        self.encode = _Encoder(c, c.down_blocks + 2)
        self.head = nn.Linear(self.encode.width, 6 + 3 * c.keypoints)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.k = c.keypoints

    def forward(self, image):
        out = self.head(self.encode(image).mean((2, 3)))
        angles = torch.tanh(out[:, :3]) * (torch.pi / 2)
        return angles, out[:, 3:6], out[:, 6:].view(-1, self.k, 3)


class LearnedKeypoints(nn.Module):
    """image -> keypoints (N, K, 3), rotation (N, 3, 3), expression offsets (N, K, 3)."""

    def __init__(self, c: NetConfig):
        super().__init__()
        self.detector, self.pose = KeypointDetector(c), PoseEstimator(c)

    def forward(self, image):
        canonical = self.detector(image)
        angles, trans, offsets = self.pose(image)
        rot = euler_matrix(angles)
        kp = torch.einsum("nij,nkj->nki", rot, canonical + offsets) + trans[:, None]
        return kp, rot, offsets
