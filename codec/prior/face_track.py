"""Landmarks and a stable face crop for every frame of a stream.

Detection runs on the crop (cheap, and the face is big in it); the full frame is searched only
to find the face at the start or after it was lost.

Each crop is looked at twice: by MediaPipe in tracking mode, whose region of interest follows
its own last answer (so its error persists from frame to frame, and on the held-out clips its
nose moved 1.7 px away from where dlib saw the nose move), and by the mesh on the region where
the crop tracker put the face (level with the tracked region), which does not follow any
answer of the mesh's. Their mean agrees with dlib better than either: first measured with a
fresh single-picture detection as the second look (nose 1.32 px, eyes 1.01, mouth 1.40
against 1.66, 1.07, 1.43; benchmarks/results/fit_experiments.md). The crop's region does as
well without running the face detector on every frame (held-out clips, 250 frames: AKD 1.224
-> 1.205 px; benchmarks/results/lighter_sender/). The two looks are independent, so the
second runs on another thread while the tracked one runs here (onnxruntime lets go of the
GIL).

What the second look adds is mostly a steady offset from the tracked one (the two regions'
disagreement moves slowly), so it runs on one frame in `SECOND_EVERY` while the crop box holds
still, and the frames between add its last offset to their tracked look: the landmarks' CPU
10.3-10.9 -> 6.4-7.5 ms a frame on dagan_driving, held-out AKD 1.205 -> 1.208 px
(benchmarks/results/lighter_sender).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from codec.prior.crop import FACE_DROP, CropBox, CropConfig, CropTracker
from codec.prior.facemesh.rect import REGION_SCALE, Rect
from codec.prior.landmarks import LandmarkDetector
from codec.threads import size_for_a_call

SECOND_EVERY = 3  # frames per second look; between them its last offset is carried


@dataclass(frozen=True)
class TrackedFace:
    crop: np.ndarray  # RGB size×size
    landmarks: np.ndarray | None  # (478, 3) in crop pixels, None when no face
    box: CropBox


class FaceTrack:
    """Feed frames in order; get the crop and its landmarks for each (None before any face)."""

    def __init__(self, crop: CropConfig = CropConfig(), second_look: bool = True,
                 second_every: int = SECOND_EVERY):
        if second_every < 1:
            raise ValueError(f"the second look's period must be >= 1 frame, got {second_every}")
        size_for_a_call()  # landmarks that do not depend on which other thread is in OpenCV
        self.config = crop
        self.tracker = CropTracker(crop)
        self._in_crop = LandmarkDetector(tracking=True)
        self._full = LandmarkDetector(tracking=False)  # single pictures: keeps no state
        self._pool = ThreadPoolExecutor(1, "second-look") if second_look else None
        self._second = second_look
        self.second_every = second_every
        self._offset: np.ndarray | None = None  # half the second look's gap from the tracked
        self._offset_box: CropBox | None = None  # the crop the offset was measured in
        self._offset_age = 0

    @property
    def looks(self) -> int:
        """Looks per crop now: 2, or 1 while a busy sender skips the second (never more than
        it was built with)."""
        return 2 if self._second else 1

    @looks.setter
    def looks(self, n: int) -> None:
        self._second = n == 2 and self._pool is not None
        self._offset = None  # measured before the change: not carried over it

    def __call__(self, frame: np.ndarray,
                 on_crop: Callable[[np.ndarray], None] | None = None) -> TrackedFace | None:
        """`on_crop` is called with the crop before it is looked at, when the look leaves the
        other core free (no second look this frame), so work that needs only the crop can run
        there meanwhile; the result holds that very array when the box held still."""
        size = self.config.size
        looked, crop = self.tracker.box, None
        lm_frame = None
        if looked is not None:
            crop = looked.cut(frame, size)
            if on_crop is not None and (not self._second or self._carries(looked)):
                on_crop(crop)
            lm = self._look(crop, looked)
            lm_frame = None if lm is None else looked.to_frame(lm, size)
        if lm_frame is None:
            lm_frame = self._full(frame)
            if lm_frame is not None:
                self.tracker.box = None  # lost or new face: start the crop afresh
        box = self.tracker.update(lm_frame)
        if box is None:
            return None
        landmarks = None if lm_frame is None else box.to_crop(lm_frame, size)
        if crop is None or box != looked:  # mostly the box held still: its crop is cut
            crop = box.cut(frame, size)
        return TrackedFace(crop, landmarks, box)

    def _look(self, crop: np.ndarray, box: CropBox) -> np.ndarray | None:
        if not self._second:
            return self._in_crop(crop)
        if self._carries(box):
            assert self._offset is not None
            tracked = self._in_crop(crop)
            self._offset_age += 1
            return None if tracked is None else tracked + self._offset
        assert self._pool is not None  # a second look only with its thread
        second = self._pool.submit(self._second_look, crop, self._in_crop.region)
        tracked = self._in_crop(crop)
        other = second.result()
        self._offset, self._offset_box, self._offset_age = None, box, 0
        if tracked is None or other is None:
            return tracked
        both = (tracked + other) / 2
        self._offset = both - tracked
        return both

    def _carries(self, box: CropBox) -> bool:
        """Whether this frame takes the last second look's offset instead of a new look: only
        in the crop it was measured in, and for `second_every` - 1 frames after it."""
        return (self._offset is not None and box == self._offset_box
                and self._offset_age < self.second_every - 1)

    def _second_look(self, crop: np.ndarray, tracked: Rect | None) -> np.ndarray | None:
        """The mesh on the region where the crop puts the face, turned as the tracked
        region is: independent of the mesh's last answer, and with no detection."""
        if tracked is None:
            return self._full(crop)
        side = REGION_SCALE / self.config.margin
        return self._full.in_region(crop, Rect(0.5, 0.5 + FACE_DROP, side, side,
                                               tracked.rotation))  # fmt: skip

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        self._in_crop.close()
        self._full.close()
