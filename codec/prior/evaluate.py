"""How well a prior explains a landmark track: reprojection error and fitting time."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from codec.prior.fitting import FaceFitter, FitConfig
from codec.prior.flame import FlameModel
from codec.prior.params import FaceParams, landmarks_in_crop


@dataclass(frozen=True)
class TrackFit:
    params: list[FaceParams]
    error_px: np.ndarray  # (F,) mean 2D distance over the fit points, crop pixels
    fit_ms: np.ndarray  # (F,) fitting time per frame, MediaPipe excluded


def reprojection_error(model: FlameModel, params: FaceParams, landmarks: np.ndarray) -> float:
    """Mean 2D distance (crop px) between the fitted mesh's points and the landmarks."""
    fitted = landmarks_in_crop(model, params, "fit")[:, :2]
    target = landmarks[model.fit_mediapipe_ids, :2]
    return float(np.linalg.norm(fitted - target, axis=1).mean())


def fit_track(
    model: FlameModel, landmarks: np.ndarray, n_expr: int, crop_size: int = 256
) -> TrackFit:
    """Fit frame 0 as the reference and the rest as tracked frames, timing each fit."""
    fitter = FaceFitter(model, FitConfig(n_expr=n_expr))
    params, times = [], []
    for i, lm in enumerate(landmarks):
        t = time.perf_counter()
        p = fitter.fit_reference(lm, crop_size) if i == 0 else fitter.fit(lm, crop_size)
        times.append((time.perf_counter() - t) * 1000)
        params.append(p)
    errors = np.array(
        [reprojection_error(model, p, lm) for p, lm in zip(params, landmarks, strict=True)]
    )
    return TrackFit(params, errors, np.array(times))
