"""The neural renderer: a trained warping generator drives the reference picture.

`set_reference` computes the appearance volume once per reference (the expensive part);
`render` runs only the motion field and the generator. Torch loads lazily, here only, so
the codec and the CPU receiver never need it. On CUDA it renders in bf16 with channels-last
tensors; a checkpoint trained at a smaller size renders at its size and is resized to the
crop.
"""

from __future__ import annotations

import cv2
import numpy as np

from codec.prior.flame import FlameModel
from codec.prior.params import FaceParams
from codec.render.base import DrivingState


class NeuralRenderer:
    name = "neural"

    def __init__(self, model: FlameModel, checkpoint: str | None, device: str | None = None):
        from codec.render import RendererUnavailableError

        if not checkpoint:
            raise RendererUnavailableError(
                "--renderer neural needs --checkpoint RUN_DIR/last.pt "
                "(train one with facecodec train); use --renderer meshwarp meanwhile"
            )
        try:
            import torch

            from models.checkpoint import CheckpointError, load_checkpoint
            from models.generator import WarpingGenerator
        except ImportError:
            raise RendererUnavailableError(
                'the neural renderer needs torch (pip install -e ".[train]")'
            ) from None
        try:
            config, data = load_checkpoint(checkpoint, model.prior_id)
        except CheckpointError as exc:
            raise RendererUnavailableError(str(exc)) from None
        if config.mode != "flame":
            raise RendererUnavailableError(
                f"{checkpoint}: a {config.mode} checkpoint is driven by its own keypoint "
                "detector, not by the bitstream; the receiver needs a flame-mode one"
            )
        self.torch, self.model, self.config = torch, model, config
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        net = WarpingGenerator(config)
        net.load_state_dict(data["generator"])
        self.net = net.eval().to(self.device)
        if self.device.type == "cuda":
            self.net = self.net.to(memory_format=torch.channels_last)
        self.volume = None
        self.source = None
        self.reference: FaceParams | None = None

    def set_reference(self, picture: np.ndarray, params: FaceParams) -> None:
        from models.inputs import motion_input

        s = self.config.size
        small = cv2.resize(picture, (s, s), interpolation=cv2.INTER_AREA)
        x = self.torch.from_numpy(small).permute(2, 0, 1)[None].float().div(255)
        with self._mode():
            self.volume = self.net.appearance(x.to(self.device))
        self.reference = params
        self.source = motion_input(self.model, params, params, self.config.keypoints,
                                   self.config.expr_max)

    def render(self, driving: DrivingState) -> np.ndarray:
        from models.inputs import jacobian, motion_input

        if self.volume is None:
            raise RuntimeError("render() before set_reference()")
        c = self.config
        d = motion_input(self.model, self.reference, driving.params, c.keypoints, c.expr_max,
                         driving.keypoints)
        t = self.torch
        as_t = lambda a: t.from_numpy(np.ascontiguousarray(a, np.float32))[None].to(self.device)  # noqa: E731
        with self._mode():
            out = self.net.render(self.volume, as_t(self.source.keypoints), as_t(d.keypoints),
                                  as_t(jacobian(self.source, d)), as_t(d.code))
        image = (out[0].float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round()
        image = image.astype(np.uint8)
        size = driving.params.crop_size
        if image.shape[0] != size:
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
        return image

    def _mode(self):
        import contextlib

        stack = contextlib.ExitStack()
        stack.enter_context(self.torch.inference_mode())
        if self.device.type == "cuda":
            stack.enter_context(self.torch.autocast("cuda", self.torch.bfloat16))
        return stack
