"""Where rendered frames go: a video file, an OpenCV window, the receiver's web page.

A sink gets every rendered frame with its frame number in the current stream; `new_stream`
marks a sender (re)joining, whose frame numbers start again from 0.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

import cv2
import numpy as np


class SinkError(Exception):
    """A sink that cannot work here (no display for a window, unwritable file)."""


class FrameSink(Protocol):
    def new_stream(self, fps: float) -> None: ...

    def frame(self, seq: int, image: np.ndarray) -> None: ...

    def close(self) -> None: ...


class FileSink:
    """Writes one output frame per stream frame: a frame that never came repeats the last."""

    def __init__(self, path, fps: float = 25.0):
        from codec.video import VideoWriter

        self.path, self.fps, self._writer_cls = path, fps, VideoWriter
        self.writer: VideoWriter | None = None
        self.next_seq: int | None = None  # None until a stream's first frame
        self.last: np.ndarray | None = None
        self.written = 0

    def new_stream(self, fps: float) -> None:
        self.next_seq = None
        if self.writer is None:
            self.fps = fps

    def frame(self, seq: int, image: np.ndarray) -> None:
        writer = self._open()
        if self.next_seq is None:  # a receiver that joins late starts where the stream is
            self.next_seq = seq
        while self.next_seq < seq:
            self._write(writer, image if self.last is None else self.last)
        if seq >= self.next_seq:
            self._write(writer, image)
        self.last = image

    def _open(self):
        if self.writer is None:
            try:
                self.writer = self._writer_cls(self.path, self.fps)
            except Exception as exc:
                raise SinkError(f"cannot write {self.path}: {exc}") from None
        return self.writer

    def _write(self, writer, image: np.ndarray) -> None:
        writer.write(image)
        self.next_seq = (self.next_seq or 0) + 1
        self.written += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class WindowSink:
    """An OpenCV window (needs a display)."""

    def __init__(self, title: str = "facecodec receiver"):
        if os.name != "nt" and not os.environ.get("DISPLAY") and not os.environ.get(
            "WAYLAND_DISPLAY"
        ):
            raise SinkError("--view needs a display; use --http PORT or --out FILE.mp4")
        self.title = title

    def new_stream(self, fps: float) -> None:
        pass

    def frame(self, seq: int, image: np.ndarray) -> None:
        cv2.imshow(self.title, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        cv2.waitKey(1)

    def close(self) -> None:
        cv2.destroyAllWindows()


class LatestFrame:
    """Keeps the newest frame for a web page, coded as JPEG only when a viewer asks (a host
    with many calls and no viewers spends nothing on it); the renderer never waits."""

    def __init__(self, quality: int = 85):
        self.quality = quality
        self.image: np.ndarray | None = None
        self.seq = -1
        self.lock = threading.Lock()
        self._coded: tuple[int, bytes] | None = None  # (seq, JPEG) last asked for

    def new_stream(self, fps: float) -> None:
        pass

    def frame(self, seq: int, image: np.ndarray) -> None:
        with self.lock:
            self.image, self.seq = image, seq

    def jpeg(self) -> bytes | None:
        """The newest frame as JPEG, or None before the first."""
        with self.lock:
            image, seq, coded = self.image, self.seq, self._coded
        if image is None:
            return None
        if coded is not None and coded[0] == seq:
            return coded[1]
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            return None
        self._coded = (seq, buf.tobytes())
        return self._coded[1]

    def close(self) -> None:
        pass
