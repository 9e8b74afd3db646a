"""Frame sources (sender/capture.py): a camera read on its own thread hands the sender its
newest picture and counts the ones it skipped."""

import threading
import time

import numpy as np
import pytest

from codec.prior.flame_io import load_prior
from sender.capture import CameraSource, CaptureError, SyntheticSource


class FakeCamera:
    """cv2.VideoCapture's surface: `read()` blocks until the test lets one more frame out,
    as a real camera blocks until its next exposure; each frame's pixels hold its number."""

    def __init__(self, opened: bool = True):
        self.opened, self.released = opened, False
        self.gate = threading.Semaphore(0)
        self.read_count = 0
        self.ended = False

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return self.opened

    def get(self, _prop) -> float:
        return 25.0

    def read(self):
        self.gate.acquire()
        if self.ended:
            return False, None
        self.read_count += 1
        return True, np.full((4, 4, 3), self.read_count, np.uint8)

    def release(self) -> None:
        self.released = True

    def let_out(self, n: int) -> None:
        target = self.read_count + n
        for _ in range(n):
            self.gate.release()
        _wait_for(lambda: self.read_count >= target, "the camera thread to read the frames")

    def end(self) -> None:
        self.ended = True
        self.gate.release()


def _wait_for(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.005)


def test_a_late_sender_gets_the_newest_frame_and_the_rest_are_counted():
    fake = FakeCamera()
    source = CameraSource(capture=fake)
    frames = source.frames()
    fake.gate.release()  # the first frame; its reader starts with the sender's first take
    assert next(frames)[0, 0, 0] == 1 and source.skipped == 0
    fake.let_out(5)  # the sender was busy for five frame times
    _wait_for(lambda: source._newer_than(5), "frame 6 to be the newest")
    assert next(frames)[0, 0, 0] == 6 and source.skipped == 4
    fake.let_out(1)
    assert next(frames)[0, 0, 0] == 7 and source.skipped == 4
    fake.end()
    assert next(frames, None) is None  # the camera stopped: the source ends
    assert fake.released


def test_a_camera_that_is_not_there_is_a_clear_error():
    with pytest.raises(CaptureError, match="camera 3 is not available"):
        CameraSource(3, capture=FakeCamera(opened=False))


def test_the_synthetic_head_is_drawn_once_and_loops_back_and_forth():
    model = load_prior(None)
    source = SyntheticSource(model, cycle=4)
    frames = source.frames()
    first = [next(frames) for _ in range(4)]
    assert len(source._drawn) == 4
    again = [next(frames) for _ in range(6)]  # 2, 1, 0, 1, 2, 3: no jump at either end
    assert all(a is first[i] for a, i in zip(again, (2, 1, 0, 1, 2, 3), strict=True))
    assert not first[0].flags.writeable  # shared by every pass
    fresh = SyntheticSource(model, cycle=3)
    fresh.prerender()
    assert len(fresh._drawn) == 3
