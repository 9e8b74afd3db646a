"""Frames of many calls rendered in one pass: a micro-batcher for renderers that can.

A host renders each call on a worker thread of one shared pool. A renderer class with a
`render_batch(renderers, states)` function (the neural one: one forward pass for frames of
calls that share a network) gains from taking the frames that are due together: the first
call whose frame arrives leads, waits `window_s` for others to join, renders the batch,
hands every caller its frame, and keeps leading while frames keep coming. Renderers
without `render_batch` (the mesh warp) never go through here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from codec.driving import DrivingState
from codec.prior.params import FaceParams
from codec.render.base import Renderer

BatchFn = Callable[[list, list[DrivingState]], list]


@dataclass
class _Job:
    renderer: Renderer
    state: DrivingState
    done: threading.Event = field(default_factory=threading.Event)
    image: np.ndarray | None = None
    error: BaseException | None = None


class Batcher:
    def __init__(self, render_batch: BatchFn, max_batch: int = 64, window_s: float = 0.004):
        self.render_batch, self.max_batch, self.window_s = render_batch, max_batch, window_s
        self.lock = threading.Lock()
        self.pending: list[_Job] = []
        self.leading = False
        self.batches = 0
        self.frames = 0

    def render(self, renderer: Renderer, state: DrivingState) -> np.ndarray:
        job = _Job(renderer, state)
        with self.lock:
            self.pending.append(job)
            lead = not self.leading
            self.leading = self.leading or lead
        if lead:
            self._lead()
        job.done.wait()
        if job.error is not None:
            raise job.error
        assert job.image is not None
        return job.image

    def _lead(self) -> None:
        time.sleep(self.window_s)  # let the frames of other calls due now join this pass
        while True:
            with self.lock:
                if not self.pending:
                    self.leading = False
                    return
                batch, self.pending = (self.pending[: self.max_batch],
                                       self.pending[self.max_batch:])
            self._run(batch)

    def _run(self, batch: list[_Job]) -> None:
        images: list[np.ndarray | None]
        try:
            images = self.render_batch([j.renderer for j in batch], [j.state for j in batch])
        except Exception:  # one bad frame: each caller renders its own, alone
            images = [self._alone(j) for j in batch]
        self.batches += 1
        self.frames += len(batch)
        for j, image in zip(batch, images, strict=True):
            j.image = image
            j.done.set()


    @staticmethod
    def _alone(job: _Job) -> np.ndarray | None:
        try:
            return job.renderer.render(job.state)
        except Exception as exc:
            job.error = exc
            return None


class BatchedRenderer:
    """One call's renderer whose frames go through a shared `Batcher`."""

    def __init__(self, renderer: Renderer, batcher: Batcher):
        self.renderer, self.batcher = renderer, batcher
        self.name = renderer.name

    def set_reference(self, picture: np.ndarray, params: FaceParams) -> None:
        self.renderer.set_reference(picture, params)

    def set_bank(self, pictures: list) -> None:
        set_bank = getattr(self.renderer, "set_bank", None)
        if set_bank is not None:
            set_bank(pictures)

    def render(self, driving: DrivingState) -> np.ndarray:
        return self.batcher.render(self.renderer, driving)


def batch_function(renderer: Renderer) -> BatchFn | None:
    """The renderer class's `render_batch`, when it has one."""
    return getattr(type(renderer), "render_batch", None)
