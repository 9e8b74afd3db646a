"""Renderers in worker processes (a host's mesh-warp calls on every core): the same frames
as in this process, bank pictures kept, a killed worker restarted without losing the call,
one call's error leaving the other calls on its worker alone."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from bitstream import PacketType, decode_packet, packet_type
from codec.config import EncoderConfig, without_refresh
from codec.decoder import Decoder
from codec.encoder import Encoder
from codec.prior.flame_io import load_prior
from codec.render.meshwarp import MeshWarpRenderer
from codec.render.processes import RenderProcesses, RenderWorkerError
from codec.synthetic import SyntheticConfig, make_clip


@pytest.fixture(scope="module")
def model():
    return load_prior()


@pytest.fixture(scope="module")
def packets(model):
    """A synthetic head that talks and blinks (so bank pictures are sent), encoded."""
    clip = make_clip(model, SyntheticConfig(seconds=4.0, seed=3))
    enc = Encoder(model, without_refresh(EncoderConfig(mode="params")), 25.0)
    out = list(enc.start())
    for frame in clip.frames:
        out += enc.encode(frame).packets
    enc.close()
    assert any(packet_type(p) == PacketType.REFERENCE and decode_packet(p).bank is not None
               for p in out)  # fmt: skip
    return out


@pytest.fixture
def processes(model):
    procs = RenderProcesses("meshwarp", model, 1)
    yield procs
    procs.close()


def frames(decoder: Decoder, packets) -> dict[int, np.ndarray]:
    out = {}
    for p in packets:
        shown = decoder.push(p)
        if shown is not None:
            out[shown.seq] = shown.image
    return out


def test_a_worker_renders_what_this_process_does(model, packets, processes):
    here = frames(Decoder(model, MeshWarpRenderer(model)), packets)
    there = frames(Decoder(model, processes.renderer()), packets)
    assert here.keys() == there.keys() and len(here) >= 90
    assert all(np.array_equal(here[s], there[s]) for s in here)


def test_a_killed_worker_is_restarted_and_the_call_goes_on(model, packets, processes):
    here = frames(Decoder(model, MeshWarpRenderer(model)), packets)
    decoder = Decoder(model, processes.renderer())
    half = len(packets) // 2
    before = frames(decoder, packets[:half])
    worker = processes.workers[0]
    assert worker.process is not None
    worker.process.kill()
    worker.process.join(10)
    after = {}
    for p in packets[half:]:
        try:
            shown = decoder.push(p)
        except RenderWorkerError as exc:  # the frame in flight when it died
            assert "exited" in str(exc)
            continue
        if shown is not None:
            after[shown.seq] = shown.image
    assert worker.generation == 2 and len(after) >= 40
    assert all(np.array_equal(here[s], img) for s, img in {**before, **after}.items())


def test_a_stuck_worker_is_stopped_and_replaced(model, packets):
    procs = RenderProcesses("meshwarp", model, 1, reply_timeout_s=1.0)
    try:
        decoder = Decoder(model, procs.renderer())
        assert len(frames(decoder, packets[:10])) >= 5
        worker = procs.workers[0]
        assert worker.process is not None and worker.process.pid is not None
        os.kill(worker.process.pid, signal.SIGSTOP)  # alive, but answers nothing
        with pytest.raises(RenderWorkerError, match="did not answer in 1 s"):
            frames(decoder, packets[10:20])
        assert len(frames(decoder, packets[20:40])) >= 10 and worker.generation == 2
    finally:
        procs.close()


def test_one_calls_error_leaves_the_others_on_its_worker(model, packets, processes):
    good, bad = processes.renderer(), processes.renderer()
    assert good.worker is bad.worker
    decoder = Decoder(model, good)
    frames(decoder, packets[:10])
    with pytest.raises(RuntimeError, match="set_reference"):
        bad.render(decoder.last.driving)  # no reference sent yet: refused here
    bad._reference = good._reference  # ...and in the worker, a frame it cannot render:
    bad.generation = bad.worker.generation  # it believes the worker holds its picture
    with pytest.raises(RenderWorkerError, match="no reference"):
        bad.render(decoder.last.driving)
    assert len(frames(decoder, packets[10:30])) >= 10
    bad.close()
    good.close()
    assert good.worker.calls == 0


def test_a_new_call_sends_its_reference_once(model, packets, processes):
    sent = []
    worker = processes.workers[0]
    exchange = worker._exchange
    worker._exchange = lambda message: (sent.append(message[0]), exchange(message))[1]
    decoder = Decoder(model, processes.renderer())
    frames(decoder, packets[:30])
    assert sent.count("reference") == 1 and sent[sent.index("reference") + 1] == "bank"
