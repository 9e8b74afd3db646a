"""Rotated regions of interest: where the face mesh looks, and back from there to the image.

Follows MediaPipe's face-mesh graph so that the converted models see the pictures they were
trained on: a region is a rotated rectangle in normalized image coordinates, turned so that
the two reference points (the eyes) lie level, squared on its long side and widened 1.5×.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Rect:
    """A rotated rectangle; centre and size normalized by the image's width and height."""

    cx: float
    cy: float
    width: float
    height: float
    rotation: float  # radians, clockwise on screen (y down)


def _normalize(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


_ONE_CUT = threading.Lock()
REGION_SCALE = 1.5  # a region's side over the face box's


def rect_around(box: tuple[float, float, float, float], start: np.ndarray, end: np.ndarray,
                image_wh: tuple[int, int], scale: float = REGION_SCALE) -> Rect:
    """Square region around `box` (xmin, ymin, w, h), levelled on the `start`→`end` line."""
    w, h = image_wh
    xmin, ymin, bw, bh = box
    dx, dy = (end[0] - start[0]) * w, (end[1] - start[1]) * h
    rotation = _normalize(-math.atan2(-dy, dx))
    side = max(bw * w, bh * h)
    return Rect(xmin + bw / 2, ymin + bh / 2, side / w * scale, side / h * scale, rotation)


def rect_from_landmarks(points: np.ndarray, image_wh: tuple[int, int],
                        start: int = 33, end: int = 263) -> Rect:
    """The next frame's region from this frame's normalized landmarks (eye corners level)."""
    lo, hi = points[:, :2].min(0), points[:, :2].max(0)
    box = (float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))
    return rect_around(box, points[start], points[end], image_wh)


def cut(image: np.ndarray, rect: Rect, size: int, border: int) -> np.ndarray:
    """The region resampled to size×size (uint8), the way MediaPipe's CPU path does it.

    One cut at a time: OpenCV, left on several threads, split two warps called at once from
    two threads (the two landmark looks) differently from run to run, and the tracked look
    carried the difference on (found on 2026-12-03: the same clip gave three sets of
    landmarks in five runs)."""
    h, w = image.shape[:2]
    box = ((rect.cx * w, rect.cy * h), (rect.width * w, rect.height * h),
           math.degrees(rect.rotation))
    src = cv2.boxPoints(box).astype(np.float32)
    dst = np.array([[0, size], [0, 0], [size, 0], [size, size]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    with _ONE_CUT:
        return cv2.warpPerspective(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                                   borderMode=border)


def project(points: np.ndarray, rect: Rect) -> np.ndarray:
    """(N, 3) points normalized in the region -> normalized in the image (z scaled by width)."""
    c, s = math.cos(rect.rotation), math.sin(rect.rotation)
    x, y = points[:, 0] - 0.5, points[:, 1] - 0.5
    out = np.empty_like(points)
    out[:, 0] = (c * x - s * y) * rect.width + rect.cx
    out[:, 1] = (s * x + c * y) * rect.height + rect.cy
    out[:, 2] = points[:, 2] * rect.width
    return out
