"""Many calls in one receiver process: `facecodec host`.

Each call is a `Receiver` in its own room: its own signaling client, WebRTC link, inbox,
decoder, references and sinks, so one call's failure or hostile packets stay in that call.
What the calls share is the rendering: one pool of worker threads (each call keeps one
packet in flight, so its frames stay in order) and one renderer's weights. A renderer that
can render several calls' frames in one pass (the neural one) gets them through a
`Batcher`; the mesh warp gives each call its own renderer in one of a few render processes
(`codec.render.processes`, one per core), since threads of one process take turns on one
core for its interpreter-bound work.

Limits are stated and enforced here: `max_calls` per host (a call past it is refused with
`HostFullError`), and per call the receiver's bounded inbox (`ReceiverConfig`). A call that
ends (its sender's Bye, a failed link, a signaling refusal) is logged with its room and
removed; `close()` ends every call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from codec import usage
from codec.prior.flame import FlameModel
from codec.render import Renderer
from codec.render.batching import BatchedRenderer, Batcher, batch_function
from codec.render.processes import RenderProcesses
from receiver.config import ReceiverConfig
from receiver.service import Edit, Receiver
from receiver.sinks import FrameSink, LatestFrame
from receiver.viewer import Viewers
from signaling.peer.client import SignalingClient, SignalingError

log = logging.getLogger("facecodec.host")


class _Pool(ThreadPoolExecutor):
    """The calls' shared decode and render threads, counting the work waiting for one."""

    def __init__(self, workers: int):
        super().__init__(workers, thread_name_prefix="host-render")
        self.workers, self.waiting = workers, 0
        self._count = threading.Lock()

    def submit(self, fn, /, *args, **kwargs):
        with self._count:
            self.waiting += 1

        def started():
            with self._count:
                self.waiting -= 1
            return fn(*args, **kwargs)

        return super().submit(started)


class HostFullError(RuntimeError):
    """The host holds `max_calls` calls already."""


class CallExistsError(ValueError):
    """That room already has a call on this host."""


@dataclass(frozen=True)
class HostConfig:
    max_calls: int = 16
    workers: int = 0  # render threads shared by the calls; 0: one per core (batching: max_calls)
    # Render processes for the mesh warp's calls; None: one per core; 0: render on the
    # host's own threads. (The neural renderer batches its calls on one device instead.)
    processes: int | None = None
    receiver: ReceiverConfig = field(default_factory=ReceiverConfig)
    batch_window_s: float = 0.004  # how long a batch waits for other calls' frames

    def __post_init__(self) -> None:
        if not 1 <= self.max_calls <= 1024:
            raise ValueError(f"max_calls must be 1..1024, got {self.max_calls}")
        if self.workers < 0:
            raise ValueError("workers must be >= 0")
        if self.processes is not None and not 0 <= self.processes <= 256:
            raise ValueError(f"render processes must be 0..256, got {self.processes}")


@dataclass
class Call:
    room: str
    receiver: Receiver
    task: asyncio.Task
    latest: LatestFrame  # what the call's page shows
    viewers: Viewers  # browsers watching it over WebRTC
    view: str = field(default_factory=lambda: secrets.token_urlsafe(16))  # the page's secret
    started: float = field(default_factory=time.monotonic)
    ended: str | None = None  # why, once it has ended


class Host:
    def __init__(self, model: FlameModel, renderer: Renderer, config: HostConfig,
                 signal_url: str, ca_file: str | None = None,
                 sinks: Callable[[str], list[FrameSink]] = lambda _room: [],
                 edit: Edit | None = None, say: Callable[[str], None] = print):
        """`renderer` is the first call's; later calls get their own on the same weights
        (`for_another_call`, when the renderer has it) or a copy made the same way."""
        self.model, self.config, self.signal_url, self.ca_file = model, config, signal_url, ca_file
        self.make_sinks, self.edit, self.say = sinks, edit, say
        self.first: Renderer | None = renderer
        self.template = renderer
        batch = batch_function(renderer)
        self.batcher = Batcher(batch, config.max_calls, config.batch_window_s) if batch else None
        cores = os.cpu_count() or 1
        processes = cores if config.processes is None else config.processes
        self.processes = None
        if processes and renderer.name == "meshwarp":  # others need weights or batch
            self.processes = RenderProcesses(renderer.name, model, processes)
            self.processes.start()
            self.first = None
        # Threads wait on render processes: twice as many keep them all busy.
        threads = 2 * processes if self.processes else cores
        workers = config.workers or (config.max_calls if self.batcher else threads)
        self.pool = _Pool(workers)
        self.calls: dict[str, Call] = {}
        self.ended: list[dict] = []  # summaries of calls that ended, newest last (bounded)
        self.started = time.monotonic()
        self._cpu0 = usage.cpu_seconds()

    # -- calls ------------------------------------------------------------------------------
    async def add(self, room: str, token: str) -> Call:
        """Join `room` with `token` and receive its call until it ends or `end(room)`."""
        if room in self.calls:
            raise CallExistsError(f"room {room} already has a call on this host")
        if len(self.calls) >= self.config.max_calls:
            raise HostFullError(f"this host holds its limit of {self.config.max_calls} calls")
        client = SignalingClient(self.signal_url, room, token, self.ca_file)
        latest = LatestFrame()
        receiver = Receiver(self.model, self._renderer(), self.config.receiver, client,
                            [*self.make_sinks(room), latest], self.edit,
                            say=self._say_for(room), pool=self.pool, label=room)
        viewers = Viewers(latest, self.config.receiver.ice_servers)
        call = Call(room, receiver, asyncio.create_task(receiver.run()), latest, viewers)
        self.calls[room] = call
        call.task.add_done_callback(lambda _t: self._ended(call))
        self.say(f"[{room}] call added ({len(self.calls)} of {self.config.max_calls})")
        return call

    async def end(self, room: str) -> dict:
        """End one call (its link closed, its sinks finished); its summary."""
        call = self.calls.get(room)
        if call is None:
            raise KeyError(room)
        call.receiver.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(call.task), 10)
        call.task.cancel()
        return self._summary(call)

    async def close(self) -> list[dict]:
        """End every call; the summaries of all calls this host has held."""
        await asyncio.gather(*(self.end(room) for room in list(self.calls)),
                             return_exceptions=True)
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self.processes is not None:
            await asyncio.to_thread(self.processes.close)
        return list(self.ended)

    # -- figures ------------------------------------------------------------------------------
    def status(self) -> dict:
        calls = {room: self._figures(call) for room, call in self.calls.items()}
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return {
            "calls": len(calls), "max_calls": self.config.max_calls,
            "renderer": self.template.name, "workers": self.pool.workers,
            "render_processes": len(self.processes.workers) if self.processes else 0,
            "fps": sum(c["fps"] for c in calls.values()),
            "frames_rendered": sum(c["frames_rendered"] for c in calls.values()),
            "frames_dropped": sum(c["stale_dropped"] for c in calls.values()),
            "render_queue": self.pool.waiting,
            "batches": self.batcher.batches if self.batcher else None,
            "cpu_percent": round(100 * (usage.cpu_seconds() - self._cpu0) / elapsed, 1),
            "rss_mib": round(usage.rss_mib()),  # render processes included
            "ended_calls": len(self.ended),
            "per_call": calls,
        }  # fmt: skip

    def viewing(self, view: str) -> Call | None:
        """The call whose page secret this is."""
        return next((c for c in self.calls.values()
                     if secrets.compare_digest(c.view, view)), None)

    def _figures(self, call: Call) -> dict:
        stats = call.receiver.stats
        summary = stats.summary()
        return {**stats.live(), "stale_dropped": stats.stale, "bad_packets": stats.bad_packets,
                "latency_ms_p95": summary["latency_ms_p95"],
                "render_ms_p50": summary["render_ms_p50"],
                "seconds": round(time.monotonic() - call.started, 1),
                "page": f"/view/{call.view}/"}

    # -- internals ----------------------------------------------------------------------------
    def _renderer(self) -> Renderer:
        if self.processes is not None:
            return self.processes.renderer()
        renderer, self.first = self.first or self._another(), None
        return BatchedRenderer(renderer, self.batcher) if self.batcher else renderer

    def _another(self) -> Renderer:
        share = getattr(self.template, "for_another_call", None)
        if share is not None:
            return share()
        return type(self.template)(self.model)  # type: ignore[call-arg]

    def _say_for(self, room: str) -> Callable[[str], None]:
        return lambda message: self.say(f"[{room}] {message}")

    def _ended(self, call: Call) -> None:
        if self.calls.get(call.room) is not call:
            return
        del self.calls[call.room]
        why = "ended"
        if call.task.cancelled():
            why = "ended by the host"
        elif (exc := call.task.exception()) is not None:
            why = f"failed: {exc}" if isinstance(exc, SignalingError | OSError) else \
                f"failed: {type(exc).__name__}: {exc}"
            log.warning("[%s] %s", call.room, why)
        call.ended = why
        asyncio.get_running_loop().create_task(call.viewers.close())
        release = getattr(call.receiver.renderer, "close", None)
        if release is not None:  # its renderer in a render process
            asyncio.get_running_loop().run_in_executor(None, release)
        self.ended = [*self.ended[-255:], self._summary(call)]
        self.say(f"[{call.room}] call {why} ({len(self.calls)} left)")

    def _summary(self, call: Call) -> dict:
        return {"room": call.room, "ended": call.ended,
                "seconds": round(time.monotonic() - call.started, 1),
                **call.receiver.stats.summary()}
