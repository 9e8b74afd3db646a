"""Loading and saving FLAME-format priors: the official FLAME files and the built-in prior.

The official files are licensed and never ship with facecodec; the user points at them with
`--flame PATH` or `FACECODEC_FLAME`. Without one, the built-in prior (a FLAME-format asset on
MediaPipe's 478-point topology, built by `facecodec build-prior`) is used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from codec.prior.flame import JOINTS, Embedding, FlameModel
from codec.prior.safe_pickle import PriorFileError, load_npy_object, load_pickle

BUILTIN_PRIOR = Path(__file__).parent / "assets" / "facecodec_prior_v1.npz"
FLAME_ENV = "FACECODEC_FLAME"
# Official FLAME bases hold 300 shape then 100 expression components in `shapedirs`.
FLAME_N_SHAPE = 300
MEDIAPIPE_EMBEDDING = "mediapipe_landmark_embedding.npz"
LANDMARK68_EMBEDDING = "landmark_embedding.npy"


def load_prior(flame: str | os.PathLike | None = None) -> FlameModel:
    """The prior the user asked for: `flame` path, else $FACECODEC_FLAME, else the built-in one."""
    path = flame or os.environ.get(FLAME_ENV)
    if not path:
        return load_builtin(BUILTIN_PRIOR)
    path = Path(path)
    if path.suffix == ".npz":
        return load_builtin(path)
    return load_official_flame(path)


def _read(path: Path, what: str) -> bytes:
    if not path.is_file():
        raise PriorFileError(f"{what} not found: {path}")
    return path.read_bytes()


def load_official_flame(
    path: Path, mediapipe_embedding: Path | None = None, landmark_embedding: Path | None = None
) -> FlameModel:
    """Read an official FLAME 2020/2023 pickle plus its landmark embeddings (looked up beside it).

    Fitting needs the MediaPipe embedding (`mediapipe_landmark_embedding.npz` from the FLAME
    site) and keypoints need the 68-point embedding (`landmark_embedding.npy`, DECA format).
    """
    path = Path(path)
    raw = load_pickle(_read(path, "FLAME model file (set --flame or FACECODEC_FLAME)"))
    if not isinstance(raw, dict) or "v_template" not in raw:
        raise PriorFileError(f"{path} is not a FLAME model pickle (no 'v_template')")
    try:
        dirs = np.asarray(raw["shapedirs"], dtype=np.float64)
        shapedirs, exprdirs = dirs[:, :, :FLAME_N_SHAPE], dirs[:, :, FLAME_N_SHAPE:]
        if "exprdirs" in raw:
            exprdirs = np.asarray(raw["exprdirs"], dtype=np.float64)
        posedirs = np.asarray(raw["posedirs"], dtype=np.float64)
        n_vert = len(raw["v_template"])
        arrays = dict(
            v_template=np.asarray(raw["v_template"], dtype=np.float64),
            posedirs=posedirs.reshape(n_vert * 3, -1),
            J_regressor=np.asarray(raw["J_regressor"], dtype=np.float64),
            parents=_parents(np.asarray(raw["kintree_table"])),
            weights=np.asarray(raw["weights"], dtype=np.float64),
            faces=np.asarray(raw["f"], dtype=np.int64),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise PriorFileError(f"{path} is missing or has malformed FLAME field: {exc}") from None
    mp_path = mediapipe_embedding or path.with_name(MEDIAPIPE_EMBEDDING)
    lmk_path = landmark_embedding or path.with_name(LANDMARK68_EMBEDDING)
    fit, fit_ids = _mediapipe_embedding(mp_path)
    model = FlameModel(
        name=f"flame:{path.name}",
        shapedirs=shapedirs,
        exprdirs=exprdirs,
        landmarks68=_landmark68_embedding(lmk_path),
        fit_points=fit,
        fit_mediapipe_ids=fit_ids,
        expr_std=np.ones(exprdirs.shape[2]),
        meta={"source": str(path)},
        **arrays,
    )
    _check(model, path)
    return model


def _parents(kintree: np.ndarray) -> np.ndarray:
    parents = kintree[0].astype(np.int64).copy()
    parents[0] = -1
    return parents


def _mediapipe_embedding(path: Path) -> tuple[Embedding, np.ndarray]:
    if not Path(path).is_file():
        raise PriorFileError(
            f"FLAME needs its MediaPipe landmark embedding to fit; put {MEDIAPIPE_EMBEDDING} "
            f"(from the FLAME website) at {path}"
        )
    with np.load(path, allow_pickle=False) as z:
        try:
            emb = Embedding(z["lmk_face_idx"].astype(np.int64), z["lmk_b_coords"].astype(float))
            ids = z["landmark_indices"].astype(np.int64)
        except KeyError as exc:
            raise PriorFileError(f"{path}: missing key {exc}") from None
    return emb, ids


def _landmark68_embedding(path: Path) -> Embedding:
    raw = load_npy_object(_read(Path(path), "FLAME 68-landmark embedding (landmark_embedding.npy)"))
    if not isinstance(raw, dict) or "full_lmk_faces_idx" not in raw:
        raise PriorFileError(f"{path} has no 'full_lmk_faces_idx' (DECA landmark_embedding.npy)")
    idx = np.asarray(raw["full_lmk_faces_idx"]).reshape(-1).astype(np.int64)
    bary = np.asarray(raw["full_lmk_bary_coords"], dtype=float).reshape(-1, 3)
    if len(idx) != 68:
        raise PriorFileError(f"{path}: expected 68 landmarks, found {len(idx)}")
    return Embedding(idx, bary)


def _check(model: FlameModel, path: Path) -> None:
    v = len(model.v_template)
    n_j = len(JOINTS)
    problems = []
    if model.shapedirs.shape[:2] != (v, 3) or model.exprdirs.shape[:2] != (v, 3):
        problems.append("shape/expression bases do not match the template")
    if model.J_regressor.shape != (n_j, v) or model.weights.shape != (v, n_j):
        problems.append(f"expected {n_j} joints")
    if model.posedirs.shape != (v * 3, 9 * (n_j - 1)):
        problems.append("pose correctives have the wrong size")
    for emb in (model.landmarks68, model.fit_points):
        if emb.faces_idx.max(initial=0) >= len(model.faces):
            problems.append("a landmark embedding points past the last triangle")
    if len(model.fit_points.faces_idx) != len(model.fit_mediapipe_ids):
        problems.append("MediaPipe embedding ids and points differ in length")
    if problems:
        raise PriorFileError(f"{path}: " + "; ".join(problems))


_NPZ_ARRAYS = (
    "v_template", "shapedirs", "exprdirs", "posedirs", "J_regressor", "parents",
    "weights", "faces", "expr_std",
)  # fmt: skip


def save_builtin(model: FlameModel, path: Path) -> None:
    """Write a prior as a pickle-free .npz (float32, deterministic bytes for a given model)."""
    arrays = {k: getattr(model, k) for k in _NPZ_ARRAYS}
    arrays = {k: (v.astype(np.float32) if v.dtype.kind == "f" else v) for k, v in arrays.items()}
    arrays.update(
        lmk68_faces_idx=model.landmarks68.faces_idx,
        lmk68_bary=model.landmarks68.bary.astype(np.float32),
        fit_faces_idx=model.fit_points.faces_idx,
        fit_bary=model.fit_points.bary.astype(np.float32),
        fit_mediapipe_ids=model.fit_mediapipe_ids,
        meta_json=np.frombuffer(json.dumps(model.meta, sort_keys=True).encode(), np.uint8),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_npz_deterministic(path, arrays)


def _write_npz_deterministic(path: Path, arrays: dict) -> None:
    """np.savez stamps the current time into the zip; write with a fixed date instead."""
    import io
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())


def load_builtin(path: Path = BUILTIN_PRIOR) -> FlameModel:
    """Read a prior written by `save_builtin`."""
    path = Path(path)
    if not path.is_file():
        raise PriorFileError(f"prior file not found: {path} (run `facecodec build-prior`)")
    try:
        with np.load(path, allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
        f64 = {k: a[k].astype(np.float64) for k in _NPZ_ARRAYS if a[k].dtype.kind == "f"}
        model = FlameModel(
            name=f"builtin:{path.name}",
            v_template=f64["v_template"],
            shapedirs=f64["shapedirs"],
            exprdirs=f64["exprdirs"],
            posedirs=f64["posedirs"],
            J_regressor=f64["J_regressor"],
            parents=a["parents"].astype(np.int64),
            weights=f64["weights"],
            faces=a["faces"].astype(np.int64),
            landmarks68=Embedding(a["lmk68_faces_idx"], a["lmk68_bary"].astype(np.float64)),
            fit_points=Embedding(a["fit_faces_idx"], a["fit_bary"].astype(np.float64)),
            fit_mediapipe_ids=a["fit_mediapipe_ids"].astype(np.int64),
            expr_std=f64["expr_std"],
            meta=json.loads(a["meta_json"].tobytes().decode()),
        )
    except (KeyError, ValueError, OSError) as exc:
        raise PriorFileError(f"{path} is not a facecodec prior file: {exc}") from None
    _check(model, path)
    return model
