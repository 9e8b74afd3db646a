"""Building the built-in prior: a FLAME-format model on MediaPipe's 478-point topology.

From real face videos: landmarks on a stable crop -> generalized Procrustes alignment ->
a canonical frontal frame in metres -> jaw opening taken out by a rotation about a hinge
joint -> identity basis from per-person means (PCA) and expression basis from per-frame
residuals (PCA, ordered by explained variance). Coefficients are unit-variance, as in FLAME.
Deterministic: frames are sampled at fixed strides and the hold-out split is seeded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codec.prior.build import topology as topo
from codec.prior.flame import JOINTS, Embedding, FlameModel
from codec.prior.landmarks import N_LANDMARKS
from codec.prior.params import FLIP
from codec.prior.procrustes import downweight_mobile, similarity
from codec.prior.rotation import rodrigues
from codec.video import Clip


@dataclass(frozen=True)
class BuildConfig:
    frames_per_clip: int = 150  # sampled evenly over each clip
    n_expr: int = 64  # expression dims kept (≥ 50)
    n_shape: int = 60  # identity dims kept (at most people - 1)
    holdout_fraction: float = 0.2  # people kept out of the build, for honest evaluation
    seed: int = 0
    crop_size: int = 256
    eye_distance: float = 0.095  # outer eye corners apart, metres (sets FLAME-like units)


def split_people(clips: list[Clip], config: BuildConfig) -> tuple[list[Clip], list[Clip]]:
    """Seeded split by person, so no held-out face was seen by the build."""
    people = sorted({c.person for c in clips})
    rng = np.random.default_rng(config.seed)
    n_out = round(len(people) * config.holdout_fraction)
    held = set(rng.permutation(people)[:n_out].tolist())
    return [c for c in clips if c.person not in held], [c for c in clips if c.person in held]


def clip_landmarks(clip: Clip, config: BuildConfig, cache: Path | None = None) -> np.ndarray:
    """(F, 478, 3) landmarks in crop pixels for evenly spaced frames where a face was found."""
    from codec.prior.crop import CropConfig
    from codec.prior.face_track import FaceTrack
    from codec.video import read_frames, video_frame_count

    key = f"{clip.name}-{config.frames_per_clip}-{config.crop_size}"
    cached = cache / f"{key}.npy" if cache else None
    if cached is not None and cached.is_file():
        return np.load(cached, allow_pickle=False)
    total = video_frame_count(clip.path)
    stride = max(1, total // config.frames_per_clip) if total else 1
    # Prior v1 was built from the tracked look alone; a second look would change its bytes.
    track = FaceTrack(CropConfig(size=config.crop_size), second_look=False)
    out = []
    for frame in read_frames(clip.path, max_frames=config.frames_per_clip, stride=stride):
        face = track(frame)
        if face is not None and face.landmarks is not None:
            out.append(face.landmarks)
    track.close()
    arr = np.array(out, dtype=np.float64).reshape(-1, N_LANDMARKS, 3)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.save(cached, arr)
    return arr


# ---- geometry ------------------------------------------------------------------------------
def align_all(shapes: np.ndarray, rounds: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Generalized Procrustes: align every shape to the evolving mean, rigid points weighted."""
    mean = shapes[0]
    weights = np.ones(shapes.shape[1])
    aligned = shapes
    for _ in range(rounds):
        aligned = np.empty_like(shapes)
        for i, s in enumerate(shapes):
            sc, R, t = similarity(s, mean, weights)
            aligned[i] = sc * s @ R.T + t
        mean = aligned.mean(0)
        weights = downweight_mobile(((aligned - mean) ** 2).sum(2).mean(0))
    return aligned, weights


def canonical_frame(mean: np.ndarray, eye_distance: float) -> Callable[[np.ndarray], np.ndarray]:
    """A map to FLAME-like model space: frontal, centred, metres, y up, z to the camera."""
    r_eye, l_eye = mean[list(topo.EYE_OUTER_CORNERS)]
    x = l_eye - r_eye
    scale = eye_distance / np.linalg.norm(x)
    x /= np.linalg.norm(x)
    up = mean[topo.FOREHEAD] - mean[topo.CHIN]
    y = up - x * (up @ x)
    y /= np.linalg.norm(y)
    R = np.stack([x, y, np.cross(x, y)])
    centre = mean.mean(0)
    return lambda pts: (pts - centre) @ R.T * scale


def jaw_weights(mean: np.ndarray) -> np.ndarray:
    """Skinning weight of the jaw per vertex: lower lip and chin 1, upper face 0.

    Between the mouth corners the split is sharp along the lip midline (the lips part there);
    beyond them it widens into a smooth ramp over the cheeks.
    """
    upper, lower = mean[topo.UPPER_INNER_LIP], mean[topo.LOWER_INNER_LIP]
    mid = (upper + lower) / 2
    order = np.argsort(mid[:, 0])
    corner_x = np.abs(mean[list(topo.MOUTH_CORNERS), 0]).mean()
    x, y = mean[:, 0], mean[:, 1]
    y_mid = np.interp(x, mid[order, 0], mid[order, 1])
    outside = np.clip((np.abs(x) - corner_x) / (0.02), 0.0, 1.0)
    band = 0.002 + 0.025 * outside
    t = np.clip((y_mid - y) / band + 0.5, 0.0, 1.0)
    w = t * t * (3 - 2 * t)
    w[np.concatenate([list(r) for r in topo.IRIS])] = 0.0
    return w


def jaw_joint(mean: np.ndarray) -> np.ndarray:
    return mean[topo.JAW_HINGE].mean(0)


def skin_jaw(shapes: np.ndarray, angles: np.ndarray, joint: np.ndarray, w: np.ndarray):
    """Open (angle > 0) or close each shape's jaw about the hinge's x axis."""
    rots = rodrigues(np.stack([angles, 0 * angles, 0 * angles], 1))  # (F, 3, 3)
    rotated = np.einsum("fab,fvb->fva", rots, shapes - joint) + joint
    return shapes + w[None, :, None] * (rotated - shapes)


def unskin_jaw(shapes, angles, joint, w):
    """Inverse of `skin_jaw`: per vertex p' = A p + b with A = (1-w) I + w R."""
    rots = rodrigues(np.stack([angles, 0 * angles, 0 * angles], 1))
    A = (1 - w)[None, :, None, None] * np.eye(3) + w[None, :, None, None] * rots[:, None]
    b = w[None, :, None] * (joint - np.einsum("fab,b->fa", rots, joint))[:, None, :]
    return np.linalg.solve(A, (shapes - b)[..., None])[..., 0]


def jaw_angles(shapes, templates, joint, w, grid=np.linspace(-0.35, 0.6, 96)) -> np.ndarray:
    """Per frame, the jaw rotation of its template that best matches it (grid + parabola)."""
    idx = np.flatnonzero(w > 0.05)
    errs = np.empty((len(shapes), len(grid)))
    for g, a in enumerate(grid):
        posed = skin_jaw(templates[:, idx], np.full(len(shapes), a), joint, w[idx])
        errs[:, g] = (((posed - shapes[:, idx]) ** 2).sum(2) * w[idx]).sum(1)
    k = np.clip(errs.argmin(1), 1, len(grid) - 2)
    rows = np.arange(len(shapes))
    e0, e1, e2 = errs[rows, k - 1], errs[rows, k], errs[rows, k + 1]
    denom = e0 - 2 * e1 + e2
    shift = np.where(denom > 1e-18, 0.5 * (e0 - e2) / np.maximum(denom, 1e-18), 0.0)
    return grid[k] + np.clip(shift, -1, 1) * (grid[1] - grid[0])


def pca(data: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-n principal directions of centred rows, sign-fixed; also variances and their share."""
    cov = data.T @ data / max(len(data) - 1, 1)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1]
    evals, evecs = np.clip(evals[order], 0, None), evecs[:, order]
    n = min(n, int((evals > evals[0] * 1e-9).sum()))
    evecs = evecs[:, :n] * np.sign(evecs[np.abs(evecs[:, :n]).argmax(0), np.arange(n)])
    return evecs, evals[:n], evals[:n] / evals.sum()


# ---- assembly ------------------------------------------------------------------------------
def build_prior(shapes_by_clip: dict[Clip, np.ndarray], config: BuildConfig) -> FlameModel:
    """The prior from per-clip crop-pixel landmarks (see the module docstring)."""
    clips = [c for c in sorted(shapes_by_clip, key=lambda c: c.name) if len(shapes_by_clip[c])]
    shapes = np.concatenate([shapes_by_clip[c] @ FLIP for c in clips])
    owner = np.concatenate([[c.person] * len(shapes_by_clip[c]) for c in clips])
    aligned, _ = align_all(shapes)
    to_model = canonical_frame(aligned.mean(0), config.eye_distance)
    aligned = to_model(aligned)
    people = sorted(set(owner))
    member = np.array([people.index(p) for p in owner])

    mean = aligned.mean(0)
    w_jaw, joint = jaw_weights(mean), jaw_joint(mean)
    unjawed, angles = aligned, np.zeros(len(aligned))
    for _ in range(2):
        person_mean = np.stack([unjawed[member == i].mean(0) for i in range(len(people))])
        angles = jaw_angles(aligned, person_mean[member], joint, w_jaw)
        unjawed = unskin_jaw(aligned, angles, joint, w_jaw)
    person_mean = np.stack([unjawed[member == i].mean(0) for i in range(len(people))])
    template = person_mean.mean(0)

    id_dirs, id_var, id_ratio = pca(
        (person_mean - template).reshape(len(people), -1), config.n_shape
    )
    residual = (unjawed - person_mean[member]).reshape(len(unjawed), -1)
    ex_dirs, ex_var, ex_ratio = pca(residual, config.n_expr)
    n_vert = template.shape[0]

    faces = topo.orient_towards_camera(topo.mesh_triangles(), template)
    lmk_idx, lmk_bary = topo.vertex_embedding(faces, topo.IBUG68_FROM_MEDIAPIPE)
    fit_idx, fit_bary = topo.vertex_embedding(faces, np.arange(n_vert))
    meta = {
        "clips": [c.name for c in clips],
        "frames": len(aligned),
        "people": len(people),
        "config": {k: getattr(config, k) for k in config.__dataclass_fields__},
        "expr_explained": [round(float(r), 6) for r in ex_ratio],
        "shape_explained": [round(float(r), 6) for r in id_ratio],
        "jaw_angle_deg": {
            "p5": float(np.degrees(np.percentile(angles, 5))),
            "p50": float(np.degrees(np.median(angles))),
            "p95": float(np.degrees(np.percentile(angles, 95))),
        },
    }
    return FlameModel(
        name="builtin",
        v_template=template,
        shapedirs=(id_dirs * np.sqrt(id_var)).reshape(n_vert, 3, -1),
        exprdirs=(ex_dirs * np.sqrt(ex_var)).reshape(n_vert, 3, -1),
        posedirs=np.zeros((n_vert * 3, 9 * (len(JOINTS) - 1))),
        J_regressor=_joint_regressor(template, n_vert),
        parents=np.array([-1, 0, 1, 1, 1]),
        weights=_skinning_weights(template, w_jaw),
        faces=faces,
        landmarks68=Embedding(lmk_idx, lmk_bary),
        fit_points=Embedding(fit_idx, fit_bary),
        fit_mediapipe_ids=np.arange(n_vert),
        expr_std=np.ones(ex_dirs.shape[1]),
        meta=meta,
    )


def _joint_regressor(template: np.ndarray, n_vert: int) -> np.ndarray:
    """Joints as vertex combinations: root and neck at the centroid, jaw on the hinge, each
    eye at its eyeball's centre (FLAME's eye joints), so an eye rotation moves the iris."""
    J = np.zeros((len(JOINTS), n_vert))
    J[0] = J[1] = 1.0 / n_vert
    J[2, topo.JAW_HINGE] = 1.0 / len(topo.JAW_HINGE)
    for row, iris in zip((3, 4), _irises_left_right(template), strict=True):
        J[row] = _eyeball_row(template, iris)
    return J


def _eyeball_row(template: np.ndarray, iris: range) -> np.ndarray:
    """Regressor row for an eyeball centre: the eye corners' midpoint plus rigid face
    directions (ear level to nose tip, nose bridge to forehead, across the eyes), weighted
    to land `EYEBALL_RADIUS` behind the iris on the template. Rigid points only, so the
    centre does not move with blinks or gaze; the weights sum to 1 (translation-safe)."""
    corners = min(topo.EYE_CORNERS, key=lambda c: np.linalg.norm(
        template[list(c)].mean(0) - template[iris[0]]))
    directions = [
        ({topo.JAW_HINGE[0]: 0.5, topo.JAW_HINGE[1]: 0.5, topo.NOSE_TIP: -1.0}),
        ({topo.FOREHEAD: 1.0, topo.NOSE_BRIDGE: -1.0}),
        ({topo.EYE_OUTER_CORNERS[1]: 1.0, topo.EYE_OUTER_CORNERS[0]: -1.0}),
    ]
    vec = lambda d: sum(w * template[i] for i, w in d.items())  # noqa: E731
    target = template[iris[0]] - np.array([0.0, 0.0, topo.EYEBALL_RADIUS])
    base = template[list(corners)].mean(0)
    coef = np.linalg.solve(np.stack([vec(d) for d in directions], 1), target - base)
    row = np.zeros(len(template))
    row[list(corners)] = 0.5
    for c, d in zip(coef, directions, strict=True):
        for i, w in d.items():
            row[i] += c * w
    return row


def _skinning_weights(template: np.ndarray, w_jaw: np.ndarray) -> np.ndarray:
    W = np.zeros((len(template), len(JOINTS)))
    W[:, 2] = w_jaw
    W[:, 0] = 1.0 - w_jaw
    for col, iris in zip((3, 4), _irises_left_right(template), strict=True):
        W[list(iris)] = 0.0
        W[list(iris), col] = 1.0
    return W


def _irises_left_right(template: np.ndarray) -> list[range]:
    """MediaPipe's two iris point sets, the subject's left eye (+x) first, as FLAME orders eyes."""
    return sorted(topo.IRIS, key=lambda r: -template[list(r), 0].mean())


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
