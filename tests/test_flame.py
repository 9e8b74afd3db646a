import os
import pickle

import numpy as np
import pytest
from flame_fixtures import JOINT_POS, write_flame_dir

from codec.prior.flame_io import load_official_flame, load_prior
from codec.prior.rotation import rodrigues
from codec.prior.safe_pickle import PriorFileError, load_pickle


@pytest.fixture
def flame_dir(tmp_path):
    arrays = write_flame_dir(tmp_path, np.random.default_rng(0))
    return tmp_path, arrays


def test_loads_official_format_with_chumpy_and_sparse(flame_dir):
    path, arrays = flame_dir
    model = load_official_flame(path / "flame2020.pkl")
    assert model.n_shape == 300 and model.n_expr == 100
    assert np.allclose(model.shapedirs, arrays["shapedirs"][:, :, :300])
    assert np.allclose(model.J_regressor, arrays["J_regressor"])  # sparse -> dense
    assert model.posedirs.shape == (8 * 3, 36)
    assert list(model.parents) == [-1, 0, 1, 1, 1]
    assert len(model.fit_mediapipe_ids) == 6 and len(model.landmarks68.faces_idx) == 68
    assert model.vertices(np.zeros(10), np.zeros(5)).shape == (8, 3)


def test_env_var_selects_flame(flame_dir, monkeypatch):
    path, _ = flame_dir
    monkeypatch.setenv("FACECODEC_FLAME", str(path / "flame2020.pkl"))
    assert load_prior().name.startswith("flame:")


def test_missing_mediapipe_embedding_is_a_clear_error(flame_dir):
    path, _ = flame_dir
    (path / "mediapipe_landmark_embedding.npz").unlink()
    with pytest.raises(PriorFileError, match=r"mediapipe_landmark_embedding\.npz"):
        load_official_flame(path / "flame2020.pkl")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(PriorFileError, match="not found"):
        load_prior(tmp_path / "nope.pkl")


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/facecodec-pwned",))


def test_refuses_arbitrary_classes(tmp_path):
    marker = "/tmp/facecodec-pwned"
    if os.path.exists(marker):
        os.remove(marker)
    with pytest.raises(PriorFileError, match="refusing to load"):
        load_pickle(pickle.dumps({"v_template": _Evil()}))
    assert not os.path.exists(marker)


def test_garbage_is_a_prior_file_error():
    with pytest.raises(PriorFileError):
        load_pickle(b"\x80\x02garbage")


def test_lbs_matches_hand_computation(flame_dir):
    path, arrays = flame_dir
    model = load_official_flame(path / "flame2020.pkl")
    pose = np.zeros((5, 3))
    pose[2] = [np.pi / 2, 0, 0]  # jaw 90° about x
    pose[0] = [0, 0, np.pi / 2]  # head 90° about z
    v = model.vertices(pose=pose)
    # pose correctives enter before skinning: v_posed = T + P·(R_j - I) for joints 1..4
    feat = np.concatenate([(rodrigues(p) - np.eye(3)).ravel() for p in pose[1:]])
    v_posed = arrays["v_template"] + (arrays["posedirs"].reshape(-1, 36) @ feat).reshape(-1, 3)
    Rg, Rj = rodrigues(pose[0]), rodrigues(pose[2])
    jaw_joint = JOINT_POS[2]
    # vertex 0 follows the jaw: rotate about the jaw joint, then the whole head about the root
    expect0 = Rg @ (Rj @ (v_posed[0] - jaw_joint) + jaw_joint)
    expect_rest = v_posed[1:] @ Rg.T
    assert np.allclose(v[0], expect0, atol=1e-9)
    assert np.allclose(v[1:], expect_rest, atol=1e-9)


def test_zero_pose_is_the_shaped_template(flame_dir):
    path, arrays = flame_dir
    model = load_official_flame(path / "flame2020.pkl")
    beta = np.r_[1.0, -2.0]
    v = model.vertices(beta=beta)
    assert np.allclose(v, arrays["v_template"] + arrays["shapedirs"][:, :, :2] @ beta)


def test_landmarks_posed_alone_equal_the_whole_mesh_posed():
    """The per-frame path poses only the landmarks' vertices (joints by their regressor on β
    and ψ); it must give the landmarks of the whole posed mesh, as FLAME's skinning does."""
    model = load_prior()
    rng = np.random.default_rng(0)
    for _ in range(10):
        beta, psi = rng.normal(size=model.n_shape), rng.normal(size=12)
        pose = rng.normal(size=(5, 3)) * 0.3
        whole = model.skin(model.shaped(beta, psi), pose)
        assert np.allclose(model.vertices(beta, psi, pose), whole, atol=1e-12)
        for which in ("ibug68", "fit"):
            expect = model.landmarks(whole, which)
            assert np.allclose(model.posed_landmarks(beta, psi, pose, which), expect, atol=1e-12)


def test_fitter_runs_on_official_format_model(flame_dir):
    from codec.prior.fitting import FaceFitter
    from codec.prior.params import FaceParams, landmarks_in_crop

    path, _ = flame_dir
    model = load_official_flame(path / "flame2020.pkl")
    truth = FaceParams(np.zeros(300), np.zeros(100), np.zeros((5, 3)), 100.0, np.r_[128.0, 128, 0])
    target = np.zeros((478, 3))
    target[model.fit_mediapipe_ids] = landmarks_in_crop(model, truth, "fit")
    est = FaceFitter(model).fit_reference(target)
    fitted = landmarks_in_crop(model, est, "fit")
    assert np.abs(fitted - target[model.fit_mediapipe_ids]).max() < 0.5
