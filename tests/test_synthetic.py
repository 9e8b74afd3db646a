"""The synthetic talking head: detectable, and the codec reproduces its true motion."""

from __future__ import annotations

import numpy as np
import pytest

from codec.config import EncoderConfig
from codec.decoder import Decoder
from codec.encoder import Encoder
from codec.prior.flame_io import load_prior
from codec.prior.params import landmarks_in_crop
from codec.render.meshwarp import MeshWarpRenderer
from codec.synthetic import SyntheticConfig, make_clip, save_clip
from codec.video import video_frame_count


@pytest.fixture(scope="module")
def model():
    return load_prior(None)


@pytest.fixture(scope="module")
def clip(model):
    return make_clip(model, SyntheticConfig(seconds=2.0, seed=1))


def test_clip_moves_like_a_talking_head(clip):
    assert clip.frames.shape == (50, 320, 320, 3)
    yaw = clip.euler[:, 0]
    assert np.ptp(yaw) > 3  # the head turns
    mouth = np.array([p.psi for p in clip.params])
    assert np.ptp(mouth, axis=0).max() > 0.5  # the expression changes


def test_encode_decode_follows_the_ground_truth(model, clip):
    enc = Encoder(model, EncoderConfig(), 25.0)
    dec = Decoder(model, MeshWarpRenderer(model))
    errors, outputs = [], 0
    for frame, truth in zip(clip.frames, clip.params, strict=True):
        result = enc.encode(frame)
        for data in result.packets:
            out = dec.push(data)
            outputs += out is not None
        if result.decoded is None:
            continue
        expected = result.box.to_crop(landmarks_in_crop(model, truth), 256)[:, :2]
        got = landmarks_in_crop(model, out.driving.params)[:, :2]
        errors.append(np.linalg.norm(got - expected, axis=1).mean())
    assert len(errors) >= 0.95 * len(clip.frames)  # the detector finds the face
    assert outputs == len(errors)
    assert np.mean(errors) < 4.0  # px at 256²; measured 2.4 (pose bias of the fit, see notes)


def test_saved_clip_has_video_and_truth(model, tmp_path):
    short = make_clip(model, SyntheticConfig(seconds=0.4, size=160))
    save_clip(short, tmp_path / "s.mp4", 25.0)
    assert video_frame_count(tmp_path / "s.mp4") == 10
    truth = np.load(tmp_path / "s.npz")
    assert truth["euler_deg"].shape == (10, 3) and truth["pose"].shape == (10, 5, 3)


def test_fitting_recovers_the_true_head_pose(model, clip):
    from codec.prior.face_track import FaceTrack
    from codec.prior.fitting import FaceFitter

    track, fitter, errors = FaceTrack(), FaceFitter(model), []
    for frame, truth in zip(clip.frames, clip.euler, strict=True):
        face = track(frame)
        if face is not None and face.landmarks is not None:
            errors.append(np.abs(fitter.fit(face.landmarks).euler - truth))
    track.close()
    errors = np.array(errors)
    assert len(errors) >= 0.95 * len(clip.frames)
    assert errors.mean(axis=0).max() < 3.0  # degrees; measured about 1
    assert np.percentile(errors, 95, axis=0).max() < 3.0
