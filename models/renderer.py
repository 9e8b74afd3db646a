"""The neural renderer: a trained warping generator drives the reference picture.

`set_reference` computes the appearance features once per reference (the expensive part);
`render` runs only the per-frame part. With a mesh-guided checkpoint (the shipped default,
`models/zoo/`) the frame starts from the CPU mesh warp and its dense map, which the network
corrects; with a face-vid2vid-style checkpoint it runs the keypoint motion field. The codec
finds it by name through the `facecodec.renderers` entry point, so only a receiver that asks
for `--renderer neural` loads torch. On CUDA it renders in bf16; a checkpoint trained at a
smaller size renders at its size and is resized to the crop.
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
from codec.render.meshwarp import MeshWarpRenderer
from models.checkpoint import CheckpointError, load_checkpoint
from models.generator import build_generator
from models.inputs import expression_code, jacobian, motion_input, pixel_map_to_grid

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "zoo" / "mesh-cpu.pt"


def default_checkpoint() -> Path | None:
    return DEFAULT_CHECKPOINT if DEFAULT_CHECKPOINT.is_file() else None


class NeuralRenderer:
    name = "neural"

    def __init__(self, model: FlameModel, checkpoint: str | None = None,
                 device: str | None = None):
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
        self.model, self.config = model, config
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        net = build_generator(config)
        net.load_state_dict({k: v.float() for k, v in data["generator"].items()})
        self.net = net.eval().to(self.device)
        if self.device.type == "cuda":
            self.net = self.net.to(memory_format=torch.channels_last)
        self.mesh = None
        if config.generator == "mesh":
            self.mesh = MeshWarpRenderer(model)
        self.features = None
        self.source = None
        self.reference: FaceParams | None = None

    def set_reference(self, picture: np.ndarray, params: FaceParams) -> None:
        s = self.config.size
        small = picture if picture.shape[0] == s else cv2.resize(
            picture, (s, s), interpolation=cv2.INTER_AREA)
        self.source = self._tensor(small)
        with self._mode():
            self.features = self.net.appearance(self.source)
        self.reference = params
        if self.mesh is not None:
            self.mesh.set_reference(small, _at_size(params, s))
        else:
            self.kp_source = motion_input(self.model, params, params, self.config.keypoints,
                                          self.config.expr_max)

    def render(self, driving: DrivingState) -> np.ndarray:
        if self.features is None:
            raise RuntimeError("render() before set_reference()")
        with self._mode():
            out = self._mesh_frame(driving) if self.mesh is not None else self._kp_frame(driving)
        image = (out[0].float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round()
        image = image.astype(np.uint8)
        size = driving.params.crop_size
        if image.shape[0] != size:
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
        return image

    def _mesh_frame(self, driving: DrivingState):
        s = self.config.size
        params = _at_size(driving.params, s)
        warped, maps = self.mesh.render_with_map(
            DrivingState(driving.seq, driving.time_ms, driving.ref_id, params, None))
        grid = self._array(pixel_map_to_grid(maps, s))
        code = self._array(expression_code(params, self.config.expr_max))
        return self.net.render(self.features, self.source, self._tensor(warped), grid, code)

    def _kp_frame(self, driving: DrivingState):
        c = self.config
        d = motion_input(self.model, self.reference, driving.params, c.keypoints, c.expr_max,
                         driving.keypoints)
        return self.net.render(self.features, self._array(self.kp_source.keypoints),
                               self._array(d.keypoints), self._array(jacobian(self.kp_source, d)),
                               self._array(d.code))

    def _tensor(self, image: np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
        return x.to(self.device).to(self.dtype).div(255)

    def _array(self, a: np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(a, np.float32))[None]
        return x.to(self.device).to(self.dtype)

    def _mode(self):
        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode())
        if self.device.type == "cuda":
            stack.enter_context(torch.autocast("cuda", torch.bfloat16))
        return stack


def _at_size(params: FaceParams, size: int) -> FaceParams:
    """The same face in a crop of another size (the camera scales with it)."""
    if params.crop_size == size:
        return params
    k = size / params.crop_size
    return replace(params, scale=params.scale * k, trans=params.trans * k, crop_size=size)
