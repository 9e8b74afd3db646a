"""Training data: face crops and the codec's decoded motion per frame, cached per clip.

Each clip goes through the codec's own encoder once (crop tracking, prior fit, keypoints,
quantization, with one reference for the whole clip), as the paper precomputes its prior
outputs, and is stored as an .npz beside the run. Pairs (source, driving) are two frames
of the same clip.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from codec.video import VIDEO_SUFFIXES, is_video
from models.config import NetConfig
from models.inputs import jacobian, motion_input


@dataclass
class Clip:
    name: str
    crops: np.ndarray  # (F, S, S, 3) uint8
    keypoints: np.ndarray  # (F, K, 3)
    rotation: np.ndarray  # (F, 3, 3)
    scale: np.ndarray  # (F,)
    code: np.ndarray  # (F, expr_max + 3)


def list_videos(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of videos")
    videos = sorted(p for p in folder.iterdir() if is_video(p))
    if not videos:
        raise FileNotFoundError(f"{folder}: no videos ({', '.join(sorted(VIDEO_SUFFIXES))})")
    return videos


def prepare_clip(model, video: Path, config: NetConfig, cache: Path, frames: int,
                 stride: int) -> Clip | None:
    """The clip from the cache, or encoded now and cached; None when no face was found."""
    key = hashlib.sha1(f"{video.resolve()}|{video.stat().st_size}|{frames}|{stride}|"
                       f"{config.size}|{config.keypoints}|{config.expr_max}|"
                       f"{model.prior_id}".encode()).hexdigest()[:12]
    path = cache / f"{video.stem}-{key}.npz"
    if path.is_file():
        with np.load(path) as z:
            return Clip(video.stem, *(z[k] for k in ("crops", "keypoints", "rotation", "scale",
                                                     "code")))
    clip = _encode(model, video, config, frames, stride)
    if clip is not None:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.npz")  # torchrun ranks race here
        np.savez(tmp, crops=clip.crops, keypoints=clip.keypoints, rotation=clip.rotation,
                 scale=clip.scale, code=clip.code)
        tmp.replace(path)
    return clip


def _encode(model, video: Path, config: NetConfig, frames: int, stride: int) -> Clip | None:
    from codec.config import EncoderConfig, without_refresh
    from codec.encoder import Encoder
    from codec.video import read_frames, video_fps

    enc_config = without_refresh(EncoderConfig(mode="keypoints", keypoints=config.keypoints,
                                               expr_dims=config.expr_max))
    encoder = Encoder(model, enc_config, video_fps(video))
    rows, crops = [], []
    try:
        for frame in read_frames(video, max_frames=frames, stride=stride):
            out = encoder.encode(frame)
            if out.decoded is None:
                continue
            ref = encoder.ref
            assert ref is not None  # a decoded frame has a reference
            m = motion_input(model, ref, out.decoded.params, config.keypoints, config.expr_max,
                             out.decoded.keypoints)
            rows.append(m)
            crops.append(cv2.resize(out.crop, (config.size, config.size),
                                    interpolation=cv2.INTER_AREA))
    finally:
        encoder.finish()
    if len(rows) < 2:
        return None
    return Clip(video.stem, np.stack(crops), np.stack([r.keypoints for r in rows]),
                np.stack([r.rotation for r in rows]), np.array([r.scale for r in rows],
                np.float32), np.stack([r.code for r in rows]))  # fmt: skip


class PairSampler:
    """Random (source, driving) pairs from one clip each, as float32 arrays."""

    def __init__(self, clips: list[Clip], seed: int = 0):
        self.clips = clips
        self.rng = np.random.default_rng(seed)

    def sample(self, batch: int) -> dict[str, np.ndarray]:
        out: dict[str, list] = {k: [] for k in ("source", "driving", "kp_s", "kp_d", "jac",
                                                "code")}
        for _ in range(batch):
            clip = self.clips[self.rng.integers(len(self.clips))]
            i, j = self.rng.integers(len(clip.crops), size=2)
            s, d = _row(clip, i), _row(clip, j)
            out["source"].append(clip.crops[i])
            out["driving"].append(clip.crops[j])
            out["kp_s"].append(s.keypoints)
            out["kp_d"].append(d.keypoints)
            out["jac"].append(jacobian(s, d))
            out["code"].append(d.code)
        arrays = {k: np.stack(v) for k, v in out.items()}
        for k in ("source", "driving"):
            arrays[k] = arrays[k].transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        return arrays


def _row(clip: Clip, i: int):
    from models.inputs import MotionInput

    return MotionInput(clip.keypoints[i], clip.rotation[i], float(clip.scale[i]), clip.code[i])
