"""Weighted similarity alignment (Umeyama): the closed-form pose step of fitting."""

from __future__ import annotations

import numpy as np


def similarity(
    src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale s, rotation R, translation t minimising Σ w ||s R src + t - dst||² (N×3 points)."""
    w = np.ones(len(src)) if weights is None else weights
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    a, b = src - mu_s, dst - mu_d
    cov = (b * w[:, None]).T @ a
    U, D, Vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(U) * np.linalg.det(Vt)) or 1.0
    S = np.array([1.0, 1.0, d])
    R = (U * S) @ Vt
    var = w @ (a * a).sum(1)
    s = float((D * S).sum() / var)
    return s, R, mu_d - s * R @ mu_s


def downweight_mobile(motion: np.ndarray) -> np.ndarray:
    """Per-point alignment weights: points that move a lot (mouth, jaw) weigh little."""
    return 1.0 / (1.0 + 4.0 * motion / max(np.median(motion), 1e-12))
