"""Checks on the real clips in ../shared/data/dev (skipped where that folder is absent)."""

import hashlib
from itertools import pairwise

import numpy as np
import pytest

from codec.prior.build.prior import BuildConfig, clip_landmarks
from codec.prior.evaluate import fit_track
from codec.prior.face_track import FaceTrack
from codec.prior.flame_io import load_builtin
from codec.video import list_clips, read_frames


def test_face_track_finds_faces_and_holds_the_crop_still(dev_dir):
    track = FaceTrack()
    faces = [track(f) for f in read_frames(dev_dir / "dagan_driving.mp4", max_frames=40)]
    found = [f for f in faces if f is not None and f.landmarks is not None]
    assert len(found) >= 38
    assert found[0].crop.shape == (256, 256, 3)
    boxes = {(round(f.box.cx, 3), round(f.box.cy, 3), round(f.box.side, 3)) for f in found}
    assert len(boxes) <= 3, "a near-still head must not make the crop wander"
    lm = found[-1].landmarks
    assert lm.shape == (478, 3) and (lm[:, :2] > 0).all() and (lm[:, :2] < 256).all()


def test_truncation_degrades_monotonically_on_a_real_clip(dev_dir):
    model = load_builtin()
    clip = next(c for c in list_clips(dev_dir) if c.name == "lp_driving_d9")
    lm = clip_landmarks(clip, BuildConfig(frames_per_clip=60))
    errors = [fit_track(model, lm, n).error_px.mean() for n in (5, 10, 20, 50)]
    assert all(a > b for a, b in pairwise(errors)), errors
    assert errors[-1] < 0.5


@pytest.mark.slow
def test_build_prior_is_reproducible(dev_dir, tmp_path):
    from codec.prior.build.cli import main

    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("dagan_driving.mp4", "dpe_s.mp4", "edtalk_mouth_source.mp4"):
        (videos / name).symlink_to(dev_dir / name)
    digests = []
    for run in ("a", "b"):
        out = tmp_path / f"{run}.npz"
        args = ["--videos", str(videos), "--out", str(out), "--frames-per-clip", "25",
                "--holdout", "0", "--expr-dims", "50"]  # fmt: skip
        assert main(args) == 0
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    built = load_builtin(tmp_path / "a.npz")
    assert built.n_expr == 50 and np.isfinite(built.exprdirs).all()
