"""Reading video files as RGB uint8 frames, with one clear error for an unreadable file."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

# What `build-prior`, `train` and the benchmarks take for a video when given a folder.
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mpg", ".mpeg", ".avi", ".mkv", ".webm"})


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class Clip:
    path: Path
    person: str

    @property
    def name(self) -> str:
        return self.path.stem


def list_clips(videos: Path) -> list[Clip]:
    """Videos in a folder; people from MANIFEST.tsv ('file', 'person') when it is there."""
    people = {}
    manifest = videos / "MANIFEST.tsv"
    if manifest.is_file():
        with manifest.open(newline="") as fh:
            people = {row["file"]: row["person"] for row in csv.DictReader(fh, delimiter="\t")}
    files = sorted(p for p in videos.iterdir() if is_video(p))
    return [Clip(p, people.get(p.name, p.stem)) for p in files]


class VideoError(Exception):
    """A video file cannot be opened or decoded."""


def video_fps(path: str | Path) -> float:
    """Frames per second of the first video stream (25 when the container does not say)."""
    with _open(path) as container:
        rate = container.streams.video[0].average_rate
    return float(rate) if rate else 25.0


def read_frames(
    path: str | Path, max_frames: int | None = None, stride: int = 1
) -> Iterator[np.ndarray]:
    """Yield RGB uint8 frames; every `stride`-th frame, at most `max_frames` of them."""
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        n = 0
        try:
            for i, frame in enumerate(container.decode(stream)):
                if i % stride:
                    continue
                yield frame.to_ndarray(format="rgb24")
                n += 1
                if max_frames is not None and n >= max_frames:
                    return
        except av.error.FFmpegError as exc:
            if n == 0:
                raise VideoError(f"{path}: cannot decode video ({exc})") from None
            # A corrupt tail: keep what decoded, as a player would.


def _open(path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, ValueError) as exc:
        raise VideoError(f"{path}: not a readable video ({exc})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: has no video stream")
    return container


def video_frame_count(path: str | Path) -> int:
    """Frames the container declares (0 when it does not say)."""
    with _open(path) as container:
        return int(container.streams.video[0].frames or 0)


class VideoWriter:
    """RGB frames -> an H.264 (or any PyAV-supported codec) file; sizes must stay the same."""

    def __init__(self, path: str | Path, fps: float = 25.0, codec: str = "libx264", crf: int = 18):
        from fractions import Fraction

        self.path = Path(path)
        try:
            self.container = av.open(str(self.path), "w")
        except (av.error.FFmpegError, ValueError) as exc:
            raise VideoError(f"{path}: cannot write video ({exc})") from None
        self.rate = Fraction(fps).limit_denominator(1001)
        self.codec, self.crf = codec, crf
        self.stream: av.VideoStream | None = None
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        stream = self.stream or self._open_stream(*rgb.shape[:2])
        h, w = stream.height, stream.width
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h, :w]), format="rgb24")
        for packet in stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def _open_stream(self, h: int, w: int) -> av.VideoStream:
        stream = self.container.add_stream(self.codec, rate=self.rate)
        if not isinstance(stream, av.VideoStream):
            raise VideoError(f"{self.codec} is not a video codec")
        stream.width, stream.height = w - w % 2, h - h % 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(self.crf)}
        self.stream = stream
        return stream

    def close(self) -> None:
        if self.stream is not None:
            for packet in self.stream.encode():
                self.container.mux(packet)
        self.container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
