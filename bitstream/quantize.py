"""Uniform scalar quantizers, one step per field; the steps travel in `Hello`.

Every motion field is coded relative to something the receiver already holds (the
reference's pose, or the keypoints its decoded params predict), so the integers are small.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from bitstream.errors import BitstreamError


@dataclass(frozen=True)
class Steps:
    """Quantizer steps. The keypoint step keeps the keypoint error at 256² under 0.25 px."""

    rotation: float = 0.005  # rad, head rotation relative to the reference's
    scale: float = 0.003  # natural log of the camera scale relative to the reference's
    translation: float = 0.15  # crop px, x and y
    depth: float = 4.0  # crop px, z (only shifts keypoint depth)
    jaw: float = 0.004  # rad
    keypoint: float = 1.0 / 256  # normalized cube units: 0.5 px at 256², max error 0.25 px
    expression: tuple[float, ...] = field(default=())  # one step per sent ψ dim, coefficient units
    gaze: float = 0.02  # rad of eye rotation (~0.2 px of iris motion at 256²); version 2 on

    def check(self) -> None:
        values = [self.rotation, self.scale, self.translation, self.depth, self.jaw, self.keypoint,
                  self.gaze]
        values += list(self.expression)
        if not all(np.isfinite(v) and 1e-6 <= v <= 1e3 for v in values):
            raise BitstreamError("Hello: quantizer step out of range [1e-6, 1e3]")


def quantize(values, step: float | np.ndarray) -> np.ndarray:
    """Round to the nearest step (halves away from zero, the same on every platform)."""
    x = np.asarray(values, dtype=np.float64) / step
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)


def dequantize(q: ArrayLike, step: float | np.ndarray) -> np.ndarray:
    return np.asarray(q, dtype=np.float64) * step


def expression_steps(column_norms: np.ndarray, n: int, base: float) -> tuple[float, ...]:
    """Per-dim ψ steps that give every dim the same displacement error on the mesh.

    A dim whose basis column moves the mesh half as much gets twice the step: this is
    reverse water-filling for independent Gaussian sources, and it spends the bits where
    the pixels move. `base` is the step of the strongest dim, in its coefficient units.
    """
    norms = np.asarray(column_norms[:n], dtype=np.float64)
    ratio = norms.max() / np.maximum(norms, 1e-12) if n else norms
    return tuple(float(base * r) for r in np.minimum(ratio, 64.0))
