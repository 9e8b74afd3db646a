"""Receiver controls: expression edits from the prior, pose edits within limits."""

from __future__ import annotations

import numpy as np
import pytest

from codec.controls import (
    ControlApplier,
    ControlError,
    Controls,
    edit_direction,
    parse_controls,
)
from codec.driving import DrivingState
from codec.prior.flame import JOINTS
from codec.prior.flame_io import load_prior
from codec.prior.params import FaceParams, landmarks_in_crop


@pytest.fixture(scope="module")
def model():
    return load_prior(None)


def state(model, psi=None) -> DrivingState:
    pose = np.zeros((len(JOINTS), 3))
    psi = np.zeros(50) if psi is None else psi
    p = FaceParams(np.zeros(model.n_shape), psi, pose, 900.0, np.array([128.0, 128, 0]))
    return DrivingState(0, 0.0, 0, p, None)


def moved_px(model, a: DrivingState, b: DrivingState) -> np.ndarray:
    la = landmarks_in_crop(model, a.params)[:, :2]
    lb = landmarks_in_crop(model, b.params)[:, :2]
    return np.linalg.norm(la - lb, axis=1)


@pytest.mark.parametrize("name", ["raise_brows", "blink"])
def test_upper_face_edits_leave_the_mouth_alone(model, name):
    rng = np.random.default_rng(0)
    talking = state(model, rng.normal(0, 1, 50))  # the sender's lips mid-sentence
    edited = ControlApplier(model, Controls(((name, 1.0),)))(talking)
    moved = moved_px(model, talking, edited)
    assert moved[48:68].max() < 0.5
    target = range(17, 27) if name == "raise_brows" else [37, 38, 43, 44]
    assert moved[list(target)].mean() > 4.0


def test_blink_closes_the_eyes(model):
    closed = ControlApplier(model, Controls((("blink", 1.0),)))(state(model))
    lm = landmarks_in_crop(model, closed.params)
    assert abs(lm[37, 1] - lm[41, 1]) < 2.0


def test_smile_lifts_the_mouth_corners(model):
    neutral = state(model)
    smiling = ControlApplier(model, Controls((("smile", 1.0),)))(neutral)
    before = landmarks_in_crop(model, neutral.params)
    after = landmarks_in_crop(model, smiling.params)
    assert (before[[48, 54], 1] - after[[48, 54], 1]).min() > 2.0  # up is -y in the crop
    assert np.linalg.norm(after[54] - after[48]) > np.linalg.norm(before[54] - before[48])


def test_open_mouth_opens_the_lips(model):
    opened = ControlApplier(model, Controls((("open_mouth", 1.0),)))(state(model))
    lm = landmarks_in_crop(model, opened.params)
    assert lm[66, 1] - lm[62, 1] > 5.0


def test_neutral_pulls_the_code_to_zero(model):
    s = state(model, np.ones(50))
    assert np.allclose(ControlApplier(model, Controls((("neutral", 1.0),)))(s).params.psi, 0)


def test_edits_are_small_plausible_codes(model):
    for name in ("smile", "open_mouth", "raise_brows", "blink"):
        assert np.linalg.norm(edit_direction(model, name)) < 20  # unit-variance coefficients


def test_pose_offset_and_override_are_clamped(model):
    s = state(model)
    turned = ControlApplier(model, parse_controls([], ["yaw=15"], []))(s)
    assert turned.params.euler[0] == pytest.approx(s.params.euler[0] + 15, abs=1e-6)
    fixed = ControlApplier(model, parse_controls([], [], ["pitch=-10"]))(turned)
    assert fixed.params.euler[1] == pytest.approx(-10, abs=1e-6)
    big = ControlApplier(model, Controls(pose_offset=(30.0, 0, 0)))(turned)
    assert big.params.euler[0] == pytest.approx(35, abs=1e-6)  # clamped to the stated range


@pytest.mark.parametrize(
    "edits, offsets, message",
    [(["grin=1"], [], "unknown edit"), (["smile"], [], "expected"), (["smile=3"], [], "0..1.5"),
     ([], ["yaw=90"], "±35"), ([], ["tilt=5"], "unknown angle")],
)  # fmt: skip
def test_bad_control_values_say_what(edits, offsets, message):
    with pytest.raises(ControlError, match=message):
        parse_controls(edits, offsets, [])


def test_edits_move_the_sent_keypoints_with_the_face(model):
    """Keypoints mode: the sent keypoints keep their own residual and move by what the edit
    moves on the mesh; no edit leaves them exactly as sent."""
    from codec.prior.keypoints import driving_keypoints

    s = state(model)
    fitted = driving_keypoints(model, s.params, s.params, 16)
    residual = np.random.default_rng(0).normal(0, 0.01, fitted.shape)
    sent = DrivingState(0, 0.0, 0, s.params, fitted + residual)
    unchanged = ControlApplier(model, Controls())(sent)
    np.testing.assert_allclose(unchanged.keypoints, sent.keypoints, atol=1e-9)
    edited = ControlApplier(model, parse_controls(["smile=1"], ["yaw=10"], []))(sent)
    expected = driving_keypoints(model, s.params, edited.params, 16) + residual
    np.testing.assert_allclose(edited.keypoints, expected, atol=1e-9)
    assert np.abs(edited.keypoints - sent.keypoints).max() > 0.02  # it did move them
