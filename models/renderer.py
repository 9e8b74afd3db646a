"""The neural renderer: a trained warping generator drives the reference picture.

`set_reference` computes the appearance features once per reference (the expensive part);
`render` runs only the per-frame part. With a mesh-guided checkpoint (the shipped default,
`models/zoo/`) the frame starts from the CPU mesh warp and its dense map, which the network
corrects; with a face-vid2vid-style checkpoint it runs the keypoint motion field. The codec
finds it by name through the `facecodec.renderers` entry point, so only a receiver that asks
for `--renderer neural` loads torch. On CUDA, and on a CPU that computes bf16 natively
(`models/precision.py`; 59 dB from fp32 here), the convolutions run under bf16 autocast while
pictures, maps and sampling grids stay fp32; a checkpoint trained at a smaller size renders
at its size and is resized to the crop.

A host serving many calls loads the network once and gives each call its own renderer with
`for_another_call()`; `render_batch` renders the frames due across calls in one forward pass,
each call's appearance features computed once per reference and kept.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch

from codec.driving import DrivingState
from codec.prior.flame import FlameModel
from codec.prior.params import FaceParams
from codec.render import RendererUnavailableError
from codec.render.base import reference_at_size
from codec.render.meshwarp import MeshWarpRenderer
from models.checkpoint import CheckpointError, load_checkpoint
from models.generator import build_generator
from models.inputs import expression_code, jacobian, motion_input, pixel_map_to_grid
from models.precision import channels_last, use_bf16

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "zoo" / "mesh-cpu.pt"


def default_checkpoint() -> Path | None:
    return DEFAULT_CHECKPOINT if DEFAULT_CHECKPOINT.is_file() else None


class NeuralRenderer:
    name = "neural"

    def __init__(self, model: FlameModel, checkpoint: str | None = None,
                 device: str | None = None, precision: str = "auto"):
        """`precision` "auto" (bf16 where the device computes it natively), "bf16" or
        "fp32" (the reference a parity check compares against)."""
        self.model = model
        self.config, self.net, self.device = _load(model, checkpoint, device)
        self.bf16 = use_bf16(self.device, precision)
        self._fresh_state()

    def for_another_call(self) -> NeuralRenderer:
        """A renderer for another call on the same loaded network (no second copy of the
        weights): its own reference, features and mesh."""
        other = object.__new__(NeuralRenderer)
        other.model, other.config, other.net, other.device, other.bf16 = (
            self.model, self.config, self.net, self.device, self.bf16)
        other._fresh_state()
        return other

    def _fresh_state(self) -> None:
        self.mesh = MeshWarpRenderer(self.model) if self.config.generator == "mesh" else None
        self.features = None
        self.source = None
        self.reference: FaceParams | None = None

    def set_reference(self, picture: np.ndarray, params: FaceParams) -> None:
        """The network sees the reference's crop; the mesh warp it starts from also the
        margin around it, where there is one (`split_reference`)."""
        s = self.config.size
        small, grown = reference_at_size(picture, params.crop_size, s)
        self.source = self._tensor(small)
        with _mode(self.device, self.bf16):
            self.features = self.net.appearance(self.source)
        self.reference = params
        if self.mesh is not None:
            self.mesh.set_reference(grown, params.at_size(s))
        else:
            self.kp_source = motion_input(self.model, params, params, self.config.keypoints,
                                          self.config.expr_max)

    def set_bank(self, pictures: list) -> None:
        """Bank pictures reach the mesh warp the network starts from (mouth and eyes pasted
        from the held picture that fits the frame) when the crop is the network's size."""
        if self.mesh is not None and all(p.canvas.shape[0] == self.config.size
                                         for p in pictures):
            self.mesh.set_bank(pictures)

    def render(self, driving: DrivingState) -> np.ndarray:
        return render_batch([self], [driving])[0]

    @staticmethod
    def render_batch(renderers: list[NeuralRenderer],
                     states: list[DrivingState]) -> list[np.ndarray]:
        """What a host's batcher calls (`codec/render/batching.py`)."""
        return render_batch(renderers, states)

    def _frame_inputs(self, driving: DrivingState) -> list[torch.Tensor]:
        """This call's arguments of the network's `render`, each with a batch of one."""
        if self.features is None:
            raise RuntimeError("render() before set_reference()")
        if self.mesh is not None:
            return [self.features, self.source, *self._mesh_inputs(driving)]
        c = self.config
        d = motion_input(self.model, self.reference, driving.params, c.keypoints, c.expr_max,
                         driving.keypoints)
        return [self.features, *(self._array(a) for a in (
            self.kp_source.keypoints, d.keypoints, jacobian(self.kp_source, d), d.code))]

    def _mesh_inputs(self, driving: DrivingState) -> list[torch.Tensor]:
        s = self.config.size
        params = driving.params.at_size(s)
        keypoints = driving.keypoints if params is driving.params else None
        assert self.mesh is not None
        warped, maps = self.mesh.render_with_map(
            replace(driving, params=params, keypoints=keypoints))
        return [self._tensor(warped), self._array(pixel_map_to_grid(maps, s)),
                self._array(expression_code(params, self.config.expr_max))]

    def _image(self, out: torch.Tensor, size: int) -> np.ndarray:
        image = (out.float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round()
        image = np.ascontiguousarray(image, np.uint8)  # a (H, W, 3) array, not a view of CHW
        if image.shape[0] != size:
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
        return image

    def _tensor(self, image: np.ndarray):
        # (1, 3, H, W) over the HWC pixels: channels-last as the network runs (the batch
        # axis added first, or its stride hides the layout)
        x = torch.from_numpy(np.ascontiguousarray(image))[None].permute(0, 3, 1, 2)
        return x.to(self.device, torch.float32).div(255)

    def _array(self, a: np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(a, np.float32))[None]
        return x.to(self.device)


def render_batch(renderers: list[NeuralRenderer], states: list[DrivingState]) -> list[np.ndarray]:
    """One frame for each (renderer, driving state) pair in one forward pass: the frames
    due across calls that share one network (`for_another_call`)."""
    if len(renderers) != len(states):
        raise ValueError("one driving state per renderer")
    if not renderers:
        return []
    net, device, bf16 = renderers[0].net, renderers[0].device, renderers[0].bf16
    if any(r.net is not net or r.bf16 != bf16 for r in renderers):
        raise ValueError("render_batch: the renderers must share one network and precision")
    with _mode(device, bf16):
        inputs = [r._frame_inputs(d) for r, d in zip(renderers, states, strict=True)]
        out = net.render(*(_stack(column) for column in zip(*inputs, strict=True)))
    return [r._image(out[i], d.params.crop_size)
            for i, (r, d) in enumerate(zip(renderers, states, strict=True))]


def _stack(column: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """One batch of the calls' tensors; a single call's as it is (a copy of a 256² picture
    and map costs a millisecond on a CPU)."""
    return column[0] if len(column) == 1 else torch.cat(column)


def _mode(device: torch.device, bf16: bool):
    stack = contextlib.ExitStack()
    stack.enter_context(torch.inference_mode())
    if bf16:
        stack.enter_context(torch.autocast(device.type, torch.bfloat16))
    return stack


def _load(model: FlameModel, checkpoint: str | Path | None, device: str | None):
    """(config, network in eval mode on its device, device) from a checkpoint; every
    reason it cannot be used is a RendererUnavailableError in one line."""
    checkpoint = checkpoint or default_checkpoint()
    if not checkpoint:
        raise RendererUnavailableError(
            "--renderer neural: no shipped checkpoint found (models/zoo/mesh-cpu.pt) and "
            "no --checkpoint given; use --renderer meshwarp meanwhile"
        )
    try:
        config, data = load_checkpoint(checkpoint, model.prior_id)
    except CheckpointError as exc:
        raise RendererUnavailableError(str(exc)) from None
    if config.mode != "flame":
        raise RendererUnavailableError(
            f"{checkpoint}: a {config.mode} checkpoint is driven by its own keypoint "
            "detector, not by the bitstream; the receiver needs a flame-mode one"
        )
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RendererUnavailableError(f"--device {device}: this torch sees no CUDA device")
    net = build_generator(config)
    net.load_state_dict({k: v.float() for k, v in data["generator"].items()})
    return config, channels_last(net.eval().to(dev)), dev
