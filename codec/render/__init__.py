"""Renderers: turn a decoded driving state and the reference picture into a frame.

The codec ships the CPU mesh warp. Other renderers are plug-ins: a package names a factory
`f(model, weights) -> Renderer` under the `facecodec.renderers` entry-point group (the
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

Factory = Callable[[FlameModel, "str | None"], Renderer]
_registered: dict[str, Factory] = {}


class RendererUnavailableError(RuntimeError):
    """A renderer that cannot run here (no weights, no torch, no GPU); the message says why."""


def register_renderer(name: str, factory: Factory) -> None:
    _registered[name] = factory


def make_renderer(name: str, model: FlameModel, weights: str | None = None) -> Renderer:
    if name == "meshwarp":
        from codec.render.meshwarp import MeshWarpRenderer

        return MeshWarpRenderer(model)
    return _factory(name)(model, weights)


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
