"""Frame sources for the live sender: a webcam, a video file, or the synthetic talking head.

Each yields RGB uint8 frames and knows its frame rate; pacing is the sender's job.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np


class CaptureError(Exception):
    """A source that cannot give frames (no camera at that index, unreadable file)."""


class FrameSource(Protocol):
    name: str
    fps: float

    def frames(self) -> Iterator[np.ndarray]:
        """RGB uint8 frames until the source ends (a camera never does)."""


class CameraSource:
    def __init__(self, index: int = 0):
        self.cap = cv2.VideoCapture(index)
        if not self.cap.isOpened():
            raise CaptureError(f"camera {index} is not available; try --video FILE")
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if 1 <= fps <= 120 else 30.0
        self.name = f"camera {index}"

    def frames(self) -> Iterator[np.ndarray]:
        try:
            while True:
                ok, bgr = self.cap.read()
                if not ok:
                    return
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            self.cap.release()


class FileSource:
    def __init__(self, path: str | Path, loop: bool = False):
        from codec.video import VideoError, read_frames, video_fps

        try:
            self.fps = video_fps(path)
            next(read_frames(path, max_frames=1))
        except (VideoError, StopIteration) as exc:
            raise CaptureError(str(exc) or f"{path}: no frames") from None
        self.path, self.loop, self.name = Path(path), loop, str(path)
        self._read = read_frames

    def frames(self) -> Iterator[np.ndarray]:
        while True:
            yield from self._read(self.path)
            if not self.loop:
                return


class SyntheticSource:
    """The built-in synthetic talking head, rendered live (no camera, no file needed)."""

    def __init__(self, model, fps: float = 25.0, seed: int = 0):
        from codec.synthetic import SyntheticConfig, TalkingHead

        self.head = TalkingHead(model, SyntheticConfig(fps=fps, seed=seed))
        self.phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, 6)
        self.fps, self.name = fps, "synthetic talking head"

    def frames(self) -> Iterator[np.ndarray]:
        i = 0
        while True:
            yield self.head.render(self.head.params_at(i / self.fps, self.phase))
            i += 1


def camera_present(index: int = 0) -> bool:
    from codec.quiet import quiet_stderr

    with quiet_stderr():  # OpenCV logs a warning for every absent camera
        cap = cv2.VideoCapture(index)
    try:
        return bool(cap.isOpened())
    finally:
        cap.release()
