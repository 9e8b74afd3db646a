"""The receiver's controls (the paper's section 3.3): expression edits and novel head pose.

Expression edits are directions in the prior's ψ space, solved from the prior itself: each
names how some iBUG-68 landmarks of the mean face should move (corners of the mouth up and
out for a smile) and which must stay put (the mouth, for a brow or blink edit, so the
sender's lip motion survives), and the edit is the ridge least-squares ψ that does that.
Pose edits turn the head by an offset, or to an absolute angle, within stated limits.
Gaze edits set where the eyes look: `camera` turns them toward the camera whatever the
head does (the control a call user wants most), or fixed yaw/pitch angles in the head.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from codec.driving import DrivingState
from codec.prior.flame import FlameModel
from codec.prior.gaze import EYES as GAZE_JOINTS
from codec.prior.keypoints import LOWER_LIDS, UPPER_LIDS, driving_keypoints
from codec.prior.rotation import euler_to_matrix, matrix_to_axis_angle, matrix_to_euler

EDITS = ("neutral", "smile", "open_mouth", "raise_brows", "blink")
POSE_LIMITS = {"yaw": 35.0, "pitch": 25.0, "roll": 25.0}  # degrees, for offsets and overrides
MOUTH = list(range(48, 68))
BROWS = list(range(17, 27))
EYES = list(range(36, 48))
GAZE_LIMITS = {"yaw": 30.0, "pitch": 20.0}  # degrees of eye rotation in the head


class ControlError(ValueError):
    """A malformed --edit or --pose value; the message shows the accepted form."""


def _targets(model: FlameModel, name: str) -> tuple[dict[int, np.ndarray], list[int]]:
    """Per-landmark displacements (metres, y up) at strength 1, and landmarks held still."""
    lm = model.landmarks(model.v_template, "ibug68")
    width = np.linalg.norm(lm[54] - lm[48])  # mouth width sets the scale, any prior's units
    up = np.array([0.0, 1.0, 0.0])
    if name == "smile":
        moves = {48: width * np.array([-0.12, 0.12, 0.0]), 54: width * np.array([0.12, 0.12, 0])}
        return moves, EYES + BROWS
    if name == "open_mouth":
        moves = {i: -0.3 * width * up for i in (57, 56, 58, 66, 65, 67)}
        moves[8] = -0.15 * width * up
        return moves | {i: np.zeros(3) for i in (51, 62, 50, 52)}, EYES + BROWS
    if name == "raise_brows":
        return {i: 0.2 * width * up for i in BROWS}, MOUTH + EYES
    if name == "blink":
        return {u: lm[d] - lm[u] for u, d in zip(UPPER_LIDS, LOWER_LIDS, strict=True)}, MOUTH
    raise ControlError(f"unknown edit {name!r}; edits are {', '.join(EDITS)}")


def edit_direction(
    model: FlameModel, name: str, dims: int | None = None, ridge: float = 0.02
) -> np.ndarray:
    """The ψ direction of a named edit at strength 1, using the first `dims` dims."""
    moves, still = _targets(model, name)
    emb = model.landmarks68
    tri = model.faces[emb.faces_idx]  # (68, 3)
    exprdirs = model.exprdirs[:, :, :dims]
    basis = np.einsum("lk,lkce->lce", emb.bary, exprdirs[tri])  # (68, 3, E)
    rows, rhs = [], []
    for i, d in moves.items():
        rows.append(basis[i])
        rhs.append(d)
    for i in still:
        if i not in moves:
            rows.append(3.0 * basis[i])  # held points weigh more
            rhs.append(np.zeros(3))
    A, b = np.concatenate(rows), np.concatenate(rhs)
    scale = np.trace(A.T @ A) / A.shape[1]
    return np.linalg.solve(A.T @ A + ridge * scale * np.eye(A.shape[1]), A.T @ b)


@dataclass(frozen=True)
class Controls:
    """Edits applied to every decoded state before rendering."""

    edits: tuple[tuple[str, float], ...] = ()  # (name, strength in 0..1.5)
    pose_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)  # yaw, pitch, roll degrees
    pose_absolute: tuple[float | None, float | None, float | None] = (None, None, None)
    gaze: str | tuple[float, float] | None = None  # "camera", or (yaw, pitch) degrees

    @property
    def active(self) -> bool:
        return bool(self.edits) or any(self.pose_offset) or any(
            v is not None for v in self.pose_absolute
        ) or self.gaze is not None


class ControlApplier:
    """Precomputes the edit directions once per prior; call it on each `DrivingState`."""

    def __init__(self, model: FlameModel, controls: Controls):
        self.model, self.controls = model, controls
        self._directions: dict[tuple[str, int], np.ndarray] = {}

    def direction(self, name: str, dims: int) -> np.ndarray:
        """Solved for the dims the stream carries, so held points stay held after truncation."""
        key = (name, dims)
        if key not in self._directions:
            self._directions[key] = edit_direction(self.model, name, dims)
        return self._directions[key]

    def __call__(self, state: DrivingState) -> DrivingState:
        p = state.params
        psi = p.psi.copy()
        for name, strength in self.controls.edits:
            if name == "neutral":
                psi *= 1.0 - min(strength, 1.0)
            else:
                n = min(len(psi), self.model.n_expr)
                psi[:n] += strength * self.direction(name, n)
        pose = p.pose.copy()
        pose[0] = matrix_to_axis_angle(self._turn(p.rotation))
        if self.controls.gaze is not None:
            pose[list(GAZE_JOINTS)] = self._gaze(pose[0])
        params = replace(p, psi=psi, pose=pose)
        keypoints = state.keypoints
        if keypoints is not None:  # move the sent keypoints by what the edits move
            k = len(keypoints)  # on the frame's own β: only the edit's motion is added
            keypoints = keypoints + (
                driving_keypoints(self.model, p, params, k) - driving_keypoints(self.model, p, p, k)
            )
        return replace(state, params=params, keypoints=keypoints)

    def _gaze(self, head: np.ndarray) -> np.ndarray:
        """Both eyes' axis-angle: toward the camera (undoing the head's turn), or fixed."""
        g = self.controls.gaze
        if isinstance(g, tuple):
            yaw, pitch = np.radians(g[0]), np.radians(g[1])
        else:  # "camera"
            pitch, yaw = -head[0], -head[1]
        yaw = np.clip(yaw, *np.radians([-GAZE_LIMITS["yaw"], GAZE_LIMITS["yaw"]]))
        pitch = np.clip(pitch, *np.radians([-GAZE_LIMITS["pitch"], GAZE_LIMITS["pitch"]]))
        return np.array([[pitch, yaw, 0.0], [pitch, yaw, 0.0]])

    def _turn(self, R: np.ndarray) -> np.ndarray:
        c = self.controls
        euler = matrix_to_euler(R)
        for i, name in enumerate(("yaw", "pitch", "roll")):
            limit = POSE_LIMITS[name]
            fixed = c.pose_absolute[i]
            if fixed is not None:
                euler[i] = float(np.clip(fixed, -limit, limit))
            else:
                euler[i] = float(np.clip(euler[i] + c.pose_offset[i], -limit, limit))
        return euler_to_matrix(*euler)


def parse_gaze(items: list[str]) -> str | tuple[float, float] | None:
    """`--gaze camera`, or `--gaze yaw=10 --gaze pitch=-5` (degrees, eyes in the head)."""
    if not items:
        return None
    if items == ["camera"]:
        return "camera"
    yaw, pitch = _angles(items, 0.0, GAZE_LIMITS, "gaze ")
    return (yaw, pitch)


def parse_controls(edits: list[str], offsets: list[str], absolute: list[str],
                   gaze: list[str] | None = None) -> Controls:
    """Parse `--edit smile=0.7`, `--pose-offset yaw=15`, `--pose yaw=0` and `--gaze` values."""
    parsed = []
    for item in edits:
        name, strength = _pair(item, "--edit NAME=STRENGTH, e.g. smile=0.7")
        if name not in EDITS:
            raise ControlError(f"unknown edit {name!r}; edits are {', '.join(EDITS)}")
        if not 0.0 <= strength <= 1.5:
            raise ControlError(f"edit strength must be 0..1.5, got {strength}")
        parsed.append((name, strength))
    return Controls(tuple(parsed), tuple(_angles(offsets, 0.0)), tuple(_angles(absolute, None)),
                    parse_gaze(gaze or []))


def _angles(items: list[str], default, limits: dict = POSE_LIMITS, what: str = ""):
    out = {name: default for name in limits}
    for item in items:
        name, value = _pair(item, f"{'|'.join(limits)}=DEGREES, e.g. yaw=15")
        if name not in out:
            raise ControlError(f"unknown {what}angle {name!r}; use {', '.join(limits)}")
        limit = limits[name]
        if not -limit <= value <= limit:
            raise ControlError(f"{what}{name} must be within ±{limit:g}°, got {value:g}")
        out[name] = value
    return [out[name] for name in limits]


def _pair(item: str, form: str) -> tuple[str, float]:
    name, sep, value = item.partition("=")
    try:
        if not sep:
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise ControlError(f"cannot read {item!r}; expected {form}") from None
