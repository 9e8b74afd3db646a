"""Fitted face parameters and the camera that maps the model into the crop."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from codec.prior.flame import JAW, FlameModel
from codec.prior.rotation import matrix_to_euler, rodrigues_one

# Model space is y up, z to the camera; crop pixels are y down, z away from the camera.
FLIP = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class FaceParams:
    """One frame's FLAME parameters plus a scaled-orthographic camera in crop pixels.

    crop point = scale * FLIP @ R(pose[global]) @ model point + trans
    """

    beta: np.ndarray  # (S,)
    psi: np.ndarray  # (N,), N may be less than the prior's (truncated code)
    pose: np.ndarray  # (5, 3) axis-angle: global, neck, jaw, left eye, right eye
    scale: float
    trans: np.ndarray  # (3,) crop pixels
    crop_size: int = 256

    @property
    def rotation(self) -> np.ndarray:
        return rodrigues_one(self.pose[0])

    @property
    def jaw(self) -> np.ndarray:
        return self.pose[JAW]

    @property
    def euler(self) -> np.ndarray:
        """(yaw, pitch, roll) of the head in degrees."""
        return matrix_to_euler(self.rotation)

    def with_identity(self, beta: np.ndarray) -> FaceParams:
        return replace(self, beta=np.asarray(beta))

    def at_size(self, size: int) -> FaceParams:
        """The same face in a crop of another size (the camera scales with it)."""
        if self.crop_size == size:
            return self
        k = size / self.crop_size
        return replace(self, scale=self.scale * k, trans=self.trans * k, crop_size=size)

    def to_crop(self, model_points: np.ndarray) -> np.ndarray:
        """Model-space points (unposed by the global rotation) -> crop pixels (x, y, z)."""
        return self.scale * model_points @ (FLIP @ self.rotation).T + self.trans


def mesh_in_crop(model: FlameModel, params: FaceParams) -> np.ndarray:
    """All vertices of the posed mesh in crop pixels (global rotation applied by the camera)."""
    pose = params.pose.copy()
    pose[0] = 0.0
    return params.to_crop(model.vertices(params.beta, params.psi, pose))


def landmarks_in_crop(model: FlameModel, params: FaceParams, which: str = "ibug68") -> np.ndarray:
    """Embedded landmarks ('ibug68' or 'fit') of the posed mesh, in crop pixels."""
    pose = params.pose.copy()
    pose[0] = 0.0
    return params.to_crop(model.posed_landmarks(params.beta, params.psi, pose, which))
