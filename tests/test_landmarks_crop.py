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


def test_the_second_look_averages_a_tracked_and_a_fresh_detection(dev_dir):
    import pytest

    from codec.config import EncoderConfig
    from codec.prior.face_track import FaceTrack
    from codec.video import read_frames

    frames = list(read_frames(dev_dir / "dagan_driving.mp4", max_frames=12))
    box = FaceTrack()(frames[0]).box
    first, crop = box.cut(frames[0], 256), box.cut(frames[11], 256)
    with LandmarkDetector(tracking=True) as tracked, LandmarkDetector(tracking=False) as fresh:
        tracked(first)  # from here on it follows its own last answer
        t, f = tracked(crop), fresh(crop)
    assert t is not None and f is not None and np.abs(t - f).max() > 0.1  # two opinions
    two, one = FaceTrack(), FaceTrack(second_look=False)
    two._look(first)
    one._look(first)
    assert np.allclose(two._look(crop), (t + f) / 2)
    assert np.allclose(one._look(crop), t)
    two.close()
    one.close()
    with pytest.raises(ValueError, match="landmark looks"):
        EncoderConfig(landmark_looks=3)
