"""aiortc behind one adapter: the peer connection both services make, and what the sender
reads of SCTP that aiortc does not publish.

aiortc keeps SCTP's smoothed round trip and its send queues private. The sender needs both
(frames per message follow the round trip; a new Reference is used once the control
channel's data is acknowledged), so they are read here and only here, each behind a guard:
if a release of aiortc renames them, the round trip reads as unknown (no bundling change)
and delivery falls back to "nothing left in the channel's buffer" (a Reference is then
used as soon as it has been handed to SCTP), and `tests/test_rtc_adapter.py` fails.
"""

from __future__ import annotations

from aiortc import RTCConfiguration, RTCDataChannel, RTCIceServer, RTCPeerConnection

from signaling.peer.acks import use_delayed_acks
from signaling.peer.dtls import use_doubled_handshake
from signaling.peer.ice_timers import use_realtime_ice_timers
from signaling.peer.sctp import sctp_has, use_realtime_timers


def peer_connection(ice_servers: tuple[dict, ...]) -> RTCPeerConnection:
    """A peer connection with these STUN/TURN servers, the realtime SCTP and ICE timers
    (`sctp.py`, `ice_timers.py`), DTLS handshake datagrams sent twice (`dtls.py`) and
    delayed SCTP acknowledgements (`acks.py`)."""
    use_realtime_timers()
    use_realtime_ice_timers()
    use_doubled_handshake()
    use_delayed_acks()
    return RTCPeerConnection(RTCConfiguration([RTCIceServer(**s) for s in ice_servers]))


CONTROL_ID, MOTION_ID = 0, 1  # SCTP stream ids both peers give the call's two channels


def call_channels(pc: RTCPeerConnection) -> tuple[RTCDataChannel, RTCDataChannel]:
    """The call's `control` (reliable, ordered) and `motion` (unordered, no retransmits)
    channels, negotiated out of band: both peers make them with the same ids, so they open
    the moment SCTP is up. Opened in band, each waited for an open message and its
    acknowledgement, and on a lossy path a lost one cost a second's retransmission timer
    before the first picture could go."""
    control = pc.createDataChannel("control", ordered=True, negotiated=True, id=CONTROL_ID)
    motion = pc.createDataChannel("motion", ordered=False, maxRetransmits=0, negotiated=True,
                                  id=MOTION_ID)  # fmt: skip
    return control, motion


def smoothed_rtt_ms(pc: RTCPeerConnection) -> float | None:
    """SCTP's smoothed round-trip time (RFC 4960 6.3.1), when it has measured one."""
    srtt = getattr(pc.sctp, "_srtt", None) if pc.sctp is not None else None
    return srtt * 1000.0 if isinstance(srtt, float) else None


def acknowledged(pc: RTCPeerConnection, channel) -> bool:
    """Whether the peer's SCTP has acknowledged everything sent on a reliable channel: none
    of its data waits in aiortc's queues (to be handed to SCTP, to be sent, or sent and not
    yet cumulatively acknowledged)."""
    sctp = pc.sctp
    if sctp is None or channel.bufferedAmount:
        return False
    try:
        waiting = [item[0] for item in sctp._data_channel_queue]
        chunks = [*sctp._outbound_queue, *sctp._sent_queue]
    except AttributeError:  # another aiortc: the buffer is all there is to go by
        return True
    return channel not in waiting and not any(c.stream_id == channel.id for c in chunks)


def readable() -> bool:
    """Whether this aiortc still has the private state the two readers above use."""
    return sctp_has("_srtt", "_data_channel_queue", "_outbound_queue", "_sent_queue")


def video_bitrate(codec: str, floor_bps: int, start_bps: int | None = None) -> None:
    """Lower (or raise) the bitrate floor of aiortc's VP8 or H.264 encoder, and where it
    starts, for every peer connection made after (module constants aiortc reads; only the
    benchmarks' plain video call uses this, to compare against a video sender that may go as
    low as the link)."""
    from aiortc.codecs import h264, vpx

    module = {"vp8": vpx, "h264": h264}[codec]
    for name in ("MIN_BITRATE", "DEFAULT_BITRATE", "MAX_BITRATE"):
        if not isinstance(getattr(module, name, None), int):
            raise RuntimeError(f"this aiortc has no {codec} {name} to set")
    start = max(floor_bps, start_bps or floor_bps)
    setattr(module, "MIN_BITRATE", floor_bps)  # noqa: B010  # aiortc publishes no setter
    setattr(module, "DEFAULT_BITRATE", start)  # noqa: B010
    setattr(module, "MAX_BITRATE", max(getattr(module, "MAX_BITRATE"), start))  # noqa: B009, B010
