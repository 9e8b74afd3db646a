"""Renderers: turn a decoded driving state and the reference picture into a frame.

The codec ships the CPU mesh warp. Other renderers are plug-ins: a package names a factory
`f(model, weights, device=None) -> Renderer` under the `facecodec.renderers` entry-point group (the
neural one is `models.renderer:NeuralRenderer`, declared in pyproject.toml), or calls
`register_renderer` at run time. So the codec never imports torch or `models`, and a
renderer whose package cannot load says why in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

from codec.prior.flame import FlameModel
from codec.render.base import Renderer

GROUP = "facecodec.renderers"
RENDERERS = ("meshwarp", "neural")  # what the command lines offer; "neural" is a plug-in

Factory = Callable[..., Renderer]  # (model, weights[, device])
_registered: dict[str, Factory] = {}


class RendererUnavailableError(RuntimeError):
    """A renderer that cannot run here (no weights, no torch, no GPU); the message says why."""


def register_renderer(name: str, factory: Factory) -> None:
    _registered[name] = factory


def make_renderer(name: str, model: FlameModel, weights: str | None = None,
                  device: str | None = None) -> Renderer:
    """`device` (cpu, cuda, cuda:1) reaches a plug-in renderer; the mesh warp is CPU only."""
    if name == "meshwarp":
        if device not in (None, "cpu"):
            raise RendererUnavailableError(f"--device {device}: the mesh warp runs on the CPU only")
        from codec.render.meshwarp import MeshWarpRenderer

        return MeshWarpRenderer(model)
    factory = _factory(name)
    return factory(model, weights) if device is None else factory(model, weights, device)


def _factory(name: str) -> Factory:
    if name in _registered:
        return _registered[name]
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        raise ValueError(f"renderer must be one of {RENDERERS}, got {name!r}"
                         if name not in RENDERERS else
                         f"renderer {name!r} is not installed (pip install -e .)")
    try:
        factory = found[0].load()
    except ImportError as exc:
        raise RendererUnavailableError(
            f"the {name} renderer cannot load ({exc.name or exc}); "
            'for the neural one: pip install -e ".[train]"'
        ) from None
    _registered[name] = factory
    return factory


__all__ = ["RENDERERS", "Renderer", "RendererUnavailableError", "make_renderer",
           "register_renderer"]
