"""What a renderer receives, and the protocol every renderer follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from codec.prior.params import FaceParams


@dataclass(frozen=True)
class DrivingState:
    """One decoded frame's motion: parameters on the reference's identity, and keypoints.

    `params.beta` is the reference's β (the sender never sends identity per frame);
    `keypoints` is K×3 in the crop's normalized cube, or None in params mode.
    """

    seq: int
    time_ms: float
    ref_id: int
    params: FaceParams
    keypoints: np.ndarray | None


class Renderer(Protocol):
    name: str

    def set_reference(self, picture: np.ndarray, params: FaceParams) -> None:
        """Heavy per-reference work: the source mesh, or the appearance volume."""

    def render(self, driving: DrivingState) -> np.ndarray:
        """One RGB uint8 crop-size frame."""
