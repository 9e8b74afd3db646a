"""A mesh-warp renderer that keeps every DrivingState it was asked to render, in order."""

from __future__ import annotations

from codec.render.meshwarp import MeshWarpRenderer


class Recording(MeshWarpRenderer):
    def __init__(self, model):
        super().__init__(model)
        self.order: list[int] = []
        self.states: dict = {}

    def render(self, driving):
        self.order.append(driving.seq)
        self.states[driving.seq] = driving
        return super().render(driving)
