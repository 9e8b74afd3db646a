"""A tiny synthetic model in the official FLAME pickle format, with chumpy and scipy stand-ins.

The pickle names `chumpy.ch.Ch` and `scipy.sparse.csc.csc_matrix` exactly as the real files
do: throwaway classes are pickled under placeholder module names (protocol 2 writes globals
as text), which are then renamed in the bytes.
"""

from __future__ import annotations

import pickle
import sys
import types

import numpy as np

N_VERT = 8
FACES = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7], [1, 5, 6], [2, 6, 7]])
# vertex 0 is the jaw-driven one; joints: global, neck, jaw, left eye, right eye
JOINT_POS = np.array([[0, 0, 0], [0, 0.0, 0], [0, -1.0, 0], [0.5, 1, 0], [-0.5, 1, 0]])


class _Ch:
    def __init__(self, x):
        self.x = np.asarray(x)

    def __reduce__(self):
        import copyreg

        return (copyreg._reconstructor, (type(self), object, None), {"x": self.x, "_dirty": 1})


class _Csc:
    def __init__(self, dense):
        dense = np.asarray(dense)
        data, indices, indptr = [], [], [0]
        for col in dense.T:
            nz = np.flatnonzero(col)
            data += list(col[nz])
            indices += list(nz)
            indptr.append(len(data))
        self.state = {
            "data": np.array(data), "indices": np.array(indices, np.int32),
            "indptr": np.array(indptr, np.int32), "_shape": dense.shape, "maxprint": 50,
        }  # fmt: skip

    def __reduce__(self):
        import copyreg

        return (copyreg._reconstructor, (type(self), object, None), self.state)


def _register(cls, module: str, name: str):
    mod = sys.modules.setdefault(module, types.ModuleType(module))
    cls.__module__, cls.__qualname__, cls.__name__ = module, name, name
    setattr(mod, name, cls)
    return mod


def flame_arrays(rng: np.random.Generator) -> dict:
    v = rng.normal(size=(N_VERT, 3))
    weights = np.zeros((N_VERT, 5))
    weights[:, 0] = 1.0
    weights[0] = [0, 0, 1, 0, 0]
    return {
        "v_template": v,
        "shapedirs": rng.normal(size=(N_VERT, 3, 400)) * 0.01,
        "posedirs": rng.normal(size=(N_VERT, 3, 36)) * 0.01,
        "J_regressor": _joint_regressor(v),
        "kintree_table": np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]]),
        "weights": weights,
        "f": FACES.astype(np.uint32),
    }


def _joint_regressor(v: np.ndarray) -> np.ndarray:
    """Regressor that reproduces JOINT_POS on the template exactly (least squares)."""
    return np.linalg.lstsq(v.T, JOINT_POS.T, rcond=None)[0].T


def write_flame_dir(tmp_path, rng) -> dict:
    """FLAME pickle + both landmark embeddings, as a user would lay them out."""
    arrays = flame_arrays(rng)
    ch_mod = _register(_Ch, "fcx_placeholder_ch", "Ch")
    sp_mod = _register(_Csc, "fcx_placeholder_csc", "csc_matrix")
    try:
        raw = dict(arrays)
        raw["shapedirs"] = _Ch(arrays["shapedirs"])
        raw["J_regressor"] = _Csc(arrays["J_regressor"])
        raw["bs_style"] = "lbs"
        data = pickle.dumps(raw, protocol=2)
    finally:
        for mod in (ch_mod, sp_mod):
            sys.modules.pop(mod.__name__, None)
    data = data.replace(b"cfcx_placeholder_ch\nCh\n", b"cchumpy.ch\nCh\n")
    data = data.replace(b"cfcx_placeholder_csc\n", b"cscipy.sparse.csc\n")
    assert b"chumpy.ch" in data and b"scipy.sparse.csc" in data
    (tmp_path / "flame2020.pkl").write_bytes(data)
    n_lmk = 68
    lmk = {
        "full_lmk_faces_idx": rng.integers(0, len(FACES), size=(1, n_lmk)),
        "full_lmk_bary_coords": np.full((1, n_lmk, 3), 1 / 3),
    }
    np.save(tmp_path / "landmark_embedding.npy", np.array(lmk, dtype=object), allow_pickle=True)
    np.savez(
        tmp_path / "mediapipe_landmark_embedding.npz",
        lmk_face_idx=np.arange(6), lmk_b_coords=np.full((6, 3), 1 / 3),
        landmark_indices=np.array([1, 33, 263, 61, 291, 152]),
    )  # fmt: skip
    return arrays
