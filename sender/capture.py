"""Frame sources for the live sender: a webcam, a video file, or the synthetic talking head.

Each yields RGB uint8 frames and knows its frame rate; pacing is the sender's job.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np


class CaptureError(Exception):
    """A source that cannot give frames (no camera at that index, unreadable file)."""


class FrameSource(Protocol):
    name: str
    fps: float
    skipped: int  # frames the source had and the sender never took (a camera's, when late)

    def frames(self) -> Iterator[np.ndarray]:
        """RGB uint8 frames until the source ends (a camera never does)."""


class CameraSource:
    """A webcam read on its own thread that keeps only the newest picture.

    OpenCV queues up to four frames in the driver: a sender that fell behind would landmark
    and send pictures 160 ms old at 25 fps. Here it always takes the newest one, and the frames
    it never took are counted (`skipped`), dropped before they cost anything."""

    def __init__(self, index: int = 0, capture=None):
        self.cap = capture if capture is not None else cv2.VideoCapture(index)
        if not self.cap.isOpened():
            raise CaptureError(f"camera {index} is not available; try --video FILE")
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if 1 <= fps <= 120 else 30.0
        self.name = f"camera {index}"
        self.skipped = 0
        self._new = threading.Condition()
        self._latest: tuple[int, np.ndarray] | None = None
        self._reading = False

    def frames(self) -> Iterator[np.ndarray]:
        self._reading = True
        reader = threading.Thread(target=self._read, name="camera", daemon=True)
        reader.start()
        taken = 0
        try:
            while True:
                with self._new:
                    self._new.wait_for(partial(self._ready, taken))
                    if not self._newer_than(taken):
                        return
                    assert self._latest is not None
                    seq, bgr = self._latest
                self.skipped += seq - taken - 1
                taken = seq
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            with self._new:
                self._reading = False
            reader.join(timeout=2.0)
            self.cap.release()

    def _ready(self, taken: int) -> bool:
        return not self._reading or self._newer_than(taken)

    def _newer_than(self, seq: int) -> bool:
        return self._latest is not None and self._latest[0] > seq

    def _read(self) -> None:
        seq = 0
        while self._reading:
            ok, bgr = self.cap.read()
            with self._new:
                if ok:
                    seq += 1
                    self._latest = (seq, bgr)
                else:
                    self._reading = False
                self._new.notify_all()


class FileSource:
    def __init__(self, path: str | Path, loop: bool = False):
        from codec.video import VideoError, read_frames, video_fps

        try:
            self.fps = video_fps(path)
            next(read_frames(path, max_frames=1))
        except (VideoError, StopIteration) as exc:
            raise CaptureError(str(exc) or f"{path}: no frames") from None
        self.path, self.loop, self.name = Path(path), loop, str(path)
        self.skipped = 0  # a file waits for the sender: nothing is skipped
        self._read = read_frames

    def frames(self) -> Iterator[np.ndarray]:
        while True:
            yield from self._read(self.path)
            if not self.loop:
                return


class SyntheticSource:
    """The built-in synthetic talking head (no camera, no file needed).

    It stands in for a camera, which costs a sender next to nothing per frame; drawing the
    head costs 8-14 ms on a laptop core, work a real call would never do. So each of the
    `cycle` frames is drawn once (`prerender()` draws them all before a call) and the cycle
    is played forward, then backward, so the loop has no jump."""

    def __init__(self, model, fps: float = 25.0, seed: int = 0, cycle: int = 150):
        from codec.synthetic import SyntheticConfig, TalkingHead

        if cycle < 2:
            raise ValueError(f"the synthetic head's cycle needs 2 frames or more, got {cycle}")
        self.head = TalkingHead(model, SyntheticConfig(fps=fps, seed=seed))
        self.phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, 6)
        self.fps, self.name = fps, "synthetic talking head"
        self.cycle = cycle
        self.skipped = 0
        self._drawn: list[np.ndarray] = []

    def frames(self) -> Iterator[np.ndarray]:
        for i in itertools.count():
            yield self._frame(_back_and_forth(i, self.cycle))

    def prerender(self) -> None:
        """Draw the whole cycle now, so the call later costs no drawing."""
        while len(self._drawn) < self.cycle:
            self._frame(len(self._drawn))

    def _frame(self, k: int) -> np.ndarray:
        if k == len(self._drawn):  # frames are first asked for in order
            frame = self.head.render(self.head.params_at(k / self.fps, self.phase))
            frame.flags.writeable = False  # shared by every pass of the cycle
            self._drawn.append(frame)
        return self._drawn[k]


def _back_and_forth(i: int, n: int) -> int:
    """0, 1, ..., n-1, n-2, ..., 1, 0, 1, ...: a loop of n frames with no jump."""
    k = i % (2 * n - 2)
    return k if k < n else 2 * n - 2 - k


def camera_present(index: int = 0) -> bool:
    from codec.quiet import quiet_stderr

    with quiet_stderr():  # OpenCV logs a warning for every absent camera
        cap = cv2.VideoCapture(index)
    try:
        return bool(cap.isOpened())
    finally:
        cap.release()
