"""ICE timers for the peers: a STUN request's first retransmission after 250 ms, not 500.

aioice retransmits an unanswered STUN request (a connectivity check, a server binding)
after 500 ms, doubling each time (RFC 8445's floor for checks in a full agent with many
candidate pairs to pace). A call here has few pairs, and on a lossy path the handshake waits
on each lost check: in `bench network` at 20 % loss, 4 of 5 runs spent 0.5 s and one 1.5 s
on ICE alone before DTLS could start (`benchmarks/results/network/first_frame/`). libwebrtc
starts its STUN requests at 250 ms; so do these peers. The number of tries is aioice's, so
a pair that answers nothing is given up after half as long as before.

aioice reads the value as a module constant when each request starts, hence the assignment;
both peers call this before they make a connection.
"""

from __future__ import annotations

RETRY_RTO_S = 0.25


def use_realtime_ice_timers() -> None:
    from aioice import stun

    stun.RETRY_RTO = RETRY_RTO_S


def ice_timers_apply() -> bool:
    """Whether aioice still starts its retransmissions from the constant set here."""
    from aioice import stun

    return "RETRY_RTO" in stun.Transaction.__init__.__code__.co_names
