"""The scenery's own motion in the crop, measured from its pixels.

The crop box tells how the sender moved its crop in the camera frame (`view_between`), which
is all the scenery's motion when the camera holds still. When the camera itself moves (a
hand-held phone, a shot that pans, a clip that was cut around the face before it reached the
sender) the scenery moves as well, and the box knows nothing of it. Here it is measured:
the reference's picture and this frame, both at the background search's analysis size, are
aligned outside both faces by OpenCV's ECC (enhanced correlation coefficient, robust to a
change of brightness and contrast), an affine warp started from the last frame's answer.
Its scale and where it takes the crop's centre are the view; its rotation and shear are
dropped, as the view has none.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from codec.driving import STILL_VIEW, view_matrix

View = tuple[float, float, float]


@dataclass(frozen=True)
class SceneryConfig:
    size: int = 64  # px the pictures are aligned at
    iterations: int = 20  # ECC steps at most, from the box's view
    warm_iterations: int = 8  # and from the last frame's answer
    eps: float = 1e-4  # ECC stops when the correlation gains less than this
    face_margin: float = 0.1  # the faces' hulls grown by this share of the face's size
    min_share: float = 0.15  # the least share of the picture that must lie outside the faces
    max_zoom: float = 2.0  # a measured zoom beyond this (or under its inverse) is refused
    max_shift: float = 0.5  # as is a shift of more than this share of the crop


class SceneryMotion:
    """`set_reference` with the reference's picture (a square crop, any size) and its face's
    outline (points in its pixels), then call with each frame's: the view (k, tx, ty) the
    scenery shows, or None where it cannot be measured (too little of it, no texture, no
    convergence)."""

    def __init__(self, config: SceneryConfig = SceneryConfig()):
        self.config = config
        self._reference: tuple[np.ndarray, np.ndarray] | None = None
        self._last: np.ndarray | None = None

    def set_reference(self, picture: np.ndarray, outline: np.ndarray) -> None:
        self._reference = self._shrunk(picture, outline)
        self._last = None

    def __call__(self, picture: np.ndarray, outline: np.ndarray, start: View) -> View | None:
        """`start`: where to begin when the last frame gave nothing (the box's view)."""
        if self._reference is None:
            return None
        reference, ref_outline = self._reference
        size = self.config.size
        gray, outline = self._shrunk(picture, outline)
        mask = self._outside(size, ref_outline, outline)
        if mask is None:
            self._last = None
            return None
        c = self.config
        last = self._last
        warp = view_matrix(start, size) if last is None else last.copy()
        steps = c.iterations if last is None else c.warm_iterations
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, steps, c.eps)
        try:
            _, warp = cv2.findTransformECC(reference, gray, warp.astype(np.float32),
                                           cv2.MOTION_AFFINE, criteria, mask, 3)  # fmt: skip
        except cv2.error:  # no convergence: nothing that moves as one
            self._last = None
            return None
        view = _view_of(warp, size)
        k, tx, ty = view
        if not (1 / c.max_zoom <= k <= c.max_zoom and max(abs(tx), abs(ty)) <= c.max_shift):
            self._last = None
            return None
        self._last = warp
        return view

    def _shrunk(self, picture: np.ndarray, outline: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The picture in gray at the alignment size, and the outline there."""
        size = self.config.size
        small = cv2.resize(picture, (size, size), interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
        scale = size / picture.shape[0]
        return gray, (np.asarray(outline, np.float64)[:, :2] * scale).astype(np.float32)

    def _outside(self, size: int, *outlines: np.ndarray) -> np.ndarray | None:
        """A mask of the pixels clear of both faces, or None when too few are."""
        mask = np.full((size, size), 255, np.uint8)
        for outline in outlines:
            hull = cv2.convexHull(outline)[:, 0]
            cv2.fillConvexPoly(mask, np.rint(hull).astype(np.int32), 0)
        face = float(max(np.ptp(outlines[-1], axis=0)))
        r = max(1, int(self.config.face_margin * face))
        kept = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))
        return kept if np.count_nonzero(kept) >= self.config.min_share * size * size else None


def _view_of(warp: np.ndarray, size: int) -> View:
    k = float(np.sqrt(abs(np.linalg.det(warp[:, :2]))))
    centre = warp @ np.array([size / 2, size / 2, 1.0])
    tx, ty = (centre - size / 2) / size
    return (k, float(tx), float(ty)) if k > 0 else STILL_VIEW

