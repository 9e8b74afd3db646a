from itertools import pairwise

import numpy as np
import pytest

from codec.prior.fitting import FaceFitter, FitConfig
from codec.prior.flame_io import BUILTIN_PRIOR, load_builtin
from codec.prior.keypoints import PRESETS, driving_keypoints, preset_indices
from codec.prior.params import FaceParams, landmarks_in_crop
from codec.prior.rotation import euler_to_matrix, matrix_to_axis_angle, rotation_angle_deg


@pytest.fixture(scope="module")
def model():
    return load_builtin()


def test_builtin_prior_is_small_and_flame_shaped(model):
    assert BUILTIN_PRIOR.stat().st_size < 2 * 1024 * 1024
    assert model.v_template.shape == (478, 3)
    assert model.n_expr >= 50 and model.has_jaw
    explained = np.array(model.meta["expr_explained"])
    assert np.all(np.diff(explained) <= 0), "expression dims must be ordered by variance"
    assert len(model.landmarks68.faces_idx) == 68
    assert len(model.meta["clips"]) > 10


def _sequence(model, n=40, seed=1):
    """A smooth synthetic head motion with speech-like jaw and random expressions."""
    rng = np.random.default_rng(seed)
    beta = rng.normal(size=model.n_shape) * 0.8
    for i in range(n):
        pose = np.zeros((5, 3))
        angles = 20 * np.sin(np.r_[0.1, 0.13, 0.07] * i + np.r_[0, 1, 2])
        pose[0] = matrix_to_axis_angle(euler_to_matrix(*angles))
        pose[2, 0] = 0.1 + 0.1 * np.sin(0.3 * i)
        truth = FaceParams(beta, rng.normal(size=50) * 0.7, pose, 1000.0, np.r_[128.0, 140, 0])
        yield truth, landmarks_in_crop(model, truth, "fit"), rng


def test_fit_recovers_synthetic_ground_truth(model):
    fitter = FaceFitter(model, FitConfig(n_expr=50))
    pose_err, lmk_err = [], []
    for i, (truth, clean, rng) in enumerate(_sequence(model)):
        noisy = clean + rng.normal(scale=0.5, size=clean.shape)
        est = fitter.fit_reference(noisy) if i == 0 else fitter.fit(noisy)
        pose_err.append(rotation_angle_deg(est.rotation, truth.rotation))
        fitted = landmarks_in_crop(model, est, "fit")
        lmk_err.append(np.linalg.norm(fitted[:, :2] - clean[:, :2], axis=1).mean())
    assert max(pose_err) < 1.0, pose_err
    assert max(lmk_err) < 0.5, lmk_err


def test_later_frames_keep_the_reference_identity(model):
    fitter = FaceFitter(model)
    frames = list(_sequence(model, n=3))
    ref = fitter.fit_reference(frames[0][1])
    later = fitter.fit(frames[2][1])
    assert np.array_equal(ref.beta, later.beta)


def test_truncation_degrades_monotonically_on_synthetic_faces(model):
    errors = []
    seq = list(_sequence(model, n=15, seed=3))
    for n in (5, 10, 20, 50):
        fitter = FaceFitter(model, FitConfig(n_expr=n))
        errs = []
        for i, (_, clean, _) in enumerate(seq):
            est = fitter.fit_reference(clean) if i == 0 else fitter.fit(clean)
            fitted = landmarks_in_crop(model, est, "fit")
            errs.append(np.linalg.norm(fitted[:, :2] - clean[:, :2], axis=1).mean())
        errors.append(np.mean(errs))
    assert all(a > b for a, b in pairwise(errors)), errors


def test_presets_put_mouth_first():
    assert [len(preset_indices(k)) for k in PRESETS] == list(PRESETS)
    assert set(preset_indices(5)) >= {48, 54}  # mouth corners
    assert sorted(preset_indices(68)) == list(range(68))
    with pytest.raises(ValueError):
        preset_indices(7)


def test_driving_keypoints_use_reference_identity_and_normalized_cube(model):
    truths = [t for t, _, _ in _sequence(model, n=2)]
    other = FaceParams(truths[1].beta * -1, truths[1].psi, truths[1].pose, 1000.0, truths[1].trans)
    kp = driving_keypoints(model, truths[0], truths[1], 16)
    kp_swapped = driving_keypoints(model, truths[0], other, 16)
    assert kp.shape == (16, 3)
    assert np.abs(kp[:, :2]).max() <= 1.0
    assert np.allclose(kp, kp_swapped), "the frame's own β must not leak into the keypoints"
