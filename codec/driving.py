"""The decoder's output per frame: the motion that drives the reference picture.

It sits below the renderers because the encoder (its closed loop), the motion codec and the
controls produce and edit it too; renderers only consume it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bitstream.packets import DEFAULT_FOLLOW, FOLLOW_STEP, VIEW_LIMIT, VIEW_STEP
from codec.prior.params import FaceParams


def follow_shares(levels: tuple[int, int]) -> tuple[float, float]:
    """The rings' shares of the head's motion from their levels on the wire."""
    return levels[0] * FOLLOW_STEP, levels[1] * FOLLOW_STEP


DEFAULT_BACKGROUND = follow_shares(DEFAULT_FOLLOW)
STILL_VIEW = (1.0, 0.0, 0.0)  # the crop the reference was cut from


def view_between(reference: tuple[float, float, float],
                 current: tuple[float, float, float]) -> tuple[float, float, float]:
    """How still scenery moved in the crop since the reference's: (k, tx, ty) such that a
    reference crop pixel q lies at S/2 + k (q - S/2) + S t in this S×S crop. Boxes are
    (cx, cy, side) in frame pixels (the crop tracker's), so the view is what the sender's
    re-centring and re-sizing of its crop did to everything that did not move."""
    (cx0, cy0, side0), (cx, cy, side) = reference, current
    return side0 / side, (cx0 - cx) / side, (cy0 - cy) / side


def view_matrix(view: tuple[float, float, float], size: int) -> np.ndarray:
    """2×3: a reference crop pixel to where still scenery shows it in this S×S crop."""
    k, tx, ty = view
    c = size / 2 * (1 - k)
    return np.array([[k, 0.0, c + tx * size], [0.0, k, c + ty * size]])


def view_levels(view: tuple[float, float, float]) -> tuple[int, int, int]:
    """A view's levels on the wire (log zoom and shift in VIEW_STEPs), clipped to the range."""
    k, tx, ty = view
    q = np.clip(np.rint(np.array([np.log(k), tx, ty]) / VIEW_STEP), -VIEW_LIMIT, VIEW_LIMIT)
    a, b, c = (int(v) for v in q)
    return a, b, c


def view_from_levels(levels: tuple[int, int, int]) -> tuple[float, float, float]:
    if not any(levels):
        return STILL_VIEW
    a, b, c = levels
    return float(np.exp(a * VIEW_STEP)), b * VIEW_STEP, c * VIEW_STEP


@dataclass(frozen=True)
class DrivingState:
    """One decoded frame's motion: parameters on the reference's identity, and keypoints.

    `params.beta` is the reference's β (the sender never sends identity per frame);
    `keypoints` is K×3 in the crop's normalized cube, or None in params mode; `follow` is how
    much of the head's motion the background's inner and outer rings follow (0: pinned);
    `view` is how still scenery moved in the crop since the reference's (`view_between`).
    """

    seq: int
    time_ms: float
    ref_id: int
    params: FaceParams
    keypoints: np.ndarray | None
    follow: tuple[float, float] = DEFAULT_BACKGROUND
    view: tuple[float, float, float] = STILL_VIEW
