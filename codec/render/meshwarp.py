"""The CPU renderer: warp the reference picture along the face mesh, no trained weights.

Every output pixel gets one source position from a piecewise-affine backward map, then one
`cv2.remap` samples the reference. The map is built from three layers of triangles, drawn
into a triangle-id buffer back to front:

1. a background sheet (Delaunay over the face's outline, two rings around it and the crop
   border): the rings follow the head's motion as far as the frame's `follow` says (by
   default the inner ring all of it, the outer ring half; the sender picks the levels that
   fit its frame, `codec/background.py`), the border stays, so hair, neck and background
   move with the head, or stay put, without tearing at its edge;
2. fans over the mesh's holes: the eyes (so closing lids cover them) and the mouth, whose
   interior is shaded as a dark cavity when it opens wider than in the reference; inside
   each eye opening the picture slides by the iris's motion (gaze), under the lids;
3. the skin triangles, sorted by depth so the far side of a turned head is hidden.

With a reference bank (`codec/bank.py`), the mouth and the eyes are then taken from the held
picture whose state is nearest the frame's (`compose.py`): the same triangles map that
picture's own mesh onto the frame, and a feathered mask blends it in, so an open mouth shows
the teeth the sender saw and a blink closes.

In keypoints mode the driving mesh is first moved onto the received keypoints: their
residuals from the keypoints the parameters predict are spread over the mesh by Gaussian
radial basis functions, so what the sender paid for on the wire shapes the frame (a
one-sided smile that a truncated ψ cannot hold, for one).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from bitstream import BankRegion
from codec.bank import BankPicture, face_state
from codec.driving import STILL_VIEW, DrivingState, view_matrix
from codec.prior.flame import FlameModel
from codec.prior.params import FaceParams, mesh_in_crop
from codec.render.base import split_reference
from codec.render.compose import Candidate, box_mask, choose, region_box_mask
from codec.render.mesh_regions import find_regions

CAVITY_RGB = np.array([42.0, 14.0, 16.0])  # a dark mouth interior, a little red


@dataclass(frozen=True)
class MeshWarpConfig:
    inner_ring: float = 1.3  # ring radii relative to the face outline, from its centre
    outer_ring: float = 1.9
    neck_follow: float = 0.5  # the inner ring straight below the chin follows this share
    border_points: int = 4  # control points per crop side, besides the corners
    keypoint_sigma: float = 0.05  # reach of a keypoint's correction, fraction of the crop
    keypoint_ridge: float = 0.05  # smooths the correction where keypoints crowd


class MeshWarpRenderer:
    name = "meshwarp"

    def __init__(self, model: FlameModel, config: MeshWarpConfig = MeshWarpConfig()):
        self.model, self.config = model, config
        self.regions = find_regions(model)
        self.skin = self.regions.skin
        self.holes = [h for h in (*self.regions.eyes, self.regions.mouth) if len(h) >= 3]
        self.irises = _irises_for(model, self.holes[: len(self.regions.eyes)])
        self._ready = False
        self.bank: dict[int, _BankSource] = {}
        self._chosen: dict[BankRegion, BankPicture | None] = {}

    # -- per reference --------------------------------------------------------------------
    def set_reference(self, picture: np.ndarray, params: FaceParams) -> None:
        """`picture`: the reference crop, or the crop grown by a margin (`split_reference`)
        that the warp samples where it reaches past the crop's edge."""
        self.picture = np.ascontiguousarray(picture)
        self.margin = split_reference(picture, params.crop_size)[1]
        self.size = params.crop_size
        mesh = mesh_in_crop(self.model, params)
        src = mesh[:, :2]
        used = np.unique(self.skin)
        hull = cv2.convexHull(src[used].astype(np.float32), returnPoints=False)[:, 0]
        self.outline = used[hull]
        centre = src[self.outline].mean(0)
        c = self.config
        ring1 = centre + c.inner_ring * (src[self.outline] - centre)
        ring2 = centre + c.outer_ring * (src[self.outline] - centre)
        self.border = _border_points(self.size, c.border_points)
        self.rings_src = np.concatenate([ring1, ring2])
        # Below the face the ring holds the neck, which follows the head only in part.
        below = np.clip((ring1[:, 1] - centre[1]) / max(np.ptp(ring1[:, 1]) / 2, 1e-6), 0, 1)
        self.follow = 1.0 - (1.0 - c.neck_follow) * below
        sheet = np.concatenate([src[self.outline], self.rings_src, self.border])
        self.sheet_tris = _delaunay(sheet, self.size)
        self.sheet_points = sheet
        self.src_sheet = sheet[self.sheet_tris]  # the sheet's corners in the reference
        self.src = src
        self.src_mouth_open = self._mouth_open(src)
        self.base = Candidate(None, face_state(self.model.landmarks(mesh, "ibug68")),
                              params.euler)
        self._ready = True

    def set_bank(self, pictures: list[BankPicture]) -> None:
        """The bank pictures held (each with its own mesh); replaces the previous set."""
        held = {}
        for p in pictures:
            old = self.bank.get(p.slot)
            if old is not None and old.candidate.picture is p:
                held[p.slot] = old
                continue
            mesh = mesh_in_crop(self.model, p.params)
            valid = cv2.GaussianBlur(box_mask(p.box, p.canvas.shape[0]), (0, 0), 1.5)
            held[p.slot] = _BankSource(Candidate(p, p.state, p.params.euler), mesh[:, :2],
                                       valid, self._mouth_open(mesh[:, :2]))
        self.bank = held
        self._chosen = {r: c for r, c in self._chosen.items()
                        if c is None or any(b.candidate.picture is c for b in held.values())}

    def _mouth_open(self, src: np.ndarray) -> float:
        return _opening(src[self.regions.mouth]) if len(self.regions.mouth) else 0.0

    # -- per frame ------------------------------------------------------------------------
    def render(self, driving: DrivingState) -> np.ndarray:
        return self._render(driving)[0]

    def render_with_map(self, driving: DrivingState) -> tuple[np.ndarray, np.ndarray]:
        """The frame, and its backward map (S, S, 2): the reference pixel (x, y) each output
        pixel was sampled from. The mesh-guided neural renderer starts from both."""
        out, maps = self._render(driving)
        return out, np.stack(maps, axis=-1)

    def background_pose(self, driving: DrivingState) -> tuple[np.ndarray, np.ndarray]:
        """The frame's mesh (2D) and the similarity that takes the reference's outline onto
        it: what every background candidate of one frame shares, so a search makes it once."""
        dst = self._driving_mesh(driving)[:, :2]
        return dst, _similarity(self.src[self.outline], dst[self.outline])

    def render_backgrounds(self, pose: tuple[np.ndarray, np.ndarray], follows,
                           view: tuple[float, float, float] = STILL_VIEW) -> list:
        """The background sheet alone, once per `follows` entry, with the reference's face
        left where it was (`pose` from `background_pose`): what the sender compares with its
        frame, outside the face (`pose[0][self.outline]`), to choose the follow levels."""
        dst, sim = pose
        src_tris = self._sheet_sources(view)
        frames = []
        for follow in follows:
            dst_tris = self._sheet(dst, follow, view, sim)[self.sheet_tris]
            ids = self._rasterize(dst_tris)
            frames.append(self._sample(*_backward_map(ids, src_tris, dst_tris, self.size)))
        return frames

    def _sample(self, mx: np.ndarray, my: np.ndarray) -> np.ndarray:
        """The reference picture at crop coordinates (its margin, if any, beyond the crop;
        past that, the edge mirrored)."""
        if self.margin:
            mx, my = mx + self.margin, my + self.margin
        return cv2.remap(self.picture, mx, my, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT101)  # fmt: skip

    def _driving_mesh(self, driving: DrivingState) -> np.ndarray:
        if not self._ready:
            raise RuntimeError("set_reference must be called before render")
        mesh = mesh_in_crop(self.model, driving.params)
        if driving.keypoints is not None and len(driving.keypoints):
            mesh = self._onto_keypoints(mesh, driving.keypoints)
        return mesh

    def _render(self, driving: DrivingState) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        mesh = self._driving_mesh(driving)
        dst, depth = mesh[:, :2], mesh[:, 2]
        frame = self._triangles(dst, depth, driving.follow, driving.view)
        ids = self._rasterize(frame.tris)
        maps = _backward_map(ids, self._sources(frame, self.src), frame.tris, self.size)
        out = self._sample(*maps)
        mouth_open = self.src_mouth_open
        if self.bank:
            mouth_open = self._compose(out, ids, frame, mesh, driving)
        if len(self.regions.mouth):
            self._shade_mouth(out, ids, frame.layers, dst, mouth_open)
        return out, maps

    def _compose(self, out, ids, tris: _Triangles, mesh, driving: DrivingState) -> float:
        """Each region from its chosen bank picture; returns the mouth opening (px) of the
        picture the mouth now comes from."""
        lm = self.model.landmarks(mesh, "ibug68")[:, :2]
        frame, euler = face_state(lm), driving.params.euler
        mouth_open = self.src_mouth_open
        for region in BankRegion:
            held = [b.candidate for b in self.bank.values() if b.candidate.picture is not None
                    and b.candidate.picture.region == region]  # fmt: skip
            if not held:
                continue
            pick = choose(region, frame, euler, [self.base, *held], self._chosen.get(region))
            self._chosen[region] = pick.picture
            if pick.picture is None:
                continue
            source = self.bank[pick.picture.slot]
            self._paste(out, ids, tris, source, *region_box_mask(lm, region, self.size))
            if region == BankRegion.MOUTH:
                mouth_open = source.mouth_open
        return mouth_open

    def _paste(self, out, ids, frame: _Triangles, source: _BankSource, mask: np.ndarray,
               box: tuple[int, int, int, int]) -> None:
        """Blend the bank picture, warped along its own mesh, into `out` where `mask` (the
        region's mask inside `box`) says."""
        rows, cols = np.nonzero(mask > 1e-3)
        if not len(rows):
            return
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        mask = mask[r0:r1, c0:c1]
        y0, y1, x0, x1 = box[1] + r0, box[1] + r1, box[0] + c0, box[0] + c1
        window = ids[y0:y1, x0:x1]
        mx, my = _backward_map(window, self._sources(frame, source.src), frame.tris, self.size,
                               (x0, y0))  # fmt: skip
        picture = source.candidate.picture
        assert picture is not None
        sampled = cv2.remap(picture.canvas, mx, my, cv2.INTER_LINEAR)
        valid = cv2.remap(source.valid, mx, my, cv2.INTER_LINEAR)
        alpha = mask * valid * (window > frame.layers[1])  # not the sheet
        part = out[y0:y1, x0:x1].astype(np.float32)
        a = alpha[..., None]
        out[y0:y1, x0:x1] = np.rint(part * (1 - a) + sampled * a).astype(np.uint8)

    def _triangles(self, dst: np.ndarray, depth: np.ndarray, follow, view) -> _Triangles:
        """The frame's triangles, back to front: the background sheet, the holes' fans, the
        skin sorted by depth (far first, so the far side of a turned head is hidden)."""
        dst_sheet = self._sheet(dst, follow, view)
        skin = self.skin[np.argsort(-depth[self.skin].mean(1), kind="stable")]
        parts = [dst_sheet[self.sheet_tris], *(_fan(dst[loop]) for loop in self.holes),
                 dst[skin]]  # fmt: skip
        layers = np.cumsum([0] + [len(p) for p in parts])
        return _Triangles(dst, np.concatenate(parts), layers, skin, self._sheet_sources(view))

    def _sheet(self, dst: np.ndarray, follow: tuple[float, float],
               view: tuple[float, float, float] = STILL_VIEW, sim=None) -> np.ndarray:
        """The sheet's points in the frame: the face's outline, the rings moved by their
        share (`follow`) of the similarity `sim` that takes the outline there, from where
        still scenery lies in this crop (`view`), and the crop's border."""
        if sim is None:
            sim = _similarity(self.src[self.outline], dst[self.outline])
        rings = self.rings_src
        still = rings if view == STILL_VIEW else _apply(view_matrix(view, self.size), rings)
        shares = np.concatenate([follow[0] * self.follow, follow[1] * self.follow])[:, None]
        moved = still + shares * (_apply(sim, rings) - still)
        return np.concatenate([dst[self.outline], moved, self.border])

    def _sheet_sources(self, view: tuple[float, float, float]) -> np.ndarray:
        """The sheet's corners in the reference: the crop's border shows what lay there in
        the reference's crop before the sender's crop moved (`view`)."""
        if view == STILL_VIEW:
            return self.src_sheet
        points = self.sheet_points.copy()
        n = len(self.border)
        points[-n:] = _apply(cv2.invertAffineTransform(view_matrix(view, self.size)),
                             self.border)  # fmt: skip
        return points[self.sheet_tris]

    def _sources(self, frame: _Triangles, src: np.ndarray) -> np.ndarray:
        """Where each of the frame's triangles lies in a picture whose mesh is `src`: its own
        mesh for the holes and the skin (the sheet always from the reference's)."""
        parts = [frame.sheet_src]
        for i, loop in enumerate(self.holes):
            iris = self.irises[i] if i < len(self.irises) else None
            parts.append(_fan(src[loop]) + self._gaze_shift(loop, iris, frame.dst, src))
        parts.append(src[frame.skin])
        return np.concatenate(parts)

    def _onto_keypoints(self, mesh: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
        """The mesh moved so its K landmarks land on the received keypoints (2D, smooth)."""
        from codec.prior.keypoints import preset_indices

        k = len(keypoints)
        predicted = self.model.landmarks(mesh, "ibug68")[preset_indices(k), :2]
        sent = (np.asarray(keypoints)[:, :2] + 1.0) * (self.size / 2.0)
        sigma = self.config.keypoint_sigma * self.size
        kernel = lambda a, b: np.exp(  # noqa: E731
            -((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2 * sigma**2))
        gram = kernel(predicted, predicted) + self.config.keypoint_ridge * np.eye(k)
        weights = np.linalg.solve(gram, sent - predicted)
        out = mesh.copy()
        out[:, :2] += kernel(mesh[:, :2], predicted) @ weights
        return out

    def _gaze_shift(self, loop: np.ndarray, iris: np.ndarray | None, dst: np.ndarray,
                    src: np.ndarray):
        """Where the picture's iris is, minus where the lids' motion alone would take the
        driving iris from: the eye's picture slides by this inside the opening."""
        if iris is None:
            return 0.0
        affine = _affine(dst[loop], src[loop])
        return src[iris].mean(0) - _apply(affine, dst[iris].mean(0)[None])[0]

    def _rasterize(self, dst_tris: np.ndarray) -> np.ndarray:
        ids = np.zeros((self.size, self.size), np.int32)
        fixed = np.rint(dst_tris * 16).astype(np.int32)  # 4 bits of sub-pixel precision
        keep = np.flatnonzero(np.abs(_signed_area(dst_tris)) > 1e-3)
        # Positional arguments: keywords cost a third of each call. LINE_4: the same pixels
        # as LINE_8 (8 M random triangle pixels and two dev clips' frames, equal) for a
        # third less time, its outline pass being the cheaper one.
        fill = cv2.fillConvexPoly
        for i, corners in zip((keep + 1).tolist(), fixed[keep], strict=True):
            fill(ids, corners, i, cv2.LINE_4, 4)
        return ids

    def _shade_mouth(self, out, ids, layers, dst, src_open: float) -> None:
        """Darken the mouth opening where it is wider than the picture it comes from (whose
        opening is `src_open` px) could show."""
        loop = dst[self.regions.mouth]
        opening = _opening(loop)
        alpha = 1.0 if src_open < 2.0 else 1.0 - src_open / max(opening, 1e-6)
        alpha = float(np.clip(alpha, 0.0, 1.0))
        if alpha <= 0:
            return
        # Only the fans' box can hold their ids (fills reach a pixel past a corner).
        x0, y0 = np.maximum(np.floor(loop.min(0)).astype(int) - 1, 0)
        x1, y1 = np.ceil(loop.max(0)).astype(int) + 2
        window = ids[y0:y1, x0:x1]
        first = layers[1] + sum(len(h) for h in self.holes[:-1]) + 1
        inside = (window >= first) & (window < first + len(self.regions.mouth))
        if not inside.any():
            return
        part = out[y0:y1, x0:x1]
        pixels = part[inside].astype(np.float32)
        part[inside] = (pixels * (1 - alpha) + CAVITY_RGB * alpha).astype(np.uint8)


@dataclass(frozen=True)
class _Triangles:
    """A frame's triangles in drawing order: its mesh (2D), their corners (T, 3, 2), where
    each layer starts (sheet, holes, skin), and the skin's triangles in the order drawn."""

    dst: np.ndarray
    tris: np.ndarray
    layers: np.ndarray
    skin: np.ndarray
    sheet_src: np.ndarray  # the sheet's corners in the reference


@dataclass(frozen=True)
class _BankSource:
    """A bank picture ready to sample: its mesh in the picture (2D), where it is valid, and
    how far its mouth is open (px)."""

    candidate: Candidate
    src: np.ndarray
    valid: np.ndarray
    mouth_open: float


# -- geometry helpers ---------------------------------------------------------------------
def _border_points(size: int, per_side: int) -> np.ndarray:
    t = np.linspace(-1.0, float(size), per_side + 2)
    lo, hi, mid = np.full_like(t, -1.0), np.full_like(t, float(size)), t[1:-1]
    return np.concatenate([
        np.stack([t, lo], 1), np.stack([t, hi], 1),
        np.stack([lo[1:-1], mid], 1), np.stack([hi[1:-1], mid], 1),
    ])  # fmt: skip


def _delaunay(points: np.ndarray, size: int) -> np.ndarray:
    """Triangles (index triples) of the Delaunay triangulation of 2D points."""
    lo = min(points.min(), -1.0) - 10
    hi = max(points.max(), float(size)) + 10
    subdiv = cv2.Subdiv2D((int(lo), int(lo), int(hi - lo) + 1, int(hi - lo) + 1))
    index = {}
    for i, p in enumerate(points):
        subdiv.insert((float(p[0]), float(p[1])))
        index[(round(float(p[0]), 2), round(float(p[1]), 2))] = i
    tris = []
    for t in subdiv.getTriangleList():
        keys = [(round(float(t[j]), 2), round(float(t[j + 1]), 2)) for j in (0, 2, 4)]
        if all(k in index for k in keys):
            tris.append([index[k] for k in keys])
    return np.array(tris, np.int64)


def _fan(loop_pts: np.ndarray) -> np.ndarray:
    """Triangles from a loop's centroid to each of its edges: (L, 3, 2)."""
    fan = np.empty((len(loop_pts), 3, 2))
    fan[:, 0] = loop_pts.mean(0)
    fan[:, 1] = loop_pts
    fan[:-1, 2], fan[-1, 2] = loop_pts[1:], loop_pts[0]
    return fan


def _opening(loop_pts: np.ndarray) -> float:
    """Mean height of an opening: its area over its width."""
    x, y = loop_pts[:, 0], loop_pts[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    return float(area / max(np.ptp(x), 1e-6))


def _signed_area(tris: np.ndarray) -> np.ndarray:
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
    ab, ac = b - a, c - a
    return 0.5 * (ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0])


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2×3 similarity (least squares) taking src points onto dst points."""
    m, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32),
                                       method=cv2.LMEDS)  # fmt: skip
    if m is None:
        m = np.hstack([np.eye(2), (dst.mean(0) - src.mean(0))[:, None]])
    return m


def _affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2×3 affine (least squares) taking src points onto dst points."""
    a = np.hstack([src, np.ones((len(src), 1))])
    return np.linalg.solve(a.T @ a, a.T @ dst).T  # normal equations: 3×3, well posed


def _irises_for(model: FlameModel, eye_loops: list[np.ndarray]) -> list[np.ndarray | None]:
    """Per eye loop, the iris vertices skinned to an eye joint nearest to it (None if none)."""
    from codec.prior.gaze import iris_vertices

    irises = [i for i in iris_vertices(model) if len(i)]
    v = model.v_template
    out: list[np.ndarray | None] = []
    for loop in eye_loops:
        centre = v[loop].mean(0)
        near = min(irises, key=lambda i: np.linalg.norm(v[i].mean(0) - centre), default=None)
        inside = near is not None and np.linalg.norm(v[near].mean(0) - centre) < np.ptp(
            v[loop][:, 0])
        out.append(near if inside else None)
    return out


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:, :2].T + m[:, 2]


def _backward_map(ids, src_tris, dst_tris, size, origin=(0, 0)):
    """Per pixel, the source position under its triangle's affine map (identity where none);
    `ids` may be a window of the frame whose top-left corner is `origin`."""
    n = len(dst_tris)
    d0, s0 = dst_tris[:, 0], src_tris[:, 0]
    e = np.stack([dst_tris[:, 1] - d0, dst_tris[:, 2] - d0], axis=2)  # (n, 2, 2) columns e1 e2
    f = np.stack([src_tris[:, 1] - s0, src_tris[:, 2] - s0], axis=2)
    det = e[:, 0, 0] * e[:, 1, 1] - e[:, 0, 1] * e[:, 1, 0]
    ok = np.abs(det) > 1e-9
    inv = np.empty_like(e)  # closed-form 2×2 inverses: far faster than a batched solve
    inv[:, 0, 0], inv[:, 0, 1] = e[:, 1, 1], -e[:, 0, 1]
    inv[:, 1, 0], inv[:, 1, 1] = -e[:, 1, 0], e[:, 0, 0]
    inv /= np.where(ok, det, 1.0)[:, None, None]
    M = np.where(ok[:, None, None], f @ inv, 0)  # src = s0 + M (p - d0)
    t = np.where(ok[:, None], s0 - np.einsum("nij,nj->ni", M, d0), 0)
    # Per triangle the six coefficients of mx = a x + b y + c, my = d x + e y + f (identity
    # for id 0), gathered per pixel by one take along the first axis: 4x faster than
    # fancy indexing, or six takes.
    table = np.empty((n + 1, 6), np.float32)
    table[0] = [1, 0, 0, 0, 1, 0]
    table[1:, 0], table[1:, 1], table[1:, 2] = M[:, 0, 0], M[:, 0, 1], t[:, 0]
    table[1:, 3], table[1:, 4], table[1:, 5] = M[:, 1, 0], M[:, 1, 1], t[:, 1]
    (x0, y0), (h, w) = origin, ids.shape
    per_pixel = np.take(table, ids.ravel(), axis=0).reshape(h, w, 6)
    xs, ys = (g[y0 : y0 + h, x0 : x0 + w] for g in _grid(size))
    mx = per_pixel[..., 0] * xs
    mx += per_pixel[..., 1] * ys
    mx += per_pixel[..., 2]
    my = per_pixel[..., 3] * xs
    my += per_pixel[..., 4] * ys
    my += per_pixel[..., 5]
    return mx, my


_GRIDS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    if size not in _GRIDS:
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
        _GRIDS[size] = (xs, ys)
    return _GRIDS[size]
