"""Eye gaze: the two eye joints' rotations fitted to MediaPipe's iris points.

Each eye turns about its joint (FLAME's eyeball centre) by a pitch and a yaw; the five iris
points (centre and ring) of each eye are projected with the frame's fitted head pose and
compared with the detected ones in the image plane (MediaPipe's iris depth is unreliable).
Four unknowns, a few Gauss-Newton steps warm-started from the last frame. A joint prior
keeps the eyes together (vergence is penalized, not forbidden) and small, and hard limits
keep them inside what eyes do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from codec.prior.flame import JOINTS, FlameModel
from codec.prior.params import FLIP, FaceParams
from codec.prior.rotation import rodrigues

EYES = (JOINTS.index("left_eye"), JOINTS.index("right_eye"))
_STEP = 1e-4  # radians, the finite-difference step


def iris_vertices(model: FlameModel) -> list[np.ndarray]:
    """Per eye joint (left, right), the vertices it carries: the iris points."""
    return [np.flatnonzero(model.weights[:, j] > 0.5) for j in EYES]


@dataclass(frozen=True)
class GazeConfig:
    iterations: int = 3
    vergence_weight: float = 200.0  # px² per rad² of yaw or pitch difference between the eyes
    size_weight: float = 2.0  # px² per rad² of rotation (keeps unseen eyes near straight ahead)
    max_yaw: float = np.radians(35.0)
    max_pitch: float = np.radians(25.0)


class GazeFitter:
    """Eye rotations for a fitted frame; None-safe for priors without iris points."""

    def __init__(self, model: FlameModel, config: GazeConfig = GazeConfig()):
        self.model, self.config = model, config
        self.irises = iris_vertices(model)
        ids = np.asarray(model.fit_mediapipe_ids)
        self.available = (len(ids) == len(model.v_template) and len(ids) >= 478
                          and all(len(i) >= 3 for i in self.irises))
        self.last = np.zeros(4)  # left pitch, left yaw, right pitch, right yaw
        regressor = model.J_regressor[list(EYES)]
        joint_vertices = np.flatnonzero(np.abs(regressor).sum(0))
        self._used = np.union1d(joint_vertices, np.concatenate(self.irises))
        self._regressor = regressor[:, self._used]
        self._iris_at = [np.searchsorted(self._used, i) for i in self.irises]

    def reset(self) -> None:
        self.last = np.zeros(4)

    def fit(self, params: FaceParams, landmarks: np.ndarray) -> FaceParams:
        """`params` with both eye joints set from the landmarks' iris points."""
        if not self.available:
            return params
        centres, points = self._eyes(params)
        target = np.concatenate([landmarks[i, :2] for i in self.irises]).reshape(-1)
        view = params.scale * (FLIP @ params.rotation)  # model -> crop, as params.to_crop
        x = self.last.copy()
        c = self.config
        prior = np.diag([c.size_weight] * 4)
        verge = np.array([[1.0, 0, -1, 0], [0, 1, 0, -1]])
        prior += c.vergence_weight * verge.T @ verge
        nudges = np.vstack([np.zeros(4), np.eye(4) * _STEP])
        for _ in range(c.iterations):
            # x and its four nudged copies projected at once (finite-difference Jacobian)
            proj = self._project(view, params.trans, centres, points, x + nudges)
            r = proj[0] - target
            J = (proj[1:] - proj[0]).T / _STEP
            H = J.T @ J + prior
            x = x - np.linalg.solve(H, J.T @ r + prior @ x)
            x = np.clip(x, *self._limits())
        self.last = x
        pose = params.pose.copy()
        pose[EYES[0]] = [x[0], x[1], 0.0]
        pose[EYES[1]] = [x[2], x[3], 0.0]
        return replace(params, pose=pose)

    def _eyes(self, params: FaceParams) -> tuple[np.ndarray, list[np.ndarray]]:
        """Both eye joints' centres and their iris points about them, unposed: only the
        vertices they need are shaped (the whole mesh cost more than the fit)."""
        v = self.model.shaped(params.beta, params.psi, self._used)
        centres = self._regressor @ v
        return centres, [v[i] - c for i, c in zip(self._iris_at, centres, strict=True)]

    def _limits(self) -> tuple[np.ndarray, np.ndarray]:
        hi = np.array([self.config.max_pitch, self.config.max_yaw] * 2)
        return -hi, hi

    @staticmethod
    def _project(view, trans, centres, points, angles: np.ndarray) -> np.ndarray:
        """Image-plane iris points (both eyes, flattened) for each row of eye angles (A, 4).
        Both eyes' rotations come from one `rodrigues` call: half the per-call overhead, which
        outweighs the arithmetic at five angles per eye."""
        aa = np.zeros((2, len(angles), 3))
        aa[:, :, :2] = angles.reshape(-1, 2, 2).transpose(1, 0, 2)
        turns = rodrigues(aa)
        out = []
        for c, p, turn in zip(centres, points, turns, strict=True):
            turned = np.einsum("aij,nj->ani", turn, p) + c
            out.append((turned @ view.T + trans)[..., :2].reshape(len(angles), -1))
        return np.concatenate(out, axis=1)
