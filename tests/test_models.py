"""The neural receiver's networks, checkpoints, training and renderer (tiny-64, on CPU)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason='the neural receiver needs pip install -e ".[train]"')

from models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint  # noqa: E402
from models.config import CONFIGS, get_config  # noqa: E402
from models.generator import WarpingGenerator, build_generator  # noqa: E402
from models.motion_field import MotionFieldEstimator, volume_grid  # noqa: E402

TINY = CONFIGS["tiny-64"]


def _inputs(c, n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    kp = torch.rand(n, c.keypoints, 3, generator=g) * 1.6 - 0.8
    return (torch.rand(n, 3, c.size, c.size, generator=g), kp, kp + 0.05,
            torch.eye(3).expand(n, 3, 3), torch.randn(n, c.code_dims, generator=g))


def test_motion_field_is_identity_when_nothing_moves():
    net = MotionFieldEstimator(TINY).eval()
    vol = torch.randn(2, TINY.volume_channels, TINY.volume_depth, 16, 16)
    kp = torch.rand(2, TINY.keypoints, 3) * 2 - 1
    with torch.no_grad():
        deformation, occlusion = net(vol, kp, kp, torch.eye(3).expand(2, 3, 3))
    grid = volume_grid(TINY.volume_depth, 16, 16, vol)
    assert torch.allclose(deformation, grid.expand_as(deformation), atol=1e-5)
    assert occlusion.shape == (2, 1, 16, 16) and 0 <= occlusion.min() <= occlusion.max() <= 1


# millions of parameters, as the README and the model card state them
SIZES = {"paper-256": 69.6, "small-256": 13.8, "mesh-cpu": 0.71, "mesh-gpu": 4.79,
         "tiny-64": 0.98}  # fmt: skip


def test_every_config_has_a_stated_size():
    assert set(SIZES) == set(CONFIGS)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_config_builds_at_its_stated_size(name):
    c = CONFIGS[name]
    net = build_generator(c)
    millions = sum(p.numel() for p in net.parameters()) / 1e6
    assert millions == pytest.approx(SIZES[name], rel=0.01), millions
    if c.generator == "volume" and c.size == 64:  # the big ones: one forward takes seconds
        out = net.eval()(*_inputs(c))
        assert out.shape == (2, 3, c.size, c.size)


def test_checkpoint_round_trip_gives_identical_output(tmp_path):
    torch.manual_seed(0)
    net = WarpingGenerator(TINY).eval()
    path = tmp_path / "g.pt"
    save_checkpoint(path, TINY, net, "abcd" * 4, step=7)
    config, data = load_checkpoint(path, "abcd" * 4)
    again = WarpingGenerator(config).eval()
    again.load_state_dict(data["generator"])
    x = _inputs(TINY)
    with torch.no_grad():
        assert torch.equal(net(*x), again(*x))
    assert data["step"] == 7 and config == TINY
    with pytest.raises(CheckpointError, match="face prior"):
        load_checkpoint(path, "ffff" * 4)


def test_checkpoints_never_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "facecodec-generator", "x": Evil()}, path)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_vgg_loads_a_torchvision_format_file(tmp_path):
    from models.losses import VGGFeatures

    state = {f"features.{k}": v for k, v in VGGFeatures().features.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "vgg19.pth")
    vgg = VGGFeatures.load(tmp_path / "vgg19.pth")
    assert len(vgg(torch.rand(1, 3, 32, 32))) == 5
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="VGG-19"):
        VGGFeatures.load(tmp_path / "bad.pth")


def test_baseline_mode_trains_a_step():
    from models.train.loop import TrainConfig, Trainer

    c = get_config("tiny-64", "baseline")

    class Sampler:
        def sample(self, batch):
            src, kp, _, jac, _ = _inputs(TINY, batch)
            return {"source": src.numpy(), "driving": src.flip(3).numpy(),
                    "kp_s": kp.numpy(), "kp_d": kp.numpy(), "jac": jac.numpy(),
                    "code": np.zeros((batch, 0), np.float32)}

    trainer = Trainer(c, TrainConfig(steps=1, batch=2), Sampler(), "/nonexistent", "0" * 16,
                      "cpu", progress=False)
    scalars, _ = trainer.train_step()
    assert all(np.isfinite(v) for v in scalars.values())
    assert {"equivariance", "kp_prior", "gan_d"} <= set(scalars)


@pytest.mark.slow
def test_tiny_trains_on_two_dev_clips_and_renders(dev_dir, tmp_path):
    """tiny-64 on two real clips: L1 falls by at least half well within 300 steps; the
    checkpoint then drives the receiver's neural renderer from a real bitstream."""
    from models.cli import main as train_main

    run = tmp_path / "run"
    rc = train_main(["--config", "tiny-64", "--data", str(dev_dir), "--clips", "2",
                     "--frames-per-clip", "60", "--out", str(run), "--steps", "80",
                     "--batch", "4", "--sample-every", "40", "--save-every", "40",
                     "--threads", "1"])
    assert rc == 0
    rows = (run / "log.csv").read_text().splitlines()
    header = rows[0].split(",")
    l1 = [float(r.split(",")[header.index("l1")]) for r in rows[1:]]
    assert np.mean(l1[-3:]) <= 0.5 * l1[0], l1
    assert (run / "last.pt").is_file() and list((run / "samples").glob("*.png"))

    from benchmarks.metrics import psnr
    from codec.decoder import Decoder
    from codec.encoder import Encoder
    from codec.prior.flame_io import load_prior
    from codec.render import make_renderer
    from codec.video import read_frames

    model = load_prior()
    enc = Encoder(model)
    dec = Decoder(model, make_renderer("neural", model, str(run / "last.pt")))
    frames, crops = [], []
    for f in read_frames(dev_dir / "dagan_driving.mp4", max_frames=5):
        result = enc.encode(f)
        crops.append(result.crop)
        for p in result.packets:
            out = dec.push(p)
            frames += [out] if out is not None else []
    assert len(frames) == 5 and frames[0].image.shape == (256, 256, 3)
    # the exported checkpoint draws the sender's face, not noise or a grey box
    assert np.mean([psnr(f.image, crops[f.seq]) for f in frames]) > 18.0  # noise: ~10 dB


def test_renderer_refuses_what_it_cannot_use(tmp_path):
    import models.renderer as neural
    from codec.prior.flame_io import load_prior
    from codec.render import RendererUnavailableError, make_renderer

    model = load_prior()
    missing = tmp_path / "no-such-zoo" / "mesh-cpu.pt"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(neural, "DEFAULT_CHECKPOINT", missing)
        with pytest.raises(RendererUnavailableError, match="--checkpoint"):
            make_renderer("neural", model, None)
    base = dataclasses.replace(TINY, mode="baseline")
    save_checkpoint(tmp_path / "b.pt", base, WarpingGenerator(base), model.prior_id)
    with pytest.raises(RendererUnavailableError, match="flame-mode"):
        make_renderer("neural", model, str(tmp_path / "b.pt"))


def test_bench_rd_runs_the_neural_renderer_from_a_checkpoint(tmp_path):
    from benchmarks.rd import SourceClip, settings
    from codec.prior.flame_io import load_prior
    from codec.synthetic import SyntheticConfig, make_clip, save_clip

    model = load_prior()
    save_checkpoint(tmp_path / "g.pt", TINY, WarpingGenerator(TINY), model.prior_id)
    grid = settings(True, False, str(tmp_path / "g.pt"))
    neural = [s for s in grid if s[0] == "facecodec-neural"]
    assert len(neural) == len([s for s in grid if s[0] == "facecodec-meshwarp"]) == 2
    save_clip(make_clip(model, SyntheticConfig(seconds=0.2)), tmp_path / "s.mp4", 25.0)
    source = SourceClip(tmp_path / "s.mp4", 5, None)
    images, payload, reference = source.facecodec(neural[0][2])
    assert images.shape == (5, 256, 256, 3) and payload > 0 and reference > 0


def test_ctrl_c_saves_the_steps_done(tmp_path):
    """An interrupted run keeps what it trained: last.pt at the last finished step."""
    from models.train.loop import TrainConfig, Trainer

    c = get_config("tiny-64", "baseline")

    class Sampler:
        calls = 0

        def sample(self, batch):
            Sampler.calls += 1
            if Sampler.calls == 3:
                raise KeyboardInterrupt
            src, kp, _, jac, _ = _inputs(TINY, batch)
            return {"source": src.numpy(), "driving": src.flip(3).numpy(),
                    "kp_s": kp.numpy(), "kp_d": kp.numpy(), "jac": jac.numpy(),
                    "code": np.zeros((batch, 0), np.float32)}

    trainer = Trainer(c, TrainConfig(steps=10, batch=2, save_every=100), Sampler(), tmp_path,
                      "0" * 16, "cpu", progress=False)
    assert len(trainer.fit()) == 2
    saved = torch.load(tmp_path / "last.pt", weights_only=True)
    assert saved["step"] == 2


@pytest.mark.parametrize("h, w", [(8, 11), (1, 5)])
def test_spade_blocks_equal_the_blocks_one_by_one_with_the_code_spread_out(h, w):
    """One convolution for all blocks' SPADE hidden maps, the code's channels as a sum of
    taps: the same as each block on the code spread over the map, border pixels included."""
    from models.blocks import SPADEResBlock, spade_blocks

    torch.manual_seed(1)
    blocks = torch.nn.ModuleList(SPADEResBlock(6, 6 + 4) for _ in range(3))
    x, code = torch.randn(2, 6, h, w), torch.randn(2, 4)
    spread = torch.cat([x, code[:, :, None, None].expand(-1, -1, h, w)], 1)
    expected = x
    for block in blocks:
        expected = block(expected, spread)
    assert torch.allclose(spade_blocks(blocks, x, (x, code)), expected, atol=1e-5)
    assert not torch.allclose(spade_blocks(blocks, x, (x, -code)), expected, atol=1e-3)
