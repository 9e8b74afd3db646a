"""A restricted unpickler for the official FLAME files.

FLAME ships as Python 2 pickles that reference chumpy and scipy.sparse. We never install
chumpy and never let a pickle name an arbitrary class: numpy's reconstruction helpers are
allowed, chumpy objects become plain numpy arrays, scipy sparse matrices become dense
arrays, and anything else is refused with `PriorFileError`.
"""

from __future__ import annotations

import io
import pickle

import numpy as np


class PriorFileError(Exception):
    """A face-prior file is missing, malformed, or not what it claims to be."""


class _ChumpyArray:
    """Stand-in for any chumpy class: keeps the pickled state, exposes its array `x`."""

    def __setstate__(self, state):
        self.state = state if isinstance(state, dict) else {"x": state}

    def to_numpy(self) -> np.ndarray:
        if "x" not in self.state:
            raise PriorFileError("a chumpy object in the file holds no array ('x')")
        return np.asarray(self.state["x"], dtype=np.float64)


class _SparseMatrix:
    """Stand-in for scipy.sparse csc/csr matrices: rebuilt as a dense array."""

    def __setstate__(self, state):
        self.state = state

    def to_numpy(self) -> np.ndarray:
        s = self.state
        shape = tuple(s.get("_shape") or s.get("shape"))
        data, indices, indptr = (np.asarray(s[k]) for k in ("data", "indices", "indptr"))
        fmt = s.get("format") or ("csr" if shape[0] + 1 == len(indptr) else "csc")
        out = np.zeros(shape)
        major = shape[0] if fmt == "csr" else shape[1]
        if len(indptr) != major + 1 or len(indices) != len(data):
            raise PriorFileError("a sparse matrix in the file is malformed")
        for m in range(major):
            lo, hi = int(indptr[m]), int(indptr[m + 1])
            if fmt == "csr":
                out[m, indices[lo:hi]] = data[lo:hi]
            else:
                out[indices[lo:hi], m] = data[lo:hi]
        return out


_NUMPY = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"),
    ("__builtin__", "object"),
    ("builtins", "object"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 carry bytes
}
_SPARSE = {"csc_matrix", "csr_matrix"}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _NUMPY:
            return super().find_class(module, name)
        if module == "chumpy" or module.startswith("chumpy."):
            return _ChumpyArray
        if module.startswith("scipy.sparse") and name in _SPARSE:
            return _SparseMatrix
        raise PriorFileError(f"refusing to load class {module}.{name} from a prior file")


def to_numpy(obj):
    """Turn stand-ins (and containers of them) into numpy arrays."""
    if isinstance(obj, _ChumpyArray | _SparseMatrix):
        return obj.to_numpy()
    if isinstance(obj, dict):
        return {k: to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        return to_numpy(obj.item())
    return obj


def load_pickle(data: bytes) -> object:
    """Unpickle FLAME-style data with the allowlist above (Python 2 pickles included)."""
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except PriorFileError:
        raise
    except Exception as exc:
        raise PriorFileError(f"not a readable pickle ({type(exc).__name__}: {exc})") from None
    return to_numpy(obj)


def load_npy_object(data: bytes) -> object:
    """Read a .npy file that may hold a pickled object array (e.g. a dict) without np.load."""
    buf = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buf)
        read = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        _, _, dtype = read(buf)
    except Exception as exc:
        raise PriorFileError(f"not a .npy file ({exc})") from None
    if not dtype.hasobject:
        buf.seek(0)
        return np.load(buf, allow_pickle=False)
    return load_pickle(buf.read())
