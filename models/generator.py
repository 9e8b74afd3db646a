"""The warping generator: source volume + motion (+ expression code) -> the driving frame.

Warp the appearance volume by the motion field, flatten depth into channels, mask by the
occlusion map, then eight SPADE residual blocks whose conditioning input is the warped
features concatenated with the expression code (ψ[:N] zero-padded to `expr_max`, plus jaw)
spread over the feature map: the paper's way of letting expression drive what warping
alone cannot (mouth interior, wrinkles). The baseline mode has no code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.appearance import AppearanceExtractor
from models.blocks import SPADEResBlock, Up2d, spade_blocks
from models.config import NetConfig
from models.motion_field import MotionFieldEstimator


class WarpingGenerator(nn.Module):
    def __init__(self, c: NetConfig):
        super().__init__()
        self.config = c
        self.appearance = AppearanceExtractor(c)
        self.motion = MotionFieldEstimator(c)
        self.entry = nn.Conv2d(c.volume_channels * c.volume_depth, c.spade_channels, 3,
                               padding=1)
        cond = c.spade_channels + c.code_dims
        self.blocks = nn.ModuleList(SPADEResBlock(c.spade_channels, cond)
                                    for _ in range(c.spade_blocks))
        ups, width = [], c.spade_channels
        for _ in range(c.down_blocks):
            ups.append(Up2d(width, max(16, width // 2)))
            width = max(16, width // 2)
        self.up = nn.Sequential(*ups)
        self.rgb = nn.Conv2d(width, 3, 7, padding=3)

    def forward(self, source, kp_s, kp_d, jac, code=None):
        return self.render(self.appearance(source), kp_s, kp_d, jac, code)

    def render(self, volume, kp_s, kp_d, jac, code=None):
        """volume from `appearance`; keypoints (N, K, 3); jac (N, 3, 3); code (N, code_dims)."""
        deformation, occlusion = self.motion(volume, kp_s, kp_d, jac)
        warped = F.grid_sample(volume, deformation, align_corners=False, padding_mode="border")
        n, c, d, h, w = warped.shape
        x = self.entry(warped.reshape(n, c * d, h, w)) * occlusion
        cond = x
        if self.config.code_dims:
            cond = torch.cat([x, code[:, :, None, None].expand(-1, -1, h, w)], 1)
        x = spade_blocks(self.blocks, x, cond)
        return torch.sigmoid(self.rgb(self.up(x)))


def _mesh_guided(c: NetConfig) -> nn.Module:
    from models.mesh_guided import MeshGuidedGenerator

    return MeshGuidedGenerator(c)


BUILDERS = {"volume": WarpingGenerator, "mesh": _mesh_guided}  # by NetConfig.generator


def build_generator(c: NetConfig) -> nn.Module:
    """The network a config names: face-vid2vid's volume generator or the mesh-guided one."""
    return BUILDERS[c.generator](c)
