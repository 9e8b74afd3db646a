"""Both peers' data channels start with a 1 s retransmission timeout, not RFC 4960's 3 s
(why: signaling/sctp.py; the effect is measured by `facecodec bench network`)."""

import asyncio

from receiver.config import ReceiverConfig
from receiver.link import Inbox, RtcSenderLink
from receiver.stats import ReceiverStats
from sender.link import RtcReceiverLink
from signaling.sctp import RTO_INITIAL_S


def test_both_links_use_the_realtime_initial_timeout():
    async def both():
        tx = RtcReceiverLink("rx", (), 0.0, 0, 160)
        rx = RtcSenderLink("tx", Inbox(ReceiverConfig(), ReceiverStats()))
        answer = await rx.answer(await tx.offer())
        await tx.pc.setRemoteDescription(type(tx.pc.localDescription)(sdp=answer, type="answer"))
        rtos = tx.pc.sctp._rto, rx.pc.sctp._rto
        await tx.close()
        await rx.close()
        return rtos

    assert RTO_INITIAL_S == 1.0
    assert asyncio.run(both()) == (1.0, 1.0)
