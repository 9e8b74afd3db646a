"""The one place that reads aiortc's private SCTP state: it still finds it in the installed
aiortc, and over a real connection it reports a round trip and acknowledged control data."""

from __future__ import annotations

import asyncio

from aiortc.rtcsctptransport import SackChunk

from receiver.config import ReceiverConfig
from receiver.link import Inbox, RtcSenderLink
from receiver.stats import ReceiverStats
from sender.link import RtcReceiverLink
from signaling.peer.acks import delayable
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


def test_the_installed_aiortc_still_has_what_delayed_acks_wrap():
    assert delayable(), "aiortc changed its SACK handling: update signaling/peer/acks.py"


def test_one_sack_for_two_packets_and_none_owed_for_long():
    """20 motion messages one at a time: about 10 SACKs come back, not 20, and a lone
    control message is still acknowledged within the delay."""

    async def call() -> tuple[int, int, bool]:
        tx = RtcReceiverLink("rx", (), 0.0, 0, 160)
        rx = RtcSenderLink("tx", Inbox(ReceiverConfig(), ReceiverStats()))
        sacks = 0
        try:
            await tx.accept(await rx.answer(await tx.offer()))
            await until(lambda: tx.open, 30, "the data channels to open")
            await until(lambda: acknowledged(tx.pc, tx.control), 30, "the channels settled")
            send = rx.pc.sctp._send_chunk

            async def counted(chunk):
                nonlocal sacks
                sacks += isinstance(chunk, SackChunk)
                await send(chunk)

            rx.pc.sctp._send_chunk = counted
            got = lambda: rx.inbox.stats.messages + rx.inbox.stats.bad_packets  # noqa: E731
            for i in range(20):  # the payload is not a Motion: the inbox counts it as bad
                tx.send_motion([bytes([i])])
                await until(lambda n=i: got() > n, 10, f"message {i}")
            motion_sacks = sacks
            tx.send_control([b"hello"])
            await until(lambda: acknowledged(tx.pc, tx.control), 5, "the lone message's SACK")
            return motion_sacks, got(), sacks > motion_sacks
        finally:
            await tx.close()
            await rx.close()

    motion_sacks, arrived, acked_alone = asyncio.run(call())
    assert arrived == 20 and 9 <= motion_sacks <= 14 and acked_alone  # a slow turn may flush early


def test_dtls_handshake_datagrams_go_out_twice_and_data_once(monkeypatch):
    """Both peers send each handshake datagram twice (signaling/peer/dtls.py); after the
    handshake, what they send goes once."""
    from aioice import Connection

    from signaling.peer.dtls import doubling_applies

    assert doubling_applies(), "aiortc changed its DTLS flush: update signaling/peer/dtls.py"
    sent: list[bytes] = []
    send = Connection.send

    async def counted(self, data: bytes) -> None:
        sent.append(bytes(data))
        await send(self, data)

    monkeypatch.setattr(Connection, "send", counted)

    async def call() -> None:
        tx = RtcReceiverLink("rx", (), 0.0, 0, 160)
        rx = RtcSenderLink("tx", Inbox(ReceiverConfig(), ReceiverStats()))
        try:
            await tx.accept(await rx.answer(await tx.offer()))
            await until(lambda: tx.open, 30, "the data channels to open")
            tx.send_control([b"y" * 1200])
            await until(lambda: len(rx.inbox.control) == 1, 10, "the control message")
            handshake = lambda: [d for d in sent if d[0] in (20, 22)]  # noqa: E731
            await until(lambda: all(handshake().count(d) >= 2 for d in handshake()), 10,
                        "each handshake datagram's second copy")  # fmt: skip
        finally:
            await tx.close()
            await rx.close()

    asyncio.run(call())
    handshake = [d for d in sent if d[0] in (20, 22)]  # DTLS handshake, change cipher spec
    data = [d for d in sent if d[0] == 23 and len(d) > 1200]  # the control message's record
    assert len(set(handshake)) >= 4 and data and all(sent.count(d) == 1 for d in data)
