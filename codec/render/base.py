"""The protocol every renderer follows."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from codec.driving import DrivingState
from codec.prior.params import FaceParams


class Renderer(Protocol):
    name: str

    def set_reference(self, picture: np.ndarray, params: FaceParams) -> None:
        """Heavy per-reference work: the source mesh, or the appearance volume."""

    def render(self, driving: DrivingState) -> np.ndarray:
        """One RGB uint8 crop-size frame."""
