"""The live services over the in-process link pair: scripted loss and reordering, a late
receiver, a receiver that leaves. Real signaling server, real sender and receiver; only the
data channels are replaced, so each scenario is exact and takes a second or two."""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
import pytest

from codec.prior.flame_io import load_prior
from receiver.config import ReceiverConfig
from receiver.service import Receiver
from receiver.web import BackgroundServer
from sender.capture import SyntheticSource
from sender.config import SenderConfig
from sender.service import Sender
from signaling.app import create_app
from signaling.config import SignalingConfig
from signaling.peer.client import SignalingClient, create_room
from tests.inproc_links import Wire
from tests.recording import Recording
from tests.waiting import until

# nothing falls out or is skipped: every outcome is scripted
DEEP = ReceiverConfig(max_queued_motion=10_000, max_wait_s=float("inf"))


@pytest.fixture(scope="module")
def model():
    return load_prior()


@contextlib.asynccontextmanager
async def room():
    server = BackgroundServer(create_app(SignalingConfig(secret=b"k" * 32)))
    base = f"http://127.0.0.1:{await server.start()}"
    try:
        yield base, await asyncio.to_thread(create_room, base)
    finally:
        await server.stop()


def sender(model, wire, base, r, frames=None, sent=None):
    return Sender(model, SyntheticSource(model, fps=50.0), SenderConfig(max_frames=frames),
                  SignalingClient(base, r["room"], r["sender_token"]),
                  on_frame=(lambda e: sent.__setitem__(e.seq, e.decoded)) if sent is not None
                  else None, say=lambda _m: None, links=wire.sender_links())  # fmt: skip


def receiver(model, wire, base, r, until_bye=False):
    rec = Recording(model)
    return rec, Receiver(model, rec, DEEP, SignalingClient(base, r["room"], r["receiver_token"]),
                         say=lambda _m: None, until_bye=until_bye, links=wire.receiver_links())


def scripted_call(model, script, frames=40):
    async def scenario():
        wire, sent = Wire(script), {}
        async with room() as (base, r):
            rec, rx = receiver(model, wire, base, r, until_bye=True)
            receiving = asyncio.create_task(rx.run())
            await sender(model, wire, base, r, frames, sent).run()
            await asyncio.wait_for(receiving, 30)
        return sent, rec, rx.stats, wire

    return asyncio.run(scenario())


def same_state(a, b) -> bool:
    return np.allclose(a.params.psi, b.params.psi) and np.allclose(a.params.pose, b.params.pose)


def test_scripted_loss_renders_exactly_what_arrived(model):
    sent, rec, stats, wire = scripted_call(model, lambda i: None if i % 4 == 1 else 0)
    motion = sorted(s for s, d in sent.items() if d is not None)
    expected = [s for i, s in enumerate(motion) if i % 4 != 1]
    assert wire.dropped == len(motion) - len(expected) > 5
    assert rec.order == expected and stats.bad_packets == 0
    assert all(same_state(rec.states[s], sent[s]) for s in expected)  # no drift after loss


def test_late_packets_are_dropped_as_stale_never_shown_out_of_order(model):
    sent, rec, stats, _wire = scripted_call(model, lambda i: 2 if i % 5 == 2 else 0)
    motion = sorted(s for s, d in sent.items() if d is not None)
    late = {s for i, s in enumerate(motion) if i % 5 == 2 and i + 2 < len(motion)}
    assert rec.order == sorted(rec.order) and late and not late & set(rec.order)
    assert stats.stale == len(late)
    assert set(rec.order) == set(motion) - {s for i, s in enumerate(motion) if i % 5 == 2}


def test_a_late_receiver_is_primed_and_follows_the_running_stream(model):
    async def scenario():
        wire, sent = Wire(), {}
        async with room() as (base, r):
            first, rx1 = receiver(model, wire, base, r)
            tasks = [asyncio.create_task(rx1.run())]
            tx = sender(model, wire, base, r, sent=sent)
            sending = asyncio.create_task(tx.run())
            await until(lambda: len(first.order) >= 10, 60, "the first receiver's frames")
            late, rx2 = receiver(model, wire, base, r)
            tasks.append(asyncio.create_task(rx2.run()))
            await until(lambda: len(late.order) >= 10, 60, "the late receiver's frames")
            for rx in (rx1, rx2):
                rx.stop()
            await asyncio.gather(*tasks)
            tx.stop()
            summary = await sending
        return sent, first, late, rx2.stats, summary

    sent, first, late, stats, summary = asyncio.run(scenario())
    assert late.order[0] > first.order[0] and stats.bad_packets == 0
    assert all(same_state(late.states[s], sent[s]) for s in late.order)
    assert summary["references"] == 1  # primed with the running stream's Reference


def test_sender_starts_a_new_stream_for_the_next_receiver(model):
    async def scenario():
        wire = Wire()
        async with room() as (base, r):
            tx = sender(model, wire, base, r)
            sending = asyncio.create_task(tx.run())
            seen = []
            for _ in range(2):
                rec, rx = receiver(model, wire, base, r)
                receiving = asyncio.create_task(rx.run())
                await until(lambda rec=rec: len(rec.order) >= 5, 60, "5 frames")
                rx.stop()
                await receiving
                await until(lambda: not tx.links, 60, "the sender to drop the link")
                seen.append(rec.order[0])
            tx.stop()
            summary = await sending
        return seen, summary

    seen, summary = asyncio.run(scenario())
    assert seen == [0, 0]  # each receiver saw a stream from its first frame
    assert summary["references"] == 2


def test_a_frame_the_encoder_cannot_take_is_skipped_not_fatal(model):
    class Glitchy(SyntheticSource):
        def frames(self):
            for i, frame in enumerate(super().frames()):
                yield np.zeros((7,), np.uint8) if i == 5 else frame  # not an image

    async def scenario():
        wire = Wire()
        async with room() as (base, r):
            rec, rx = receiver(model, wire, base, r, until_bye=True)
            receiving = asyncio.create_task(rx.run())
            tx = Sender(model, Glitchy(model, fps=50.0), SenderConfig(max_frames=20),
                        SignalingClient(base, r["room"], r["sender_token"]),
                        say=lambda _m: None, links=wire.sender_links())
            summary = await tx.run()
            await asyncio.wait_for(receiving, 30)
        return summary, rec

    summary, rec = asyncio.run(scenario())
    assert summary["encode_errors"] == 1 and len(rec.order) >= 15
