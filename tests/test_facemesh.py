"""The converted face detector and mesh against MediaPipe 0.10.21's own answers (golden file)."""

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from codec.prior.facemesh.detector import anchors
from codec.prior.facemesh.rect import Rect, cut, project
from codec.prior.landmarks import LandmarkDetector
from codec.video import read_frames

GOLDEN = Path(__file__).parent / "golden" / "facemesh_mediapipe.npz"


def test_anchors_cover_both_grids_in_order():
    a = anchors()
    assert a.shape == (896, 2)
    assert np.allclose(a[0], a[1]) and np.allclose(a[0], [1 / 32, 1 / 32])
    assert np.allclose(a[512], [1 / 16, 1 / 16]) and np.allclose(a[-1], [15 / 16, 15 / 16])


def test_a_region_cut_out_and_projected_back_lands_where_it_was():
    image = np.zeros((240, 320, 3), np.uint8)
    cv2.circle(image, (200, 90), 3, (255, 255, 255), -1)
    rect = Rect(0.55, 0.4, 0.5, 0.5 * 320 / 240, math.radians(20))  # square in pixels
    crop = cut(image, rect, 192, cv2.BORDER_REPLICATE)
    ys, xs = np.nonzero(crop[..., 0] > 128)
    spot = np.array([[xs.mean() / 192, ys.mean() / 192, 0.0]])
    back = project(spot, rect)[0, :2] * (320, 240)
    assert np.allclose(back, (200, 90), atol=0.6)


def test_single_pictures_match_mediapipe(dev_dir):
    """0.001 px with OpenCV 4 (MediaPipe's); OpenCV 5 resamples the crop a little differently."""
    golden = np.load(GOLDEN)
    with LandmarkDetector(tracking=False) as detect:
        for name, expected in zip(golden["single_clips"], golden["single"], strict=True):
            got = detect(next(iter(read_frames(dev_dir / str(name), max_frames=1))))
            assert got is not None, name
            error = np.linalg.norm(got[:, :2] - expected[:, :2], axis=1)
            assert error.mean() < 0.05 and error.max() < 0.2, name
            assert np.abs(got[:, 2] - expected[:, 2]).max() < 0.2, name


def test_tracking_follows_its_own_answers_like_mediapipe(dev_dir):
    golden = np.load(GOLDEN)
    frames = read_frames(dev_dir / str(golden["tracked_clip"]), max_frames=len(golden["tracked"]))
    with LandmarkDetector(tracking=True) as detect:
        errors = [np.linalg.norm(detect(f)[:, :2] - e[:, :2], axis=1).mean()
                  for f, e in zip(frames, golden["tracked"], strict=True)]
    assert max(errors) < 0.1


def test_bad_pictures_are_refused_or_faceless():
    with LandmarkDetector(tracking=False) as detect:
        assert detect(np.zeros((64, 300, 3), np.uint8)) is None
        assert detect(np.random.default_rng(0).integers(0, 255, (90, 90, 3), np.uint8)) is None
        with pytest.raises(ValueError, match="RGB uint8"):
            detect(np.zeros((64, 64), np.uint8))
