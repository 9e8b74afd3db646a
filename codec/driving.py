"""The decoder's output per frame: the motion that drives the reference picture.

It sits below the renderers because the encoder (its closed loop), the motion codec and the
controls produce and edit it too; renderers only consume it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bitstream.packets import DEFAULT_FOLLOW, FOLLOW_STEP
from codec.prior.params import FaceParams


def follow_shares(levels: tuple[int, int]) -> tuple[float, float]:
    """The rings' shares of the head's motion from their levels on the wire."""
    return levels[0] * FOLLOW_STEP, levels[1] * FOLLOW_STEP


DEFAULT_BACKGROUND = follow_shares(DEFAULT_FOLLOW)


@dataclass(frozen=True)
class DrivingState:
    """One decoded frame's motion: parameters on the reference's identity, and keypoints.

    `params.beta` is the reference's β (the sender never sends identity per frame);
    `keypoints` is K×3 in the crop's normalized cube, or None in params mode; `follow` is how
    much of the head's motion the background's inner and outer rings follow (0: pinned).
    """

    seq: int
    time_ms: float
    ref_id: int
    params: FaceParams
    keypoints: np.ndarray | None
    follow: tuple[float, float] = DEFAULT_BACKGROUND
