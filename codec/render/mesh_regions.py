"""Regions of a face mesh the mesh-warp renderer treats apart: the skin surface and its holes.

Any FLAME-format prior works: the skin is the largest connected piece of the mesh (this drops
iris fans and FLAME's eyeballs), and its boundary loops are the outline, the mouth and the
two eye openings, told apart by the iBUG-68 landmarks nearest to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codec.prior.flame import FlameModel

MOUTH_IBUG = range(60, 68)
EYE_IBUG = (range(36, 42), range(42, 48))


@dataclass(frozen=True)
class MeshRegions:
    skin: np.ndarray  # (F, 3) triangles of the largest connected piece
    mouth: np.ndarray  # vertex loop around the mouth opening (empty if the mesh has none)
    eyes: tuple[np.ndarray, np.ndarray]  # vertex loops around the eye openings


def largest_component(faces: np.ndarray) -> np.ndarray:
    parent = np.arange(faces.max() + 1)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b, c in faces:
        ra, rb, rc = find(a), find(b), find(c)
        parent[rb] = ra
        parent[find(rc)] = ra
    roots = np.array([find(a) for a in faces[:, 0]])
    best = np.bincount(roots).argmax()
    return faces[roots == best]


def boundary_loops(faces: np.ndarray) -> list[np.ndarray]:
    """Closed loops of edges that belong to exactly one triangle, longest first."""
    count: dict[tuple[int, int], int] = {}
    for tri in faces:
        for a, b in ((tri[0], tri[1]), (tri[1], tri[2]), (tri[2], tri[0])):
            key = (min(a, b), max(a, b))
            count[key] = count.get(key, 0) + 1
    nbrs: dict[int, list[int]] = {}
    for (a, b), n in count.items():
        if n == 1:
            nbrs.setdefault(a, []).append(b)
            nbrs.setdefault(b, []).append(a)
    loops, seen = [], set()
    for start in nbrs:
        if start in seen:
            continue
        loop, prev, cur = [start], -1, start
        seen.add(start)
        while True:
            nxt = [v for v in nbrs[cur] if v != prev and (v not in seen or v == start)]
            if not nxt or nxt[0] == start:
                break
            prev, cur = cur, nxt[0]
            loop.append(cur)
            seen.add(cur)
        loops.append(np.array(loop))
    return sorted(loops, key=len, reverse=True)


def find_regions(model: FlameModel) -> MeshRegions:
    skin = largest_component(model.faces)
    loops = boundary_loops(skin)[1:]  # the longest is the outline
    verts = model.v_template
    ibug = model.landmarks(verts, "ibug68")
    centres = [v.mean(0) for v in (verts[loop] for loop in loops)]

    def nearest(points: range) -> np.ndarray:
        if not loops:
            return np.zeros(0, np.int64)
        target = ibug[list(points)].mean(0)
        return loops[int(np.argmin([np.linalg.norm(c - target) for c in centres]))]

    eyes = (nearest(EYE_IBUG[0]), nearest(EYE_IBUG[1]))
    return MeshRegions(skin=skin, mouth=nearest(MOUTH_IBUG), eyes=eyes)
