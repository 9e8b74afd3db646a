"""The FLAME layer in numpy: (shape β, expression ψ, pose θ) -> mesh vertices and landmarks.

Numpy only, so the sender needs no torch. The same class holds the official FLAME model and
the project's built-in prior; both are loaded by `codec.prior.flame_io`.

Model space follows FLAME: x to the subject's left (image right), y up, z towards the camera.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from codec.prior.rotation import rodrigues

JOINTS = ("global", "neck", "jaw", "left_eye", "right_eye")
JAW = JOINTS.index("jaw")


@dataclass(frozen=True)
class Embedding:
    """Points on the mesh surface as barycentric combinations of triangle corners."""

    faces_idx: np.ndarray  # (L,) triangle index
    bary: np.ndarray  # (L, 3) barycentric weights

    def matrix(self, faces: np.ndarray, n_vertices: int) -> np.ndarray:
        """Dense (L, V) matrix that maps vertices to the embedded points."""
        out = np.zeros((len(self.faces_idx), n_vertices))
        tri = faces[self.faces_idx]
        for c in range(3):
            np.add.at(out, (np.arange(len(tri)), tri[:, c]), self.bary[:, c])
        return out


@dataclass(frozen=True)
class FlameModel:
    """A FLAME-format linear blend skinning model with landmark embeddings."""

    name: str
    v_template: np.ndarray  # (V, 3)
    shapedirs: np.ndarray  # (V, 3, S), unit-variance coefficients
    exprdirs: np.ndarray  # (V, 3, E), ordered by explained variance
    posedirs: np.ndarray  # (V * 3, 9 * (J - 1)) pose correctives
    J_regressor: np.ndarray  # (J, V)
    parents: np.ndarray  # (J,), parents[0] == -1
    weights: np.ndarray  # (V, J) skinning weights
    faces: np.ndarray  # (F, 3)
    landmarks68: Embedding  # iBUG 68-point embedding
    fit_points: Embedding  # points matched to MediaPipe landmarks when fitting
    fit_mediapipe_ids: np.ndarray  # (M,) MediaPipe index of each fit point
    expr_std: np.ndarray | None = None  # (E,) std of ψ over real faces
    meta: dict = field(default_factory=dict)

    @property
    def n_shape(self) -> int:
        return self.shapedirs.shape[2]

    @property
    def n_expr(self) -> int:
        return self.exprdirs.shape[2]

    @property
    def has_jaw(self) -> bool:
        return bool(self.weights[:, JAW].any())

    @property
    def prior_id(self) -> str:
        """Short hash of the geometry, so both ends can check they hold the same prior."""
        h = hashlib.sha256()
        for a in (self.v_template, self.shapedirs, self.exprdirs, self.weights):
            h.update(np.ascontiguousarray(a, dtype=np.float32).tobytes())
        return h.hexdigest()[:16]

    def shaped(self, beta: np.ndarray | None = None, psi: np.ndarray | None = None,
               vertices: np.ndarray | None = None) -> np.ndarray:
        """Unposed vertices T + Sβ + Eψ (truncated coefficient vectors are zero-padded); only
        the `vertices` given (indices), where a caller needs a few of them."""
        at = slice(None) if vertices is None else vertices
        v = self.v_template[at].copy()
        if beta is not None and len(beta):
            v += self.shapedirs[at, :, : len(beta)] @ np.asarray(beta, dtype=np.float64)
        if psi is not None and len(psi):
            v += self.exprdirs[at, :, : len(psi)] @ np.asarray(psi, dtype=np.float64)
        return v

    def vertices(self, beta=None, psi=None, pose: np.ndarray | None = None) -> np.ndarray:
        """Posed vertices in model space. `pose` is (J, 3) axis-angle per joint in JOINTS order."""
        v_shaped = self.shaped(beta, psi)
        pose = np.zeros((len(self.parents), 3)) if pose is None else np.asarray(pose, float)
        return self.skin(v_shaped, pose)

    def skin(self, v_shaped: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """Linear blend skinning with pose correctives, as FLAME defines it."""
        rots = rodrigues(pose.reshape(-1, 3))
        joints = self.J_regressor @ v_shaped
        feat = (rots[1:] - np.eye(3)).reshape(-1)
        v_posed = v_shaped + (self.posedirs @ feat).reshape(-1, 3)
        transforms = self._world_transforms(rots, joints)
        T = np.einsum("vj,jab->vab", self.weights, transforms)
        return np.einsum("vab,vb->va", T[:, :3, :3], v_posed) + T[:, :3, 3]

    def _world_transforms(self, rots: np.ndarray, joints: np.ndarray) -> np.ndarray:
        """Per-joint 4x4 transforms relative to the rest pose."""
        n = len(self.parents)
        world = np.zeros((n, 4, 4))
        for j in range(n):
            local = np.eye(4)
            local[:3, :3] = rots[j]
            p = self.parents[j]
            local[:3, 3] = joints[j] - (joints[p] if p >= 0 else 0.0)
            world[j] = local if p < 0 else world[p] @ local
        rel = world.copy()
        rel[:, :3, 3] -= np.einsum("jab,jb->ja", world[:, :3, :3], joints)
        return rel

    def landmarks(self, vertices: np.ndarray, which: str = "ibug68") -> np.ndarray:
        """Embedded points of a posed mesh: 'ibug68' or 'fit' (the MediaPipe-matched set)."""
        emb = self.landmarks68 if which == "ibug68" else self.fit_points
        tri = vertices[self.faces[emb.faces_idx]]
        return np.einsum("lc,lcd->ld", emb.bary, tri)
