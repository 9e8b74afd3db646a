"""The one place that reads aiortc's private SCTP state: it still finds it in the installed
aiortc, and over a real connection it reports a round trip and acknowledged control data."""

from __future__ import annotations

import asyncio

from receiver.config import ReceiverConfig
from receiver.link import Inbox, RtcSenderLink
from receiver.stats import ReceiverStats
from sender.link import RtcReceiverLink
from signaling.peer.rtc import acknowledged, readable, smoothed_rtt_ms
from tests.waiting import until


def test_the_installed_aiortc_still_has_what_the_adapter_reads():
    assert readable(), "aiortc renamed its SCTP internals: update signaling/peer/rtc.py"


def test_round_trip_and_delivery_over_a_real_connection():
    async def call() -> tuple[float | None, bool, bool]:
        tx = RtcReceiverLink("rx", (), 0.0, 0, 160)
        rx = RtcSenderLink("tx", Inbox(ReceiverConfig(), ReceiverStats()))
        try:
            answer = await rx.answer(await tx.offer())
            await tx.accept(answer)
            await until(lambda: tx.open, 30, "the data channels to open")
            tx.send_control([b"x" * 20_000] * 5)
            before = acknowledged(tx.pc, tx.control)
            await until(lambda: acknowledged(tx.pc, tx.control), 30, "the peer's SACK")
            await until(lambda: smoothed_rtt_ms(tx.pc) is not None, 30, "a round trip")
            return smoothed_rtt_ms(tx.pc), before, len(rx.inbox.control) == 5
        finally:
            await tx.close()
            await rx.close()

    rtt, before, arrived = asyncio.run(call())
    assert rtt is not None and 0 < rtt < 5000
    assert not before and arrived  # acknowledged only after it was sent and received
