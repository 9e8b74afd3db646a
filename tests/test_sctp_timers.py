"""Both peers' data channels start with a 1 s retransmission timeout, not RFC 4960's 3 s
(why: signaling/peer/sctp.py; the effect is measured by `facecodec bench network`)."""

import asyncio

from receiver.config import ReceiverConfig
from receiver.link import Inbox, RtcSenderLink
from receiver.stats import ReceiverStats
from sender.link import RtcReceiverLink
from signaling.peer.sctp import INIT_RETRANSMITS, RTO_INITIAL_S

RFC_4960_RTO_INITIAL_S = 3.0


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

    from aiortc import rtcsctptransport

    assert asyncio.run(both()) == (RTO_INITIAL_S, RTO_INITIAL_S) != (RFC_4960_RTO_INITIAL_S,) * 2
    assert rtcsctptransport.SCTP_MAX_INIT_RETRANS == INIT_RETRANSMITS


def test_ice_checks_are_retried_after_250_ms():
    """aioice's first STUN retransmission, set for both peers (why: signaling/peer/ice_timers.py);
    fails loudly if an aioice release stops reading the constant."""
    from aioice import stun

    from signaling.peer.ice_timers import RETRY_RTO_S, ice_timers_apply
    from signaling.peer.rtc import peer_connection

    asyncio.run(peer_connection(()).close())
    assert ice_timers_apply() and stun.RETRY_RTO == RETRY_RTO_S == 0.25
