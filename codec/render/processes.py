"""Renderers on worker processes, so a host's CPU calls use every core.

A host decodes and renders its calls on threads of one process, and the mesh warp is mostly
interpreter time (~1,100 triangle fills and array operations per frame): threads take turns
on one core however many there are. Here each call's renderer lives in one of a few worker
processes (`RenderProcesses`, one per core by default) and the call holds a proxy
(`ProcessRenderer`) with the renderer's methods: the picture, its parameters and each
frame's driving state go down a pipe, and the frame comes back through a shared-memory
buffer of its worker (copied out before the worker takes its next request): a 256² frame
down a pipe took a sixth of a worker's time in writes the host had to read in 64 KiB steps.
Pipes link this process to children it started itself, so they carry pickles; nothing from
the network reaches them undecoded.

A worker that dies (killed, out of memory) is started again on the next request, and every
proxy on it sends its reference and bank pictures again before its next frame, so a crash
costs the calls on that worker the frame in flight, not the call. One that does not answer
within `reply_timeout_s` (stuck) is killed and treated the same way.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import threading
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from multiprocessing import shared_memory
from multiprocessing.connection import Connection

import numpy as np

from codec.driving import DrivingState
from codec.prior.flame import FlameModel
from codec.prior.params import FaceParams

_calls = count()


class RenderWorkerError(RuntimeError):
    """A render worker process failed a request or exited; the message says which."""


@dataclass(frozen=True)
class _InBuffer:
    """A worker's answer that lies in its frame buffer: an array of this shape and dtype."""

    shape: tuple[int, ...]
    dtype: str


class _Worker:
    """One worker process, the pipe to it and the buffer its frames come back in; requests
    are one at a time (a lock)."""

    def __init__(self, index: int, start: Callable[[], tuple[mp.process.BaseProcess, Connection]],
                 reply_timeout_s: float):
        self.index, self._start, self.reply_timeout_s = index, start, reply_timeout_s
        self.lock = threading.Lock()
        self.process: mp.process.BaseProcess | None = None
        self.pipe: Connection | None = None
        self.generation = 0  # bumped at each (re)start: proxies then resend their pictures
        self.calls = 0
        self.closed = False
        self.buffer: shared_memory.SharedMemory | None = None

    def ask(self, message: tuple, caller: ProcessRenderer | None = None,
            pictures: bool = False, frame_bytes: int = 0):
        """Send one request and wait for its answer, starting the process if needed; a
        `caller` whose pictures this process does not hold (new, or it was restarted) sends
        them all first, after which a `pictures` request has nothing left to say. A request
        for a frame of `frame_bytes` names the buffer the worker may answer in."""
        with self.lock:
            if self.closed:
                raise RenderWorkerError(f"render worker {self.index} has been closed")
            if self.process is None or not self.process.is_alive():
                self._restart()
            if caller is not None and caller.generation != self.generation:
                for request in caller.resend():
                    self._exchange(request)
                caller.generation = self.generation
                if pictures:
                    return None
            if frame_bytes:
                message = (*message, self.frame_buffer(frame_bytes))
            value = self._exchange(message)
            if isinstance(value, _InBuffer):
                assert self.buffer is not None and self.buffer.buf is not None
                size = int(np.prod(value.shape)) * np.dtype(value.dtype).itemsize
                value = np.frombuffer(self.buffer.buf[:size], value.dtype).reshape(value.shape)
                value = value.copy()  # before the buffer is written again
            return value

    def frame_buffer(self, nbytes: int) -> str:
        """The name of this worker's frame buffer, grown to hold `nbytes` (under the lock)."""
        if self.buffer is None or self.buffer.size < nbytes:
            self._free_buffer()
            self.buffer = shared_memory.SharedMemory(create=True, size=max(nbytes, 1))
        return self.buffer.name

    def _free_buffer(self) -> None:
        if self.buffer is not None:
            self.buffer.close()
            with contextlib.suppress(FileNotFoundError):
                self.buffer.unlink()
            self.buffer = None

    def forget(self, call: int) -> None:
        """Free a call's renderer, if this process still runs (a new one never held it)."""
        with self.lock:
            if not self.closed and self.process is not None and self.process.is_alive():
                with contextlib.suppress(RenderWorkerError):
                    self._exchange(("drop", call))

    def _exchange(self, message: tuple):
        assert self.pipe is not None
        try:
            self.pipe.send(message)
            if not self.pipe.poll(self.reply_timeout_s):
                self._discard()
                raise RenderWorkerError(f"render worker {self.index} did not answer in "
                                        f"{self.reply_timeout_s:g} s; it was stopped")
            ok, value = self.pipe.recv()
        except (EOFError, OSError) as exc:
            self._discard()
            raise RenderWorkerError(f"render worker {self.index} exited ({exc})") from None
        if not ok:
            raise RenderWorkerError(f"render worker {self.index}: {value}")
        return value

    def _restart(self) -> None:
        self._discard()
        self.process, self.pipe = self._start()
        self.generation += 1

    def _discard(self) -> None:
        if self.pipe is not None:
            self.pipe.close()
        if self.process is not None and self.process.is_alive():
            self.process.kill()
        if self.process is not None:
            self.process.join(5)
        self.process = self.pipe = None

    def close(self) -> None:
        with self.lock:
            self.closed = True
            if self.pipe is not None:
                with contextlib.suppress(OSError):
                    self.pipe.send(("quit",))
            if self.process is not None:
                self.process.join(5)
            self._discard()
            self._free_buffer()


class RenderProcesses:
    """`processes` worker processes holding renderers made by `make_renderer(name, model)`;
    `renderer()` gives a new call its proxy on the worker with the fewest calls."""

    def __init__(self, name: str, model: FlameModel, processes: int,
                 reply_timeout_s: float = 20.0):
        if processes < 1:
            raise ValueError(f"render processes must be >= 1, got {processes}")
        self.name = name
        context = mp.get_context("spawn")  # the host runs threads and an event loop

        def start() -> tuple[mp.process.BaseProcess, Connection]:
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs, name, model), daemon=True,
                                      name="facecodec-render")  # fmt: skip
            process.start()
            theirs.close()
            return process, ours

        self.workers = [_Worker(i, start, reply_timeout_s) for i in range(processes)]

    def start(self) -> None:
        """Start every worker now (each loads the codec, ~1 s) rather than at a first frame."""
        for worker in self.workers:
            worker.ask(("ping",))

    def renderer(self) -> ProcessRenderer:
        worker = min(self.workers, key=lambda w: w.calls)
        worker.calls += 1
        return ProcessRenderer(self.name, worker)

    def close(self) -> None:
        for worker in self.workers:
            worker.close()


class ProcessRenderer:
    """One call's renderer in a worker process (the `Renderer` protocol, and `set_bank`)."""

    def __init__(self, name: str, worker: _Worker):
        self.name, self.worker = name, worker
        self.call = next(_calls)
        self.generation = -1  # the worker generation that holds our pictures
        self._reference: tuple[np.ndarray, FaceParams] | None = None
        self._bank: list = []
        self._sent_bank: dict[int, object] = {}  # slot -> the picture the worker holds there
        self._closed = False

    def set_reference(self, picture: np.ndarray, params: FaceParams) -> None:
        self._reference = (picture, params)
        self.worker.ask(("reference", self.call, picture, params), self, pictures=True)

    def set_bank(self, pictures: list) -> None:
        """Send only the pictures the worker does not hold yet, so the renderer there keeps
        its own objects (and the choice it made between them) for the others."""
        self._bank = list(pictures)
        if self._reference is not None:
            self.worker.ask(self._bank_request(), self, pictures=True)

    def render(self, driving: DrivingState) -> np.ndarray:
        if self._reference is None:
            raise RuntimeError("set_reference must be called before render")
        size = self._reference[1].crop_size  # the frame is the reference's crop
        return self.worker.ask(("render", self.call, driving), self,
                               frame_bytes=size * size * 3)  # fmt: skip

    def close(self) -> None:
        """Free this call's renderer in its worker."""
        if not self._closed:
            self._closed = True
            self.worker.calls -= 1
            self.worker.forget(self.call)

    def resend(self) -> list[tuple]:
        """The requests that give a fresh worker this call's reference and whole bank (from
        then on counted as held there)."""
        if self._reference is None:
            return []
        self._sent_bank = {}
        return [("reference", self.call, *self._reference), self._bank_request()]

    def _bank_request(self) -> tuple:
        held = [(p.slot, None if self._sent_bank.get(p.slot) is p else p) for p in self._bank]
        self._sent_bank = {p.slot: p for p in self._bank}
        return ("bank", self.call, held)


def _serve(pipe: Connection, name: str, model: FlameModel) -> None:
    """A worker process: one renderer per call, requests answered in order."""
    from codec.render import make_renderer
    from codec.threads import size_for_a_call

    size_for_a_call()
    calls: dict[int, _Call] = {}
    buffers = _Buffers()
    while True:
        try:
            message = pipe.recv()
        except (EOFError, OSError):
            return
        if message[0] == "quit":
            return
        try:
            answer = _handle(message, calls, lambda: make_renderer(name, model))
            if message[0] == "render":
                answer = buffers.put(answer, message[3])
            pipe.send((True, answer))
        except Exception as exc:  # the call's own error: the worker goes on for the others
            pipe.send((False, f"{type(exc).__name__}: {exc}"))


class _Buffers:
    """In a worker: the host's frame buffer, attached once per name."""

    def __init__(self) -> None:
        self.attached: shared_memory.SharedMemory | None = None

    def put(self, frame: np.ndarray, name: str) -> _InBuffer | np.ndarray:
        """Write `frame` into the buffer called `name`; where it does not fit, the frame."""
        if self.attached is None or self.attached.name != name:
            if self.attached is not None:
                self.attached.close()
            self.attached = _attach(name)
        buf = self.attached.buf
        if buf is None or frame.nbytes > self.attached.size:
            return frame
        view = np.frombuffer(buf[: frame.nbytes], frame.dtype)
        view[:] = frame.reshape(-1)
        del view, buf  # no export may outlive the buffer's close
        return _InBuffer(frame.shape, frame.dtype.str)


def _attach(name: str) -> shared_memory.SharedMemory:
    """The host's buffer, not tracked here: the host made it and unlinks it (Python 3.13
    asks; before it, the worker shares the host's resource tracker, which forgets it once)."""
    try:
        return shared_memory.SharedMemory(name, track=False)  # type: ignore[call-arg]
    except TypeError:  # Python < 3.13
        return shared_memory.SharedMemory(name)


class _Call:
    """In a worker: one call's renderer and the bank pictures it holds, by slot."""

    def __init__(self, renderer):
        self.renderer, self.bank = renderer, {}


def _handle(message: tuple, calls: dict[int, _Call], make: Callable):
    kind = message[0]
    if kind == "ping":
        return None
    call = message[1]
    if kind == "drop":
        calls.pop(call, None)
        return None
    if kind == "reference":
        if call not in calls:
            calls[call] = _Call(make())
        calls[call].renderer.set_reference(message[2], message[3])
        return None
    state = calls.get(call)
    if state is None:
        raise RuntimeError("no reference for this call in its worker")
    if kind == "bank":
        state.bank = {slot: state.bank[slot] if p is None else p for slot, p in message[2]}
        set_bank = getattr(state.renderer, "set_bank", None)
        if set_bank is not None:
            set_bank(list(state.bank.values()))
        return None
    if kind == "render":
        return state.renderer.render(message[2])
    raise ValueError(f"unknown request {kind!r}")
