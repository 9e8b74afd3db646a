"""SCTP timers for the peers' data channels: a first retransmission after 1 s, not 3.

aiortc keeps RFC 4960's initial retransmission timeout of 3 s, used until a round trip has
been measured: for the handshake (INIT, COOKIE), the channel opening and the first Hello and
Reference. At 20 % loss one of those is often lost, each loss cost 3 s, and in one run of
`bench network` the Reference had not arrived when the 10 s call ended (0 of 250 frames
shown). With 1 s (RFC 6298's initial value for TCP) the first frame came after 0.8-0.9 s
and 192-211 frames were shown.

Browsers' SCTP (dcsctp) goes further, 500 ms initially and never under 220 ms. Tried here, it
hurt on a 48 kbit/s link with 20 % loss: aiortc neither backs the timer off nor samples the
round trip on retransmitted data, so when the link's queue grew past the timer, chunks were
sent again needlessly, the round trip the sender adapts to was never seen to grow, and about
90 of 250 frames were shown instead of 115-147. The minimum therefore stays at aiortc's 1 s.

aiortc reads these as module constants, hence the assignment; both peers call this before
they make a connection. `sctp_has` is the one probe of aiortc's private SCTP state that the
readers of it (`rtc.py`, `acks.py`) check before they rely on it.
"""

from __future__ import annotations

RTO_INITIAL_S = 1.0
INIT_RETRANSMITS = 20  # at about 1 s apiece, 20 s of trying to set up the association


def use_realtime_timers() -> None:
    from aiortc import rtcsctptransport as sctp

    sctp.SCTP_RTO_INITIAL = RTO_INITIAL_S
    sctp.SCTP_MAX_INIT_RETRANS = INIT_RETRANSMITS


def sctp_has(*names: str) -> bool:
    """Whether aiortc's SCTP transport sets or defines all these private names (read from
    its constructor's code and its class), so an upgrade that drops one is caught."""
    from aiortc.rtcsctptransport import RTCSctpTransport

    found = set(RTCSctpTransport.__init__.__code__.co_names) | set(vars(RTCSctpTransport))
    return all(name in found for name in names)
