import numpy as np

from codec.prior.crop import CropConfig, CropTracker
from codec.prior.landmarks import LandmarkDetector


def test_no_face_gives_none():
    with LandmarkDetector(tracking=False) as detect:
        assert detect(np.full((256, 256, 3), 127, np.uint8)) is None


def _face(cx, cy, size=100.0):
    rng = np.random.default_rng(0)
    xy = rng.uniform(-size / 2, size / 2, (478, 2)) + np.array([cx, cy])
    return np.column_stack([xy, np.zeros(478)])


def test_crop_holds_still_for_small_motion_and_follows_large_motion():
    tracker = CropTracker(CropConfig(smoothing=0.0))
    first = tracker.update(_face(300, 200))
    assert tracker.update(_face(303, 201)) == first
    moved = tracker.update(_face(380, 200))
    assert moved.cx > first.cx + 50
    assert tracker.update(None) == moved


def test_crop_maps_points_both_ways():
    box = CropTracker().update(_face(300, 200))
    pts = _face(300, 200)
    back = box.to_frame(box.to_crop(pts, 256), 256)
    assert np.allclose(back, pts)
