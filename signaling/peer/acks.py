"""Delayed SCTP acknowledgements: one SACK for every two packets, not one for each.

aiortc answers every packet that carries data with a SACK at once. A call sends a motion
message every 40 ms, so the receiver sent 25 SACKs a second back, each about 80 bytes on the
wire with its UDP, DTLS and SCTP headers: 26 kbit/s down for 7 kbit/s of payload up
(`bench network`). RFC 4960 (6.2) lets a receiver acknowledge at least every second packet
and within 200 ms of any data it has not acknowledged; that is what this does, and a packet
that arrives out of order or twice (a loss, a retransmission) is still acknowledged at once,
so the sender's fast retransmit and loss detection see no delay. The sender's round-trip
samples grow by at most one message interval (40 ms at 25 fps).

aiortc keeps SACK handling private, so its `_send_sack` is wrapped here, once, for every
association made after; `delayable()` says whether this aiortc still has what the wrapper
reads (tests/test_rtc_adapter.py fails loudly when it does not).
"""

from __future__ import annotations

import asyncio
import contextlib

from signaling.peer.sctp import sctp_has

ACK_EVERY = 2  # packets with data per SACK
ACK_DELAY_S = 0.2  # the longest a packet's data waits for its SACK
_NAMES = ("_send_sack", "_sack_needed", "_sack_misordered", "_sack_duplicates")


def delayable() -> bool:
    """Whether this aiortc has the SACK state the wrapper reads."""
    return sctp_has(*_NAMES)


def use_delayed_acks() -> None:
    from aiortc.rtcsctptransport import RTCSctpTransport

    if getattr(RTCSctpTransport._send_sack, "delayed", False) or not delayable():
        return
    immediate = RTCSctpTransport._send_sack

    async def flush(transport) -> None:
        state = vars(transport)
        timer = state.pop("_ack_timer", None)
        if timer is not None:
            timer.cancel()
        state["_ack_owed"] = 0
        if transport._sack_needed:
            with contextlib.suppress(ConnectionError):  # closed while the SACK waited
                await immediate(transport)

    async def send_sack(transport) -> None:
        state = vars(transport)
        owed = state.get("_ack_owed", 0) + 1
        if transport._sack_misordered or transport._sack_duplicates or owed >= ACK_EVERY:
            await flush(transport)
            return
        state["_ack_owed"] = owed
        if state.get("_ack_timer") is None:
            state["_ack_timer"] = asyncio.get_running_loop().call_later(
                ACK_DELAY_S, lambda: asyncio.ensure_future(flush(transport)))

    send_sack.delayed = True  # type: ignore[attr-defined]
    setattr(RTCSctpTransport, "_send_sack", send_sack)  # noqa: B010  # aiortc has no hook
