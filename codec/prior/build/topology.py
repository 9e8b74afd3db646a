"""MediaPipe face-mesh topology facts used to build the prior: triangles, iBUG-68 points, lips.

Only `facecodec build-prior` reads these; the built prior file carries what it needs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# MediaPipe index standing in for each iBUG-68 landmark (jaw 0-16, brows 17-26, nose 27-35,
# eyes 36-47, outer lips 48-59, inner lips 60-67), the subject's right side first as in iBUG.
IBUG68_FROM_MEDIAPIPE = np.array([
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,
    71, 63, 105, 66, 107, 336, 296, 334, 293, 301,
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,
    78, 82, 13, 312, 308, 317, 14, 87,
])  # fmt: skip

UPPER_INNER_LIP = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LOWER_INNER_LIP = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
MOUTH_CORNERS = (61, 291)
EYE_OUTER_CORNERS = (33, 263)  # subject's right, left
FOREHEAD, CHIN = 10, 152
JAW_HINGE = [234, 454, 93, 323]  # lateral contour at ear level: their mean sits on the hinge axis
IRIS = (range(468, 473), range(473, 478))  # centre then ring, one iris each
EYE_CORNERS = ((33, 133), (362, 263))  # (outer, inner) of the subject's right eye; left eye
NOSE_TIP, NOSE_BRIDGE = 1, 168
EYEBALL_RADIUS = 0.0115  # metres from the eyeball's centre to the iris plane (adult ~12 mm)


def mesh_triangles() -> np.ndarray:
    """Triangles of the 468-vertex mesh (from MediaPipe's tessellation edges) plus iris fans."""
    path = Path(__file__).parents[1] / "facemesh" / "assets" / "tessellation_edges.npy"
    edges = {(int(a), int(b)) for a, b in np.load(path)}
    nbrs: dict[int, set[int]] = {}
    for a, b in edges:
        nbrs.setdefault(a, set()).add(b)
        nbrs.setdefault(b, set()).add(a)
    tris = {tuple(sorted((a, b, c))) for a, b in edges for c in nbrs[a] & nbrs[b]}
    for iris in IRIS:
        centre, *ring = iris
        tris |= {(centre, ring[i], ring[(i + 1) % 4]) for i in range(4)}
    return np.array(sorted(tris), dtype=np.int64)


def orient_towards_camera(faces: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Flip triangles so their normals point to +z (the camera) on a frontal mesh."""
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    nz = np.cross(b - a, c - a)[:, 2]
    out = faces.copy()
    out[nz < 0] = out[nz < 0][:, [0, 2, 1]]
    return out


def vertex_embedding(faces: np.ndarray, vertex_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Embed mesh vertices exactly: a triangle holding each, with a one-hot barycentric weight."""
    idx = np.empty(len(vertex_ids), dtype=np.int64)
    bary = np.zeros((len(vertex_ids), 3))
    for i, v in enumerate(vertex_ids):
        f, corner = np.argwhere(faces == v)[0]
        idx[i] = f
        bary[i, corner] = 1.0
    return idx, bary
