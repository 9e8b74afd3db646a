"""The protocol every renderer follows."""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from codec.driving import DrivingState
from codec.prior.params import FaceParams


class Renderer(Protocol):
    name: str

    def set_reference(self, picture: np.ndarray, params: FaceParams) -> None:
        """Heavy per-reference work: the source mesh, or the appearance volume. `picture` is
        the reference crop (params.crop_size square), or that crop grown by a margin of the
        camera frame on every side (`split_reference`)."""

    def render(self, driving: DrivingState) -> np.ndarray:
        """One RGB uint8 crop-size frame."""


def split_reference(picture: np.ndarray, crop_size: int) -> tuple[np.ndarray, int]:
    """(the crop, the margin): a reference picture is its crop grown by `margin` pixels of
    the camera frame on every side (bitstream v6), so a warp reaching past the crop's edge
    finds the scene there instead of the edge mirrored. Margin 0: the picture is the crop."""
    side = picture.shape[0]
    margin = (side - crop_size) // 2
    if picture.shape[1] != side or margin < 0 or side != crop_size + 2 * margin:
        raise ValueError(f"a reference picture of {picture.shape[1]}×{side} is no crop of "
                         f"{crop_size}² grown by an equal margin on every side")
    return picture[margin : margin + crop_size, margin : margin + crop_size], margin


def reference_at_size(picture: np.ndarray, crop_size: int,
                      size: int) -> tuple[np.ndarray, np.ndarray]:
    """A reference picture scaled so its crop is size² (a renderer or a search at another
    size): (that crop, the whole picture with its margin at the same scale)."""
    crop, margin = split_reference(picture, crop_size)
    grown_margin = round(margin * size / crop_size)
    return _resized(crop, size), _resized(picture, size + 2 * grown_margin)


def _resized(picture: np.ndarray, side: int) -> np.ndarray:
    if picture.shape[0] == side:
        return np.ascontiguousarray(picture)
    return cv2.resize(picture, (side, side), interpolation=cv2.INTER_AREA)
