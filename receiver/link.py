"""The sender's WebRTC link as the receiver sees it: answer the offer, queue what arrives.

Control packets (Hello, Clock, Reference, Bye) queue in order and are never dropped while
there is room; Motion packets queue a few deep and the oldest fall out when rendering lags,
because a late frame is worth less than the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

from bitstream import BitstreamError, PacketType, packet_type, unpack_bundle
from receiver.config import ReceiverConfig
from receiver.stats import ReceiverStats


class SenderLink:
    def __init__(self, peer_id: str, config: ReceiverConfig, stats: ReceiverStats):
        self.peer_id, self.config, self.stats = peer_id, config, stats
        rtc = RTCConfiguration([RTCIceServer(**s) for s in config.ice_servers])
        self.pc = RTCPeerConnection(configuration=rtc)
        self.control: deque[bytes] = deque()
        self.motion: deque[bytes] = deque(maxlen=config.max_queued_motion)
        self.arrived = asyncio.Event()
        self.pc.on("datachannel", self._channel)

    async def answer(self, offer_sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    @property
    def failed(self) -> bool:
        return self.pc.connectionState in ("failed", "closed")

    def _channel(self, channel) -> None:
        if channel.label == "control":
            channel.on("message", self._on_control)
        elif channel.label == "motion":
            channel.on("message", self._on_motion)

    def _on_control(self, message) -> None:
        if not isinstance(message, bytes) or len(self.control) >= self.config.max_queued_control:
            self.stats.bad_packets += 1
            return
        if packet_type_or_none(message) == PacketType.REFERENCE:
            self.stats.reference_bytes += len(message)
        self.control.append(message)
        self.arrived.set()

    def _on_motion(self, message) -> None:
        try:
            packets = unpack_bundle(message) if isinstance(message, bytes) else None
        except BitstreamError:
            packets = None
        if not packets:
            self.stats.bad_packets += 1
            return
        self.stats.message(len(message), len(packets))
        self.stats.stale += max(0, len(self.motion) + len(packets) - self.motion.maxlen)
        self.motion.extend(packets)
        self.arrived.set()

    def next_packet(self) -> bytes | None:
        if self.control:
            return self.control.popleft()
        if self.motion:
            return self.motion.popleft()
        return None

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pc.close()


def packet_type_or_none(data: bytes) -> PacketType | None:
    try:
        return packet_type(data)
    except BitstreamError:
        return None
