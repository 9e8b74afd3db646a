"""The neural receiver's pieces: the face mesh in torch against onnxruntime, the face-aware
losses, the blend mask, batched rendering across calls, training → export → render on the
committed fixture, and `facecodec gpu-check --dry-run`."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason='the neural receiver needs pip install -e ".[train]"')

from codec.driving import DrivingState  # noqa: E402
from codec.prior.flame_io import load_prior  # noqa: E402
from codec.synthetic import SyntheticConfig, make_clip  # noqa: E402
from models.checkpoint import save_checkpoint  # noqa: E402
from models.config import get_config  # noqa: E402
from models.generator import build_generator  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "tiny_head"
SMALL = dataclasses.replace(get_config("mesh-cpu"), name="mesh-test", mesh_width=16,
                            mesh_blocks=1)


@pytest.fixture(scope="module")
def model():
    return load_prior()


@pytest.fixture(scope="module")
def clip(model):
    return make_clip(model, SyntheticConfig(size=256, seconds=0.4, seed=4))


@pytest.fixture(scope="module")
def mesh_net():
    from models.face_mesh import FaceMeshNet

    return FaceMeshNet()


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255


def test_onnx_reader_refuses_what_is_not_a_graph(tmp_path):
    from models.onnx_graph import read_graph

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x3a\xff\xff")  # field 7, length past the end
    with pytest.raises(ValueError, match=r"truncated|no graph"):
        read_graph(bad)


def test_face_mesh_in_torch_matches_onnxruntime(mesh_net, clip):
    """The same 468 points as the sender's onnxruntime session, to well under a pixel, for a
    batch of two faces (the converted file was made for batch 1)."""
    from codec.prior.facemesh.runtime import Session
    from models.face_losses import framing

    crops = _tensor(clip.frames[[0, 6]])
    points, features = mesh_net(framing(crops))
    session = Session("face_mesh.onnx")
    for i in range(2):
        image = framing(crops[i:i + 1])[0].permute(1, 2, 0).numpy()
        ref = session(image)["output_mesh_identity"].reshape(468, 3)
        assert np.abs(points[i].numpy() - ref).max() < 1e-2
    assert [f.shape[-1] for f in features] == [96, 48, 24, 12, 6]


def test_face_losses_are_zero_on_the_truth_and_move_the_picture(mesh_net, clip):
    from models.face_losses import FaceAwareLoss

    loss = FaceAwareLoss(mesh_net)
    truth = _tensor(clip.frames[[3]])
    same = loss(truth, truth)
    assert same["landmarks"].item() < 1e-4 and same["face_features"].item() < 1e-4
    moved = torch.roll(truth, shifts=4, dims=-1).requires_grad_(True)
    out = loss(moved, truth)
    assert out["landmarks"].item() > 1.0  # a 4 px shift (3 px at the mesh's scale)
    (out["landmarks"] + out["face_features"]).backward()
    assert moved.grad is not None and moved.grad.abs().sum() > 0


def test_blend_mask_keeps_the_warp_where_it_is_closed():
    """out = warp + m · correction: a closed mask gives the warp exactly, whatever the
    corrections; a fresh network starts half open on zero corrections."""
    net = build_generator(SMALL).eval()
    n, s = 2, SMALL.size
    source, warped = torch.rand(n, 3, s, s), torch.rand(n, 3, s, s)
    ys, xs = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
    grid = ((torch.stack([xs, ys], -1)[None].float() + 0.5) * (2.0 / s) - 1.0).repeat(n, 1, 1, 1)
    code = torch.randn(n, SMALL.code_dims)
    with torch.no_grad():
        out, mask = net(source, warped, grid, code)
        assert torch.allclose(out, warped, atol=1e-6)
        assert torch.allclose(mask, torch.full_like(mask, 0.5))
        torch.nn.init.normal_(net.rgb.weight, std=0.5)
        net.mask.bias.fill_(-1e4)
        out, mask = net(source, warped, grid, code)
    assert mask.max() < 1e-6 and torch.allclose(out, warped, atol=1e-5)


def test_batched_render_equals_one_call_at_a_time(model, clip, tmp_path):
    """Frames of three calls (different references) in one forward pass are the frames each
    call renders alone, on one shared network."""
    from models.renderer import NeuralRenderer, render_batch

    net = build_generator(SMALL)
    torch.nn.init.normal_(net.rgb.weight, std=0.05)
    save_checkpoint(tmp_path / "small.pt", SMALL, net, model.prior_id)
    first = NeuralRenderer(model, str(tmp_path / "small.pt"), device="cpu")
    calls = [first, first.for_another_call(), first.for_another_call()]
    assert all(r.net is first.net for r in calls)
    for k, r in enumerate(calls):
        r.set_reference(clip.frames[k], clip.params[k])
    states = [DrivingState(5, 200.0, 0, clip.params[5 + k], None) for k in range(3)]
    together = render_batch(calls, states)
    for r, state, frame in zip(calls, states, together, strict=True):
        assert np.abs(r.render(state).astype(int) - frame.astype(int)).max() <= 1
    assert not np.array_equal(together[0], together[1])
    with pytest.raises(ValueError, match="one driving state"):
        render_batch(calls, states[:2])


def test_train_export_render_on_the_committed_fixture(model, tmp_path):
    """`facecodec train` (two steps, face-aware losses on) → export → NeuralRenderer, on the
    synthetic head committed under tests/fixtures, so it runs without the dev clips."""
    from models.export import export
    from models.renderer import NeuralRenderer

    run = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "models", "--config", "mesh-cpu", "--data", str(FIXTURE),
         "--out", str(run), "--steps", "2", "--batch", "2", "--frames-per-clip", "10",
         "--no-gan", "--include-held-out", "--threads", "1", "--init",
         str(Path(__file__).parents[1] / "models" / "zoo" / "mesh-cpu.pt")],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    header = (run / "log.csv").read_text().splitlines()[0]
    assert "landmarks" in header and "face_features" in header and "mask_area" in header
    export(run / "last.pt", tmp_path / "shipped.pt")
    renderer = NeuralRenderer(model, str(tmp_path / "shipped.pt"), device="cpu")
    synthetic = make_clip(model, SyntheticConfig(size=256, seconds=0.2, seed=2))
    renderer.set_reference(synthetic.frames[0], synthetic.params[0])
    frame = renderer.render(DrivingState(3, 120.0, 0, synthetic.params[3], None))
    assert frame.shape == (256, 256, 3) and frame.std() > 5 and frame.flags.c_contiguous


def test_gpu_check_dry_run(tmp_path):
    """The GPU command's every step on the CPU: parity, speed, a training leg, the export."""
    out = tmp_path / "gpu"
    done = subprocess.run([sys.executable, "-m", "benchmarks.gpu_check", "--dry-run",
                           "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["dry_run"] and report["parity"]["pass"]
    assert [r["batch"] for r in report["network"]] == [1, 2]
    assert [r["calls"] for r in report["renderer"]] == [1, 2]
    assert report["train"]["exported_mib"] < 16 and (out / "exported.pt").is_file()
    assert all(f.stat().st_size < 16 * 2**20 for f in out.rglob("*") if f.is_file())


GOLDEN = Path(__file__).parent / "fixtures" / "neural_golden.png"


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_shipped_checkpoint_matches_its_golden_frame(model, precision):
    """The shipped checkpoint's frame for a fixed synthetic input, against the fp32 one
    committed with it (regenerate with FACECODEC_WRITE_GOLDEN=1 after shipping new weights):
    a change of weights, of the renderer or of the mesh warp under it shows here. bf16 (the
    default on a CPU that has it, and on CUDA) must stay as close."""
    import os

    import cv2

    from benchmarks.metrics import psnr
    from models.renderer import NeuralRenderer

    synthetic = make_clip(model, SyntheticConfig(size=256, seconds=0.4, seed=9))
    renderer = NeuralRenderer(model, device="cpu", precision=precision)
    renderer.set_reference(synthetic.frames[0], synthetic.params[0])
    frame = renderer.render(DrivingState(7, 280.0, 0, synthetic.params[7], None))
    if os.environ.get("FACECODEC_WRITE_GOLDEN") and precision == "fp32":
        cv2.imwrite(str(GOLDEN), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    golden = cv2.cvtColor(cv2.imread(str(GOLDEN)), cv2.COLOR_BGR2RGB)
    assert psnr(frame, golden) > 45.0


def test_an_unknown_precision_is_refused(model):
    from models.renderer import NeuralRenderer

    with pytest.raises(ValueError, match="precision"):
        NeuralRenderer(model, device="cpu", precision="fp16")


def test_nhwc_only_for_networks_of_2d_convolutions():
    """face-vid2vid's presets hold 3D convolutions, which have no channels-last form: the
    renderer and the trainer must leave them as they are (they used to fail on CUDA)."""
    from models.config import get_config
    from models.generator import build_generator
    from models.precision import channels_last

    mesh = channels_last(build_generator(get_config("mesh-cpu")))
    volume = channels_last(build_generator(get_config("tiny-64")))
    conv = next(p for p in mesh.parameters() if p.dim() == 4)
    assert conv.is_contiguous(memory_format=torch.channels_last) and conv.shape[1] > 1
    assert all(p.is_contiguous() for p in volume.parameters())
