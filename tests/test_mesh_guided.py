"""The mesh-guided generator: it starts as the mesh warp, trains away from it, and the
shipped checkpoint drives the receiver."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason='the neural receiver needs pip install -e ".[train]"')

from codec.driving import DrivingState  # noqa: E402
from codec.prior.flame_io import load_prior  # noqa: E402
from codec.render.meshwarp import MeshWarpRenderer  # noqa: E402
from codec.synthetic import SyntheticConfig, make_clip  # noqa: E402
from models.checkpoint import save_checkpoint  # noqa: E402
from models.config import get_config  # noqa: E402
from models.generator import build_generator  # noqa: E402

MESH = get_config("mesh-cpu")
SMALL = dataclasses.replace(MESH, name="mesh-test", mesh_width=16, mesh_blocks=1)


@pytest.fixture(scope="module")
def model():
    return load_prior()


@pytest.fixture(scope="module")
def clip(model):
    return make_clip(model, SyntheticConfig(size=256, seconds=0.6, seed=3))


def _states(clip):
    return [DrivingState(i, 40.0 * i, 0, p, None) for i, p in enumerate(clip.params)]


def _padded(psi, n):
    out = np.zeros(n, np.float32)
    out[: min(n, len(psi))] = psi[:n]
    return out


def test_fresh_generator_is_the_mesh_warp(model, clip, tmp_path):
    """At initialization the neural renderer's frames equal the mesh warp's (±1 level)."""
    from models.renderer import NeuralRenderer

    save_checkpoint(tmp_path / "fresh.pt", MESH, build_generator(MESH), model.prior_id)
    neural = NeuralRenderer(model, str(tmp_path / "fresh.pt"), device="cpu")
    mesh = MeshWarpRenderer(model)
    for r in (neural, mesh):
        r.set_reference(clip.frames[0], clip.params[0])
    for state in _states(clip)[1::4]:
        a, b = neural.render(state).astype(int), mesh.render(state).astype(int)
        assert np.abs(a - b).max() <= 1


def test_short_training_on_two_dev_clips_lowers_the_loss(model, dev_dir, tmp_path):
    """Steps on real mesh-warped pairs from two dev clips: the loss on a fixed batch falls
    below the mesh warp's own (the starting point)."""
    from models.train.mesh_data import MeshPairSampler, prepare_param_clip

    clips = [prepare_param_clip(model, dev_dir / f"{name}.mp4", SMALL.expr_max, tmp_path,
                                frames=40, stride=2)
             for name in ("dagan_driving", "dpe_d")]
    sampler = MeshPairSampler(model, clips, SMALL.expr_max, seed=1)
    batch = {k: torch.from_numpy(v) for k, v in sampler._batch(6).items()}
    torch.manual_seed(0)
    net = build_generator(SMALL)
    opt = torch.optim.Adam(net.parameters(), 3e-4)

    def loss():
        out, _ = net(batch["source"], batch["warped"], batch["grid"], batch["code"])
        return (out - batch["driving"]).abs().mean()

    start = loss().item()
    assert start == pytest.approx((batch["warped"] - batch["driving"]).abs().mean().item(),
                                  abs=1e-6)
    for _ in range(25):
        value = loss()
        opt.zero_grad()
        value.backward()
        opt.step()
    assert loss().item() < 0.95 * start


def test_training_pairs_hold_the_bank_a_receiver_holds(model, dev_dir, tmp_path):
    """A clip's bank pictures come out of the receiver's decoder, survive the cache, and a
    pair's warp composes the ones held at its driving frame, as the live receiver does."""
    from models.train.mesh_data import mesh_sample, prepare_param_clip

    video = dev_dir / "lp_driving_d8.mp4"
    clip = prepare_param_clip(model, video, 50, tmp_path, frames=60, stride=2)
    cached = prepare_param_clip(model, video, 50, tmp_path, frames=60, stride=2)
    assert clip is not None and cached is not None and clip.bank
    assert cached.bank_from == clip.bank_from == sorted(clip.bank_from)
    assert clip.boxes.shape == (len(clip.crops), 3) and np.array_equal(clip.boxes, cached.boxes)
    for a, b in zip(clip.bank, cached.bank, strict=True):
        assert (a.slot, a.region, a.box) == (b.slot, b.region, b.box) and a.state == b.state
        assert np.array_equal(a.canvas, b.canvas) and np.allclose(a.params.psi, b.params.psi)
    first = clip.bank_from[0]
    assert clip.bank_at(first - 1) == [] and clip.bank[0] in clip.bank_at(first)
    bare = dataclasses.replace(cached, bank=[], bank_from=[])
    with_bank, without = MeshWarpRenderer(model), MeshWarpRenderer(model)

    def changed(j):
        a = mesh_sample(model, with_bank, cached, 0, j, 20, 50)["warped"].astype(int)
        b = mesh_sample(model, without, bare, 0, j, 20, 50)["warped"].astype(int)
        return int((np.abs(a - b).max(-1) > 8).sum())

    assert changed(first - 1) == 0
    assert max(changed(j) for j in range(first, len(clip.crops))) > 100


def test_training_references_carry_the_margin_a_sender_sends(model, dev_dir, tmp_path):
    """Bitstream v6: a reference picture is its crop grown by a margin of the camera frame.
    The cache keeps that picture for the clip's reference frames, the sampler draws its
    sources from them, and a pair gives the network the crop while the warp reaches into
    the margin."""
    from codec.config import EncoderConfig
    from models.train.mesh_data import REFERENCE_FRAMES, MeshPairSampler, prepare_param_clip

    video = dev_dir / "dagan_driving.mp4"
    clip = prepare_param_clip(model, video, 50, tmp_path, frames=60, stride=2)
    cached = prepare_param_clip(model, video, 50, tmp_path, frames=60, stride=2)
    assert clip is not None and cached is not None
    size = clip.crops.shape[1]
    margin = round(EncoderConfig().reference_margin * size)
    assert clip.canvases.shape == (REFERENCE_FRAMES, size + 2 * margin, size + 2 * margin, 3)
    assert np.array_equal(clip.canvases, cached.canvases)
    assert np.array_equal(clip.canvas_frames, cached.canvas_frames)
    i = int(clip.canvas_frames[3])
    inner = clip.canvas(i)[margin:-margin, margin:-margin].astype(int)
    assert np.abs(inner - clip.crops[i]).mean() < 2.0
    others = np.setdiff1d(np.arange(len(clip.crops)), clip.canvas_frames)
    assert np.array_equal(clip.canvas(int(others[0])), clip.crops[others[0]])
    sampler = MeshPairSampler(model, [cached], 50, seed=3)
    assert np.array_equal(sampler.sources[0], cached.canvas_frames)
    batch = sampler._batch(2)
    assert batch["source"].shape == batch["driving"].shape == (2, 3, size, size)


def test_code_and_region_weights(model, clip):
    from codec.prior.params import landmarks_in_crop
    from models.inputs import expression_code
    from models.train.mesh_data import region_weights

    code = expression_code(dataclasses.replace(clip.params[5], psi=clip.params[5].psi[:10]), 50)
    assert code.shape == (53,) and not code[10:50].any()
    assert np.allclose(code[50:], clip.params[5].jaw)
    w = region_weights(landmarks_in_crop(model, clip.params[5])[:, :2], 256)
    assert w.min() == 1.0 and w.max() == 5.0 and 0.01 < (w > 1).mean() < 0.3


def test_face_map_marks_the_face_but_not_the_open_mouth(model, clip):
    """The blend mask's area costs most on the face, where AKD is read; inside the lips and
    off the face the warp is what is wrong, so the map leaves them out."""
    from codec.prior.params import landmarks_in_crop
    from models.train.mesh_data import face_map

    pose = clip.params[5].pose.copy()
    pose[2] = (0.3, 0.0, 0.0)  # the jaw, open
    p = dataclasses.replace(clip.params[5], pose=pose)
    lmk = landmarks_in_crop(model, p)[:, :2]
    face = face_map(lmk, 256)
    assert set(np.unique(face)) == {0.0, 1.0} and 0.05 < face.mean() < 0.5
    at = lambda xy: face[round(float(xy[1])), round(float(xy[0]))]  # noqa: E731
    assert at(lmk[30]) == 1.0 and at(lmk[19]) == 1.0  # nose tip, a brow
    assert at(lmk[60:68].mean(0)) == 0.0 and face[0, 0] == 0.0 and face[-1, -1] == 0.0


def test_shipped_checkpoint_renders_and_is_refused_against_another_prior(model, clip):
    from codec.render import RendererUnavailableError, make_renderer
    from models.checkpoint import load_checkpoint
    from models.renderer import default_checkpoint

    path = default_checkpoint()
    if path is None:
        pytest.fail("models/zoo/mesh-cpu.pt is missing: the default checkpoint must ship")
    config, data = load_checkpoint(path, model.prior_id)
    assert config.generator == "mesh" and data["step"] > 0
    from benchmarks.metrics import psnr

    renderer, warp = make_renderer("neural", model), MeshWarpRenderer(model)
    for r in (renderer, warp):
        r.set_reference(clip.frames[0], clip.params[0])
    still = [psnr(clip.frames[0], f) for f in clip.frames]
    i = int(np.argmin(still))  # the frame furthest from the reference
    frame = renderer.render(_states(clip)[i])
    assert frame.shape == (256, 256, 3) and frame.dtype == np.uint8
    # it moves the face (closer to the true frame than the still reference is) and starts
    # from the mesh warp (close to its picture): neither noise nor a copy of the reference
    assert psnr(frame, clip.frames[i]) > still[i] + 1.0
    assert psnr(frame, warp.render(_states(clip)[i])) > 30.0
    other = dataclasses.replace(model, v_template=model.v_template * 1.01)
    with pytest.raises(RendererUnavailableError, match="face prior"):
        make_renderer("neural", other)


def test_the_mask_is_priced_on_the_face_and_at_away_elsewhere():
    from models.train.loop import mask_price

    face = torch.zeros(1, 4, 4)
    face[:, 1:3, 1:3] = 1.0  # 4 of 16 pixels
    open_face, open_rest = face[:, None].clone(), 1 - face[:, None]
    assert mask_price(open_face, face, 0.25).item() == pytest.approx(4 / 16)
    assert mask_price(open_rest, face, 0.25).item() == pytest.approx(0.25 * 12 / 16)
    assert mask_price(open_rest, face, 0.0).item() == 0.0
    assert mask_price(open_rest, face, 1.0).item() == pytest.approx(open_rest.mean().item())


def test_a_floored_mask_decodes_only_its_box_and_is_exact():
    """With a mask floor, inference decodes the correction only around the pixels the mask
    keeps: the same frame as the full decode, and the warp's own pixels everywhere else."""
    torch.manual_seed(0)
    config = dataclasses.replace(SMALL, blend_mask=True, mask_floor=0.05)
    net = build_generator(config).eval()
    for head in (net.flow, net.rgb):
        torch.nn.init.normal_(head.weight, std=0.05)
    torch.nn.init.normal_(net.mask.weight, std=0.3)
    n, s = 2, config.size
    source, warped = torch.rand(n, 3, s, s), torch.rand(n, 3, s, s)
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, s), torch.linspace(-1, 1, s), indexing="ij")
    grid = torch.stack([xs, ys], -1)[None].repeat(n, 1, 1, 1) * 0.9
    code = torch.randn(n, config.code_dims)
    features = net.appearance(source).detach()

    def both(bias: float):
        torch.nn.init.constant_(net.mask.bias, bias)
        with torch.enable_grad():
            full, mask = net.render_parts(features, source, warped, grid, code)
        with torch.no_grad():
            boxed = net.render(features, source, warped, grid, code)
        return full.detach(), mask.detach(), boxed

    full, mask, boxed = both(-3.5)  # a few cells over the floor
    kept = (mask > 0).float().mean().item()
    assert 0.0 < kept < 0.5
    assert torch.allclose(boxed, full, atol=1e-5)
    assert torch.equal(boxed[mask.expand_as(boxed) == 0], warped[mask.expand_as(warped) == 0])
    full, mask, boxed = both(-20.0)  # nothing kept: the warp itself, nothing decoded
    assert not mask.any() and torch.equal(boxed, warped)


def test_under_a_power_below_one_a_thin_mask_costs_more_than_a_gathered_one():
    from models.train.loop import mask_price

    face = torch.ones(1, 4, 4)
    thin, gathered = torch.full((1, 1, 4, 4), 1 / 16), torch.zeros(1, 1, 4, 4)
    gathered[..., 0, 0] = 1.0  # the same area in one pixel
    assert mask_price(thin, face, 1.0) == pytest.approx(mask_price(gathered, face, 1.0).item())
    assert mask_price(thin, face, 1.0, 0.5) > 3 * mask_price(gathered, face, 1.0, 0.5)
    assert mask_price(torch.zeros(1, 1, 4, 4), face, 1.0, 0.5).item() == 0.0
