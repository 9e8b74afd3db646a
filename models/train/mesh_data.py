"""Training data for the mesh-guided generator: crops and decoded FLAME parameters per clip.

Each clip goes once through the codec's own encoder in params mode (one reference for the
whole clip) and is cached as an .npz. A training pair is two frames of one clip: the source
with its decoded parameters as the reference, the driving frame's parameters truncated to a
random N (the mesh and the code see the same truncation, as on the receiver). The mesh warp
of the pair is computed on the fly by the receiver's own `MeshWarpRenderer` from the source
as a receiver holds it: the crop grown by the reference's margin of the camera frame, softened
there and through the sender's AV1 picture coding (bitstream v6), so the network learns on
exactly the map and the picture it will be given. The cache keeps that picture for the
clip's `REFERENCE_FRAMES` frames that serve as references. The background's follow levels are the
ones a sender would send for the pair: where its search (`codec/background.py`) comes to
rest against the true driving frame, from the default levels (at inference the net starts
from a warp whose background sits where the sender put it, not at fixed levels). The warp
composes the reference bank a receiver holds at the driving frame (the mouth and eye
pictures the sender had sent by then, decoded by the receiver's own decoder), so the net is
not taught to fill a dark mouth that the bank fills live. A loss
weight map marks the mouth and the eyes, and a second map the face (where the blend mask's
area costs most), both located by the driving frame's landmarks.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import zlib
from collections import deque
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bitstream import BankRegion
from codec.background import BackgroundChooser
from codec.bank import BankPicture, FaceState
from codec.driving import (
    STILL_VIEW,
    DrivingState,
    follow_shares,
    view_between,
    view_from_levels,
    view_levels,
)
from codec.prior.params import FaceParams, landmarks_in_crop
from codec.render.base import split_reference
from codec.render.meshwarp import MeshWarpRenderer
from models.inputs import expression_code, pixel_map_to_grid

REFERENCE_FRAMES = 24  # frames per clip kept with their reference picture (grown crop)
CODE_DIMS_CHOICES = (0, 5, 10, 20, 50)  # the codec's usual N; half the samples draw these
REGIONS = {"mouth": range(48, 68), "left_eye": range(36, 42), "right_eye": range(42, 48)}


@dataclass
class ParamClip:
    name: str
    crops: np.ndarray  # (F, S, S, 3) uint8
    beta: np.ndarray  # (B,) the reference's identity
    psi: np.ndarray  # (F, E)
    pose: np.ndarray  # (F, 5, 3)
    scale: np.ndarray  # (F,)
    trans: np.ndarray  # (F, 3)
    bank: list[BankPicture] = field(default_factory=list)  # as the receiver decoded them
    bank_from: list[int] = field(default_factory=list)  # the frame each arrived with
    # (F, 3) the crop's box in the camera frame (cx, cy, side): the view between two frames
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    # (R, S + 2m, S + 2m, 3) the frames that serve as references, each as a sender would send
    # it (the crop grown by the reference's margin, softened there), and (R,) their indices
    canvases: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0, 3), np.uint8))
    canvas_frames: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def params(self, i: int, n: int | None = None) -> FaceParams:
        psi = self.psi[i] if n is None else self.psi[i, :n]
        return FaceParams(self.beta, psi, self.pose[i], float(self.scale[i]), self.trans[i],
                          self.crops.shape[1])

    def bank_at(self, j: int) -> list[BankPicture]:
        """The bank a receiver holds at frame j: per slot, the last picture sent by then."""
        held = {p.slot: p for p, start in zip(self.bank, self.bank_from, strict=True)
                if start <= j}
        return list(held.values())

    def canvas(self, i: int) -> np.ndarray:
        """Frame i's reference picture as a sender sends it: with its margin where the cache
        kept one, else the bare crop."""
        kept = np.flatnonzero(self.canvas_frames == i)
        return self.canvases[kept[0]] if len(kept) else self.crops[i]

    def arrays(self) -> dict[str, Any]:
        """The clip as plain arrays for an .npz cache (never pickled objects)."""
        bank, size = self.bank, self.crops.shape[1]

        def column(values, dtype, *shape: int) -> np.ndarray:  # keeps its shape when empty
            return np.array(list(values), dtype).reshape(len(bank), *shape)

        return {
            "crops": self.crops, "beta": self.beta, "psi": self.psi, "pose": self.pose,
            "scale": self.scale, "trans": self.trans, "boxes": self.boxes,
            "canvases": self.canvases, "canvas_frames": self.canvas_frames,
            "bank_from": np.asarray(self.bank_from, np.int64),
            "bank_canvas": column((p.canvas for p in bank), np.uint8, size, size, 3),
            "bank_slot": column((p.slot for p in bank), np.int64),
            "bank_region": column((int(p.region) for p in bank), np.int64),
            "bank_box": column((p.box for p in bank), np.int64, 4),
            "bank_psi": column((p.params.psi for p in bank), np.float32,
                               len(bank[0].params.psi) if bank else self.psi.shape[1]),
            "bank_pose": column((p.params.pose for p in bank), np.float32, *self.pose.shape[1:]),
            "bank_scale": column((p.params.scale for p in bank), np.float32),
            "bank_trans": column((p.params.trans for p in bank), np.float32, 3),
            "bank_state": column(((p.state.mouth, p.state.width, p.state.eyes) for p in bank),
                                 np.float64, 3),
        }  # fmt: skip

    @classmethod
    def from_arrays(cls, name: str, z) -> ParamClip:
        clip = cls(name, *(z[k] for k in ("crops", "beta", "psi", "pose", "scale", "trans")))
        clip.boxes, clip.canvases, clip.canvas_frames = (z[k] for k in
                                                         ("boxes", "canvases", "canvas_frames"))
        size = clip.crops.shape[1]
        for k, start in enumerate(z["bank_from"]):
            params = FaceParams(clip.beta, z["bank_psi"][k], z["bank_pose"][k],
                                float(z["bank_scale"][k]), z["bank_trans"][k], size)
            x, y, w, h = (int(v) for v in z["bank_box"][k])
            mouth, width, eyes = (float(v) for v in z["bank_state"][k])
            region = BankRegion(int(z["bank_region"][k]))
            clip.bank.append(BankPicture(int(z["bank_slot"][k]), region, (x, y, w, h),
                                         z["bank_canvas"][k], params,
                                         FaceState(mouth, width, eyes)))  # fmt: skip
            clip.bank_from.append(int(start))
        return clip


def held_out(model) -> set[str]:
    """Clip names the prior held out: the validation set, never trained on."""
    return set(model.meta.get("held_out_clips", []))


def prepare_param_clip(model, video: Path, expr_dims: int, cache: Path, frames: int,
                       stride: int) -> ParamClip | None:
    key = hashlib.sha1(f"{video.resolve()}|{video.stat().st_size}|{frames}|{stride}|"
                       f"{expr_dims}|{model.prior_id}|params+bank+boxes+canvases".encode()).hexdigest()[:12]
    path = cache / f"{video.stem}-{key}.npz"
    if path.is_file():
        with np.load(path) as z:
            return ParamClip.from_arrays(video.stem, z)
    clip = _encode(model, video, expr_dims, frames, stride)
    if clip is not None:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.npz")
        np.savez(tmp, **clip.arrays())
        tmp.replace(path)
    return clip


def _encode(model, video: Path, expr_dims: int, frames: int, stride: int) -> ParamClip | None:
    """The clip through the sender's encoder; its bank pictures through the receiver's
    decoder (Hello and References only: nothing is rendered)."""
    from bitstream import PacketType, packet_type
    from codec.config import EncoderConfig, without_refresh
    from codec.decoder import Decoder
    from codec.encoder import Encoder
    from codec.video import read_frames, video_fps

    config = without_refresh(EncoderConfig(mode="params", expr_dims=expr_dims))
    encoder = Encoder(model, config, video_fps(video) / stride)
    decoder = Decoder(model, _NoPictures())
    crops, canvases, rows, boxes = [], [], [], []
    bank: list[BankPicture] = []
    bank_from: list[int] = []
    try:
        for frame in read_frames(video, max_frames=frames, stride=stride):
            out = encoder.encode(frame)
            for packet in out.packets:
                if packet_type(packet) != PacketType.MOTION:
                    decoder.push(packet)
            if out.decoded is not None and out.box is not None:
                crops.append(out.crop)
                canvases.append(_reference_picture(frame, out.box, out.crop, config))
                rows.append(out.decoded.params)
                boxes.append((out.box.cx, out.box.cy, out.box.side))
            for picture in decoder.bank.values():
                if crops and not any(picture is p for p in bank):
                    bank.append(picture)
                    bank_from.append(len(crops) - 1)
    finally:
        encoder.finish()
    if len(rows) < 2:
        return None
    psi = np.zeros((len(rows), expr_dims), np.float32)
    for i, p in enumerate(rows):
        psi[i, : len(p.psi)] = p.psi
    beta = rows[0].beta.astype(np.float32)
    rng = np.random.default_rng(zlib.crc32(video.stem.encode()))
    picks = np.sort(rng.choice(len(rows), min(REFERENCE_FRAMES, len(rows)), replace=False))
    return ParamClip(video.stem, np.stack(crops), beta, psi,
                     np.stack([p.pose for p in rows]).astype(np.float32),
                     np.array([p.scale for p in rows], np.float32),
                     np.stack([p.trans for p in rows]).astype(np.float32),
                     bank, bank_from, np.array(boxes, np.float32),
                     np.stack([canvases[i] for i in picks]), picks.astype(np.int64))  # fmt: skip


def _reference_picture(frame: np.ndarray, box, crop: np.ndarray, config) -> np.ndarray:
    """The picture the sender would send were this frame its reference (`Encoder`): the
    crop grown by the configured margin of the frame, softened there."""
    from codec.picture import soften_margin
    from codec.prior.crop import grown_crop

    margin = round(config.reference_margin * crop.shape[0])
    if not margin:
        return crop
    return soften_margin(grown_crop(frame, box, crop.shape[0], margin), margin)


class _NoPictures:
    """The decoder's renderer while preparing data: the pictures are what is kept, and
    no frame is drawn."""

    name = "none"

    def set_reference(self, picture: np.ndarray, params: FaceParams) -> None:
        pass

    def render(self, driving: DrivingState) -> np.ndarray:
        raise RuntimeError("data preparation renders no frames")


def region_weights(lmk: np.ndarray, size: int, weight: float = 4.0) -> np.ndarray:
    """(S, S) float32: 1 everywhere, 1 + weight over the mouth and eyes (slightly dilated);
    `lmk` the frame's 68 landmarks (crop px)."""
    mask = np.zeros((size, size), np.uint8)
    for ids in REGIONS.values():
        hull = cv2.convexHull(lmk[list(ids)].astype(np.float32)).astype(np.int32)
        cv2.fillConvexPoly(mask, hull, 1)
    grown = cv2.dilate(mask, np.ones((9, 9), np.uint8))
    return 1.0 + weight * grown.astype(np.float32)


def as_received(crop: np.ndarray, codec: str = "av1", quality: int | None = None) -> np.ndarray:
    """A reference picture as a receiver holds it: through the sender's picture codec at its
    default quality, so training sees the same coding artefacts the live warp starts from."""
    from codec.config import EncoderConfig
    from codec.picture import decode_picture, encode_picture

    q = EncoderConfig().picture_quality if quality is None else quality
    return decode_picture(encode_picture(crop, codec, q), codec, crop.shape[0])


def face_map(lmk: np.ndarray, size: int) -> np.ndarray:
    """(S, S) float32: 1 over the face (the 68 landmarks' hull, `lmk` in crop px) except
    inside the lips, else 0.
    AKD and the eyes are read there, where the warp is right and a correction must pay its
    way; the band the head uncovers, hair, background and teeth are where the warp is wrong
    (the training config prices the blend mask on each)."""
    face = np.zeros((size, size), np.float32)
    cv2.fillConvexPoly(face, cv2.convexHull(lmk.astype(np.float32)).astype(np.int32), 1.0)
    cv2.fillConvexPoly(face, cv2.convexHull(lmk[60:68].astype(np.float32)).astype(np.int32), 0.0)
    return face


def mesh_sample(model, renderer: MeshWarpRenderer, clip: ParamClip, i: int, j: int, n: int,
                expr_max: int, source: np.ndarray | None = None,
                background: BackgroundChooser | None = None) -> dict[str, np.ndarray]:
    """One pair: source i (`source`: its reference picture as received, else as sent) drives
    to frame j with ψ truncated to n dims; with `background`, the follow levels and the view
    (how the crop moved between the two, where the scenery held still) a sender would choose
    for the pair, else the fixed levels and no view. The network's source is the picture's
    crop; the warp also reaches into its margin."""
    picture = clip.canvas(i) if source is None else source
    renderer.set_reference(picture, clip.params(i))
    renderer.set_bank(clip.bank_at(j))
    driving = DrivingState(j, 0.0, 0, clip.params(j, n), None)
    if background is not None:
        view = STILL_VIEW
        if len(clip.boxes):
            view = view_from_levels(view_levels(view_between(clip.boxes[i], clip.boxes[j])))
        background.set_reference(clip.canvas(i), clip.params(i))
        follow = follow_shares(background.settle(clip.crops[j], replace(driving, view=view)))
        view = background.view
        driving = DrivingState(j, 0.0, 0, driving.params, None, follow=follow, view=view)
    warped, maps = renderer.render_with_map(driving)
    size, lmk = clip.crops.shape[1], landmarks_in_crop(model, driving.params)[:, :2]
    return {
        "source": split_reference(picture, size)[0], "warped": warped, "driving": clip.crops[j],
        "grid": pixel_map_to_grid(maps, size).astype(np.float32),
        "code": expression_code(driving.params, expr_max),
        "weight": region_weights(lmk, size),
        "face": face_map(lmk, size),
    }  # fmt: skip


class MeshPairSampler:
    """Random mesh-warped pairs, a batch prepared in a thread while the last one trains.

    A call's references are a few frames, each decoded from its picture codec: here each
    clip offers the frames its cache kept reference pictures for (else `sources` random
    ones, their bare crops), each coded once (lazily) with `codec` (None: as sent), and any
    frame of the clip as the driving one.

    One background thread keeps a CPU run fed; a GPU wants `workers` processes (forked, the
    clips shared copy-on-write), each with its own mesh warp and seed, that many batches in
    flight. `python -m models.train.mesh_data` measures pairs/s."""

    def __init__(self, model, clips: list[ParamClip], expr_max: int, seed: int = 0,
                 codec: str | None = "av1", sources: int | list = 24, workers: int = 0):
        self.model, self.clips, self.expr_max, self.codec = model, clips, expr_max, codec
        self.rng = np.random.default_rng(seed)
        self.sources = sources if isinstance(sources, list) else [
            c.canvas_frames if len(c.canvas_frames) else
            np.sort(self.rng.choice(len(c.crops), min(sources, len(c.crops)), replace=False))
            for c in clips]
        self.received: dict[tuple[int, int], np.ndarray] = {}
        self.renderer = MeshWarpRenderer(model)
        self.background = BackgroundChooser(model)
        self.pool: Executor = ThreadPoolExecutor(1)
        if workers:
            self.pool = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker, initargs=(self, seed))
        self.pending: deque[Future] = deque()
        self.depth = max(1, workers)

    def sample(self, batch: int) -> dict[str, np.ndarray]:
        work = _worker_batch if isinstance(self.pool, ProcessPoolExecutor) else self._batch
        while len(self.pending) < self.depth + 1:
            self.pending.append(self.pool.submit(work, batch))
        return self.pending.popleft().result()

    def _batch(self, batch: int) -> dict[str, np.ndarray]:
        rows = []
        for _ in range(batch):
            k = int(self.rng.integers(len(self.clips)))
            clip = self.clips[k]
            i, j = int(self.rng.choice(self.sources[k])), int(self.rng.integers(len(clip.crops)))
            n = (int(self.rng.choice(CODE_DIMS_CHOICES)) if self.rng.random() < 0.5
                 else int(self.rng.integers(0, self.expr_max + 1)))
            rows.append(mesh_sample(self.model, self.renderer, clip, i, j, min(n, self.expr_max),
                                    self.expr_max, self._received(k, i), self.background))
        arrays = {key: np.stack([r[key] for r in rows]) for key in rows[0]}
        for key in ("source", "warped", "driving"):
            arrays[key] = arrays[key].transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        return arrays

    def _received(self, k: int, i: int) -> np.ndarray | None:
        if self.codec is None:
            return None
        if (k, i) not in self.received:
            self.received[k, i] = as_received(self.clips[k].canvas(i), self.codec)
        return self.received[k, i]

    def __getstate__(self):
        raise TypeError("a MeshPairSampler is shared with its workers by fork, never pickled")


_WORKER: dict = {}


def _start_worker(parent: MeshPairSampler, seed: int) -> None:
    """In a forked worker: a sampler over the parent's clips and sources, its own seed."""
    _WORKER["sampler"] = MeshPairSampler(parent.model, parent.clips, parent.expr_max,
                                         seed + 1 + os.getpid(), parent.codec, parent.sources)


def _worker_batch(batch: int) -> dict[str, np.ndarray]:
    return _WORKER["sampler"]._batch(batch)


def main(argv: list[str] | None = None) -> int:
    """Pairs per second the sampler delivers, on the dev clips in a prepared cache."""
    import argparse
    import time

    from codec.prior.flame_io import load_prior

    p = argparse.ArgumentParser(prog="python -m models.train.mesh_data", description=main.__doc__)
    p.add_argument("cache", type=Path, help="a training run's prepared clips (RUN/data)")
    p.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--batches", type=int, default=6)
    p.add_argument("--clips", type=int, default=8)
    args = p.parse_args(argv)
    clips = []
    for path in sorted(args.cache.glob("*.npz"))[: args.clips]:
        with np.load(path) as z:
            clips.append(ParamClip.from_arrays(path.stem, z))
    model = load_prior()
    for workers in args.workers:
        sampler = MeshPairSampler(model, clips, 50, codec=None, workers=workers)
        sampler.sample(args.batch)  # warm-up: workers started, first batches in flight
        t = time.perf_counter()
        for _ in range(args.batches):
            sampler.sample(args.batch)
        rate = args.batch * args.batches / (time.perf_counter() - t)
        print(f"workers {workers}: {rate:.1f} pairs/s (batch {args.batch}, raw references)")
        sampler.pool.shutdown(cancel_futures=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
