"""A real call on loopback: uvicorn signaling, two aiortc peers, data channels over UDP."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from benchmarks.loopback import loopback_call
from codec.config import EncoderConfig
from codec.prior.flame_io import load_prior
from codec.prior.params import landmarks_in_crop
from codec.render.meshwarp import MeshWarpRenderer
from receiver.config import ReceiverConfig
from receiver.sinks import FileSink
from sender.capture import FileSource, SyntheticSource
from sender.config import SenderConfig
from tests.recording import Recording
from tests.waiting import until


@pytest.fixture(scope="module")
def model():
    return load_prior()


def call(model, source, frames: int, loss: float = 0.0, fpm: int = 1, sinks=()):
    renderer, sent = Recording(model), {}
    config = SenderConfig(EncoderConfig(), frames_per_message=fpm, simulate_loss=loss,
                          loss_seed=7, max_frames=frames)
    summary = asyncio.run(loopback_call(
        model, source, config, ReceiverConfig(), renderer, sinks=sinks,
        on_frame=lambda enc: sent.__setitem__(enc.seq, enc.decoded), say=lambda _m: None,
    ))  # fmt: skip
    return summary, sent, renderer.states


def test_dev_clip_end_to_end(model, dev_dir, tmp_path):
    out = tmp_path / "received.mp4"
    sink = FileSink(out)
    summary, _sent, got = call(model, FileSource(dev_dir / "dagan_driving.mp4"), 150,
                              sinks=[sink])
    assert summary["frames_sent"] == 150
    assert summary["frames_rendered"] >= 0.95 * 150
    assert sink.written == max(got) - min(got) + 1 >= 0.95 * 150
    from codec.video import read_frames

    assert sum(1 for _ in read_frames(out)) == sink.written
    assert 0 < summary["latency_ms_p50"] < 1000
    assert summary["payload_bytes_per_frame"] < 80 and summary["bad_packets"] == 0
    steps = summary["join_steps_s"]  # where the time to the first picture went, in order
    order = list(steps)
    assert order[0] == "offer" and order[-1] == "first frame"
    assert steps["ice"] <= steps["dtls"] <= steps["control channel"] <= steps["hello"]
    assert steps["hello"] <= steps["reference"] <= steps["first frame"]
    print("loopback:", {k: summary[k] for k in ("latency_ms_p50", "receiver_fps",
                                                 "wire_bytes_per_frame", "join_steps_s")})


@pytest.mark.parametrize("loss", [0.1, 0.3])
def test_loss_on_the_motion_channel(model, loss):
    summary, sent, got = call(model, SyntheticSource(model), 100, loss=loss)
    seqs = sorted(s for s, state in sent.items() if state is not None)
    lost = [s for s in seqs if s not in got]
    assert summary["frames_rendered"] == len(got) >= 0.5 * len(seqs)
    assert abs(len(lost) / len(seqs) - loss) < 0.12
    # Every received frame decodes to exactly the sender's own closed-loop state: no drift.
    err = {s: _landmark_error(model, got[s], sent[s]) for s in got}
    assert max(err.values()) < 1e-6
    # A lost frame shows the last received one: its error is the motion since then.
    held = [_landmark_error(model, got[max(g for g in got if g < s)], sent[s])
            for s in lost if any(g < s for g in got)]
    assert held and np.mean(held) > 0.05


def test_receiver_leaving_and_sender_restarting(model):
    """The receiver survives a sender that ends and comes back, with a new stream."""

    async def scenario():
        from receiver.service import Receiver
        from receiver.web import BackgroundServer
        from sender.service import Sender
        from signaling.app import create_app
        from signaling.config import SignalingConfig
        from signaling.peer.client import SignalingClient, create_room

        server = BackgroundServer(create_app(SignalingConfig(secret=b"k" * 32)))
        base = f"http://127.0.0.1:{await server.start()}"
        room = await asyncio.to_thread(create_room, base)
        said = []
        receiver = Receiver(model, MeshWarpRenderer(model), ReceiverConfig(),
                            SignalingClient(base, room["room"], room["receiver_token"]),
                            say=said.append)
        receiving = asyncio.create_task(receiver.run())
        counts = []
        for _ in range(2):
            sender = Sender(model, SyntheticSource(model), SenderConfig(max_frames=40),
                            SignalingClient(base, room["room"], room["sender_token"]),
                            say=said.append)
            before = receiver.stats.frames_rendered
            await sender.run()
            await until(lambda b=before: receiver.stats.frames_rendered - b >= 36, 60,
                        "the receiver to render the stream")
            counts.append(receiver.stats.frames_rendered)
        receiver.stop()
        await receiving
        await server.stop()
        return counts, said

    counts, said = asyncio.run(scenario())
    assert counts[0] >= 36 and counts[1] - counts[0] >= 36
    assert any("the sender left" in m or "ended the stream" in m for m in said)


def _landmark_error(model, a, b) -> float:
    la, lb = landmarks_in_crop(model, a.params), landmarks_in_crop(model, b.params)
    return float(np.linalg.norm(la - lb, axis=1).mean())


def test_sender_waits_for_the_next_receiver(model):
    """The receiver leaves mid-call: the sender says so, waits, and serves the next one."""

    async def scenario():
        from receiver.service import Receiver
        from receiver.web import BackgroundServer
        from sender.service import Sender
        from signaling.app import create_app
        from signaling.config import SignalingConfig
        from signaling.peer.client import SignalingClient, create_room

        server = BackgroundServer(create_app(SignalingConfig(secret=b"k" * 32)))
        base = f"http://127.0.0.1:{await server.start()}"
        room = await asyncio.to_thread(create_room, base)
        said: list[str] = []
        sender = Sender(model, SyntheticSource(model), SenderConfig(max_frames=90),
                        SignalingClient(base, room["room"], room["sender_token"]),
                        say=said.append)
        sending = asyncio.create_task(sender.run())
        rendered = []
        for _ in range(2):
            receiver = Receiver(model, MeshWarpRenderer(model), ReceiverConfig(),
                                SignalingClient(base, room["room"], room["receiver_token"]),
                                say=lambda _m: None)
            receiving = asyncio.create_task(receiver.run())
            await until(lambda r=receiver: r.stats.frames_rendered >= 15, 60, "15 frames")
            waiting = sum("waiting for a receiver" in m for m in said)
            receiver.stop()
            await receiving
            rendered.append(receiver.stats.frames_rendered)
            await until(lambda w=waiting: sum("waiting for a receiver" in m for m in said) > w,
                        60, "the sender to notice the receiver left")
        sender.stop()
        summary = await sending
        await server.stop()
        return rendered, said, summary

    rendered, said, summary = asyncio.run(scenario())
    assert min(rendered) >= 15
    assert any("waiting for a receiver" in m for m in said)
    assert summary["references"] >= 2  # each receiver got a stream of its own
