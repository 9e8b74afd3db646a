"""A stable square crop around the head for a video stream.

FOMM-style: a square around the landmarks' bounding box, grown by a margin, so the codec
always sees the whole head at a fixed size. The box holds still while the face stays well
inside it and is re-centred (smoothly) only when the face drifts or changes size, so a
static head gives a static crop and the keypoints do not jitter with the crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FACE_DROP = 0.06  # the landmarks' centre lies this fraction of the side below the crop's


@dataclass(frozen=True)
class CropConfig:
    size: int = 256  # output side in pixels
    margin: float = 1.9  # crop side / face bounding-box side
    recenter_shift: float = 0.08  # re-centre when the face centre moves this fraction of the side
    recenter_scale: float = 0.12  # ... or the face size changes by this fraction
    smoothing: float = 0.5  # 0 = jump to the new box, towards 1 = move slowly


@dataclass(frozen=True)
class CropBox:
    """Square box in frame pixels: centre and side."""

    cx: float
    cy: float
    side: float

    def affine(self, size: int) -> np.ndarray:
        """2×3 matrix mapping frame pixels into the size×size crop."""
        s = size / self.side
        return np.array([[s, 0, size / 2 - s * self.cx], [0, s, size / 2 - s * self.cy]])

    def to_crop(self, points: np.ndarray, size: int) -> np.ndarray:
        """Frame-pixel landmarks (N, 2 or 3) -> crop pixels; z is scaled like x."""
        s = size / self.side
        out = np.array(points, dtype=np.float64, copy=True)
        out[:, 0] = (out[:, 0] - self.cx) * s + size / 2
        out[:, 1] = (out[:, 1] - self.cy) * s + size / 2
        if out.shape[1] > 2:
            out[:, 2] *= s
        return out

    def to_frame(self, points: np.ndarray, size: int) -> np.ndarray:
        """Inverse of `to_crop`."""
        s = self.side / size
        out = np.array(points, dtype=np.float64, copy=True)
        out[:, 0] = (out[:, 0] - size / 2) * s + self.cx
        out[:, 1] = (out[:, 1] - size / 2) * s + self.cy
        if out.shape[1] > 2:
            out[:, 2] *= s
        return out

    def cut(self, frame: np.ndarray, size: int) -> np.ndarray:
        """The crop as an RGB size×size image (outside the frame: edge pixels repeated)."""
        return cv2.warpAffine(
            frame, self.affine(size), (size, size), flags=cv2.INTER_AREA,
            borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip


def grown_crop(frame: np.ndarray, box: CropBox, size: int, margin: int) -> np.ndarray:
    """The box's size×size crop grown by `margin` pixels of the frame on every side, at the
    crop's scale: crop pixel (x, y) is pixel (x + margin, y + margin) of the result."""
    grown = CropBox(box.cx, box.cy, box.side * (size + 2 * margin) / size)
    return grown.cut(frame, size + 2 * margin)


def face_box(landmarks: np.ndarray, margin: float) -> CropBox:
    """The square crop that a set of frame-pixel landmarks asks for."""
    lo, hi = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
    side = float(max(hi - lo)) * margin
    cx, cy = (lo + hi) / 2
    # Landmarks stop at the brows; shift up so the crop holds forehead and hair, as FOMM's does.
    cy -= FACE_DROP * side
    return CropBox(float(cx), float(cy), side)


class CropTracker:
    """Keeps one square crop per stream and moves it only when the face leaves it."""

    def __init__(self, config: CropConfig = CropConfig()):
        self.config = config
        self.box: CropBox | None = None
        self._target: CropBox | None = None

    def update(self, frame_landmarks: np.ndarray | None) -> CropBox | None:
        """Feed the frame's landmarks (None when no face); returns the crop to use."""
        if frame_landmarks is None:
            return self.box
        want = face_box(frame_landmarks, self.config.margin)
        if self.box is None:
            self.box = self._target = want
            return self.box
        if self._drifted(want):
            self._target = want
        self.box = self._approach(self.box, self._target or want)
        return self.box

    def _drifted(self, want: CropBox) -> bool:
        ref = self._target
        if ref is None:
            return True
        shift = np.hypot(want.cx - ref.cx, want.cy - ref.cy) / ref.side
        scale = abs(want.side / ref.side - 1.0)
        return shift > self.config.recenter_shift or scale > self.config.recenter_scale

    def _approach(self, box: CropBox, target: CropBox) -> CropBox:
        a = self.config.smoothing
        new = CropBox(
            a * box.cx + (1 - a) * target.cx,
            a * box.cy + (1 - a) * target.cy,
            a * box.side + (1 - a) * target.side,
        )
        if abs(new.cx - target.cx) + abs(new.cy - target.cy) + abs(new.side - target.side) < 0.5:
            return target
        return new
