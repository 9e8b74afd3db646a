"""Fitting the prior to MediaPipe landmarks, frame by frame.

The reference frame gives identity β, expression ψ, pose and camera; every later frame gives
ψ, pose and jaw with β frozen to the reference's (the paper's identity swap). Each frame
alternates three cheap steps, warm-started from the previous frame:

1. pose + camera: weighted similarity Procrustes of the current model points onto the
   landmarks (rigid points weigh more, so a smile does not tilt the head);
2. jaw: one damped Gauss-Newton step on the jaw's axis-angle (only points the jaw moves);
3. ψ (and β on the reference): ridge regression in closed form, the landmarks brought back
   into model space and the jaw undone, with the normal matrix factored once per prior.

Then the eyes: both eye joints' rotations from the iris points (`gaze.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codec.prior.flame import JAW, JOINTS, FlameModel
from codec.prior.gaze import GazeFitter
from codec.prior.params import FLIP, FaceParams
from codec.prior.procrustes import downweight_mobile, similarity
from codec.prior.rotation import matrix_to_axis_angle, rodrigues_one


@dataclass(frozen=True)
class FitConfig:
    n_expr: int = 50  # ψ dims fitted (at most the prior's)
    n_shape: int = 100  # β dims fitted on the reference (at most the prior's)
    iterations: int = 3  # alternations per tracked frame
    reference_iterations: int = 12  # alternations on the reference frame (from the mean face)
    expr_reg: float = 2.0  # ridge weight on ψ, in px² at the crop (coefficients are unit-variance)
    shape_reg: float = 4.0  # ridge weight on β
    jaw_reg: tuple[float, float, float] = (0.01, 1.0, 1.0)  # opening free, sideways stiff
    fit_jaw: bool = True
    fit_gaze: bool = True  # eye rotations from the iris points (priors with MediaPipe's irises)


class _Ridge:
    """ψ = (Bᵀ W B + λ/s² Λ)⁻¹ Bᵀ W r, with BᵀWB diagonalised once so any scale s is cheap."""

    def __init__(self, basis: np.ndarray, w3: np.ndarray, reg: np.ndarray):
        self.basis = basis  # (3M, K)
        self.bw = basis.T * w3  # (K, 3M)
        self.reg = reg  # (K,) relative ridge weights
        normal = self.bw @ basis
        ir = 1.0 / np.sqrt(reg)
        evals, evecs = np.linalg.eigh(normal * ir[:, None] * ir[None, :])
        self.evals, self.evecs, self.ir = evals, evecs, ir

    def solve(self, residual: np.ndarray, scale: float) -> np.ndarray:
        rhs = (self.bw @ residual) * self.ir
        coef = self.evecs @ ((self.evecs.T @ rhs) / (self.evals + 1.0 / scale**2))
        return coef * self.ir


class FaceFitter:
    """Fits a `FlameModel` to 478-point MediaPipe landmarks in crop pixels."""

    def __init__(self, model: FlameModel, config: FitConfig = FitConfig()):
        self.model, self.config = model, config
        self.n_expr = min(config.n_expr, model.n_expr)
        self.n_shape = min(config.n_shape, model.n_shape)
        L = model.fit_points.matrix(model.faces, len(model.v_template))
        self._ids = model.fit_mediapipe_ids
        self._mean = L @ model.v_template
        self._S = np.einsum("lv,vck->lck", L, model.shapedirs[:, :, : self.n_shape])
        self._E = np.einsum("lv,vck->lck", L, model.exprdirs[:, :, : self.n_expr])
        self._jaw_w = L @ model.weights[:, JAW]
        self._jaw_J = model.J_regressor[JAW]
        self._jaw_pts = np.flatnonzero(self._jaw_w > 1e-3)
        self._has_jaw = model.has_jaw  # a property that scans the skinning weights
        self.rigid_w = downweight_mobile((self._E**2).sum(axis=(1, 2)))
        m = len(self._mean)
        self.gaze = GazeFitter(model) if config.fit_gaze else None
        point_w = np.ones(m)
        if self.gaze is not None and self.gaze.available:
            # The eyes' rotations explain the iris points; ψ and the pose leave them alone.
            point_w[np.concatenate(self.gaze.irises)] = 0.0
            self.rigid_w = self.rigid_w * point_w
        w3 = np.repeat(point_w, 3)
        expr_reg = np.full(self.n_expr, config.expr_reg)
        self._expr_ridge = _Ridge(self._E.reshape(3 * m, -1), w3, expr_reg)
        both = np.concatenate([self._S, self._E], axis=2).reshape(3 * m, -1)
        reg = np.concatenate([np.full(self.n_shape, config.shape_reg), expr_reg])
        self._joint_ridge = _Ridge(both, w3, reg)
        self._base = self._mean
        self._beta = np.zeros(self.n_shape)
        self._jaw_joint_base = self._jaw_J @ model.v_template
        self.last: FaceParams | None = None

    # -- public -------------------------------------------------------------------------------
    def fit_reference(self, landmarks: np.ndarray, crop_size: int = 256) -> FaceParams:
        """Fit identity, expression, pose and camera on the reference frame; freeze β."""
        target = landmarks[self._ids]
        beta, psi, jaw = np.zeros(self.n_shape), np.zeros(self.n_expr), np.zeros(3)
        for _ in range(self.config.reference_iterations):
            shape = self._mean + self._S @ beta + self._E @ psi
            joint = self._jaw_J @ self.model.shaped(beta)
            s, R, t = self._pose(shape, jaw, joint, target)
            jaw = self._jaw_step(shape, jaw, joint, s, R, t, target)
            q = self._unjaw(self._to_model(target, s, R, t), jaw, joint)
            coef = self._joint_ridge.solve((q - self._mean).reshape(-1), s)
            beta, psi = coef[: self.n_shape], coef[self.n_shape :]
        self._beta = beta
        self._base = self._mean + self._S @ beta
        self._jaw_joint_base = self._jaw_J @ self.model.shaped(beta)
        if self.gaze is not None:
            self.gaze.reset()
        self.last = self._with_gaze(self._params(psi, jaw, s, R, t, crop_size), landmarks)
        return self.last

    def fit(self, landmarks: np.ndarray, crop_size: int = 256) -> FaceParams:
        """Fit a later frame with β frozen; warm-started from the previous frame."""
        if self.last is None:
            return self.fit_reference(landmarks, crop_size)
        target = landmarks[self._ids]
        psi, jaw = self.last.psi.copy(), self.last.jaw.copy()
        for _ in range(self.config.iterations):
            shape = self._base + self._E @ psi
            joint = self._jaw_joint_base
            s, R, t = self._pose(shape, jaw, joint, target)
            jaw = self._jaw_step(shape, jaw, joint, s, R, t, target)
            q = self._unjaw(self._to_model(target, s, R, t), jaw, joint)
            psi = self._expr_ridge.solve((q - self._base).reshape(-1), s)
        self.last = self._with_gaze(self._params(psi, jaw, s, R, t, crop_size), landmarks)
        return self.last

    def _with_gaze(self, params: FaceParams, landmarks: np.ndarray) -> FaceParams:
        return params if self.gaze is None else self.gaze.fit(params, landmarks)

    # -- steps --------------------------------------------------------------------------------
    def _pose(self, shape, jaw, J, target):
        return similarity(self._apply_jaw(shape, jaw, J), target, self.rigid_w)

    def _apply_jaw(self, shape, jaw, J):
        if not self._has_jaw:
            return shape
        rotated = (shape - J) @ rodrigues_one(jaw).T + J
        return shape + self._jaw_w[:, None] * (rotated - shape)

    def _jaw_step(self, shape, jaw, J, s, R, t, target):
        """One damped Gauss-Newton step; the Jacobian of w·R(δ)R(jaw)(p - J) at δ = 0."""
        if not (self.config.fit_jaw and self._has_jaw):
            return jaw
        idx = self._jaw_pts
        pts, w = shape[idx], self._jaw_w[idx][:, None]
        q = (pts - J) @ rodrigues_one(jaw).T
        r = ((pts + w * (q + J - pts)) @ (s * R).T + t - target[idx]).reshape(-1)
        # d/dδ of R(δ) q is -[q]x: column k is e_k × q, scaled by the skinning weight.
        cross = np.zeros((len(q), 3, 3))
        cross[:, 0, 1], cross[:, 0, 2] = -q[:, 2], q[:, 1]
        cross[:, 1, 0], cross[:, 1, 2] = q[:, 2], -q[:, 0]
        cross[:, 2, 0], cross[:, 2, 1] = -q[:, 1], q[:, 0]
        Jm = np.einsum("nka,ba->nbk", w[:, :, None] * cross, s * R).reshape(-1, 3)
        H = Jm.T @ Jm
        reg = np.asarray(self.config.jaw_reg) * np.trace(H) / 3.0
        return jaw - np.linalg.solve(H + np.diag(reg), Jm.T @ r + reg * jaw)

    def _to_model(self, target, s, R, t):
        return (target - t) @ R / s

    def _unjaw(self, q, jaw, J):
        if not self._has_jaw or not jaw.any():
            return q
        idx = self._jaw_pts
        w = self._jaw_w[idx][:, None, None]
        Rj = rodrigues_one(jaw)
        A = (1 - w) * np.eye(3) + w * Rj  # per point: p' = A p + w (J - Rj J)
        b = self._jaw_w[idx][:, None] * (J - Rj @ J)
        out = q.copy()
        out[idx] = np.linalg.solve(A, (q[idx] - b)[..., None])[..., 0]
        return out

    def _params(self, psi, jaw, s, R, t, crop_size) -> FaceParams:
        pose = np.zeros((len(JOINTS), 3))
        pose[0] = matrix_to_axis_angle(FLIP @ R)
        pose[JAW] = jaw
        return FaceParams(self._beta.copy(), psi.copy(), pose, float(s), t.copy(), crop_size)
