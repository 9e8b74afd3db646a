"""The FLAME layer in numpy: (shape β, expression ψ, pose θ) -> mesh vertices and landmarks.

Numpy only, so the sender needs no torch. The same class holds the official FLAME model and
the project's built-in prior; both are loaded by `codec.prior.flame_io`.

Model space follows FLAME: x to the subject's left (image right), y up, z towards the camera.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from codec.prior.rotation import rodrigues, rodrigues_one

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
    _parts: dict = field(default_factory=dict, init=False, repr=False, compare=False)

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
        return self._pose(self._part("all"), beta, psi, pose)

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
        rotation, offset = np.empty((n, 3, 3)), np.empty((n, 3))
        for j, p in enumerate(self.parents.tolist()):  # parents come before their children
            if p < 0:
                rotation[j], offset[j] = rots[j], joints[j]
            else:
                rotation[j] = rotation[p] @ rots[j]
                offset[j] = rotation[p] @ (joints[j] - joints[p]) + offset[p]
        rel = np.zeros((n, 4, 4))
        rel[:, :3, :3] = rotation
        rel[:, :3, 3] = offset - np.einsum("jab,jb->ja", rotation, joints)
        rel[:, 3, 3] = 1.0
        return rel

    def posed_landmarks(self, beta=None, psi=None, pose: np.ndarray | None = None,
                        which: str = "ibug68") -> np.ndarray:
        """`landmarks(vertices(beta, psi, pose), which)`, posing only the vertices the
        landmarks sit on: the decoder's keypoints and the encoder's tests, every frame."""
        part = self._part(which)
        posed = self._pose(part, beta, psi, pose)
        return np.einsum("lc,lcd->ld", part.bary, posed[part.corners])

    def _pose(self, part: _Part, beta, psi, pose: np.ndarray | None) -> np.ndarray:
        """`skin(shaped(beta, psi), pose)` for the part's vertices, the joints from their
        linear regressor on β and ψ (so the other vertices are never shaped)."""
        pose = np.zeros((len(self.parents), 3)) if pose is None else np.asarray(pose, float)
        v = part.template.copy()
        joints = part.joints.copy()
        for coeffs, dirs, jdirs in ((beta, part.shapedirs, part.joint_shapedirs),
                                    (psi, part.exprdirs, part.joint_exprdirs)):  # fmt: skip
            if coeffs is not None and len(coeffs):
                c = np.asarray(coeffs, dtype=np.float64)
                v += (dirs[:, : len(c)] @ c).reshape(-1, 3)
                joints += (jdirs[:, : len(c)] @ c).reshape(-1, 3)
        rots = np.stack([rodrigues_one(aa) for aa in pose.reshape(-1, 3)])
        feat = (rots[1:] - np.eye(3)).reshape(-1)
        v += (part.posedirs @ feat).reshape(-1, 3)
        transforms = self._world_transforms(rots, joints)
        T = (part.weights @ transforms.reshape(len(transforms), 16)).reshape(-1, 4, 4)
        return np.einsum("vab,vb->va", T[:, :3, :3], v) + T[:, :3, 3]

    def _part(self, which: str) -> _Part:
        """The vertices to pose: 'all', or those under the 'ibug68' or 'fit' landmarks."""
        if which not in self._parts:
            if which == "all":
                corners, bary = np.zeros((0, 3), np.int64), np.zeros((0, 3))
                self._parts[which] = _Part.of(self, np.arange(len(self.v_template)), corners, bary)
            else:
                emb = self.landmarks68 if which == "ibug68" else self.fit_points
                used, corners = np.unique(self.faces[emb.faces_idx], return_inverse=True)
                self._parts[which] = _Part.of(self, used, corners.reshape(-1, 3), emb.bary)
        return self._parts[which]

    def landmarks(self, vertices: np.ndarray, which: str = "ibug68") -> np.ndarray:
        """Embedded points of a posed mesh: 'ibug68' or 'fit' (the MediaPipe-matched set)."""
        emb = self.landmarks68 if which == "ibug68" else self.fit_points
        tri = vertices[self.faces[emb.faces_idx]]
        return np.einsum("lc,lcd->ld", emb.bary, tri)


@dataclass(frozen=True)
class _Part:
    """What posing a few vertices takes: their rows of every basis, and the joints as linear
    functions of β and ψ (J T + J S β + J E ψ, since the joint regressor is linear)."""

    template: np.ndarray  # (n, 3)
    shapedirs: np.ndarray  # (n * 3, S)
    exprdirs: np.ndarray  # (n * 3, E)
    posedirs: np.ndarray  # (n * 3, P)
    weights: np.ndarray  # (n, J)
    joints: np.ndarray  # (J, 3) of the template
    joint_shapedirs: np.ndarray  # (J * 3, S)
    joint_exprdirs: np.ndarray  # (J * 3, E)
    corners: np.ndarray  # (L, 3) each landmark's triangle, as indices into the n vertices
    bary: np.ndarray  # (L, 3)

    @staticmethod
    def of(model: FlameModel, used: np.ndarray, corners: np.ndarray, bary: np.ndarray) -> _Part:
        rows = (3 * used[:, None] + np.arange(3)).reshape(-1)
        reg = model.J_regressor
        joint_dirs = lambda d: np.einsum("jv,vcs->jcs", reg, d).reshape(-1, d.shape[2])  # noqa: E731
        every = len(used) == len(model.v_template)  # then views, not copies, of the bases
        flat = lambda d: np.ascontiguousarray((d if every else d[used]).reshape(-1, d.shape[2]))  # noqa: E731
        return _Part(model.v_template[used], flat(model.shapedirs), flat(model.exprdirs),
                     model.posedirs if every else model.posedirs[rows], model.weights[used],
                     reg @ model.v_template, joint_dirs(model.shapedirs),
                     joint_dirs(model.exprdirs), corners, bary)
