"""Renderers: turn a decoded driving state and the reference picture into a frame."""

from __future__ import annotations

from codec.prior.flame import FlameModel
from codec.render.base import DrivingState, Renderer

RENDERERS = ("meshwarp", "neural")


class RendererUnavailableError(RuntimeError):
    """A renderer that cannot run here (no weights, no torch, no GPU); the message says why."""


def make_renderer(name: str, model: FlameModel, weights: str | None = None) -> Renderer:
    if name == "meshwarp":
        from codec.render.meshwarp import MeshWarpRenderer

        return MeshWarpRenderer(model)
    if name == "neural":
        from codec.render.neural import NeuralRenderer

        return NeuralRenderer(model, weights)
    raise ValueError(f"renderer must be one of {RENDERERS}, got {name!r}")


__all__ = ["RENDERERS", "DrivingState", "Renderer", "RendererUnavailableError", "make_renderer"]
