"""The sender's link as the receiver sees it: an `Inbox` of what arrived, and the WebRTC
transport that fills it.

Control packets (Hello, Clock, Reference, Bye) queue in order and are never dropped while
there is room; Motion packets queue a few deep and the oldest fall out when rendering lags,
because a late frame is worth less than the next one. Any transport that fills an `Inbox`
(the real `RtcSenderLink`, or an in-process one in tests) serves the receiver alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol

from aiortc import RTCSessionDescription

from bitstream import BitstreamError, PacketType, packet_type, unpack_bundle
from receiver.config import ReceiverConfig
from receiver.stats import ReceiverStats
from signaling.peer.rtc import call_channels, peer_connection


class Inbox:
    """Bounded queues of received packets; `arrived` is set when something came in."""

    def __init__(self, config: ReceiverConfig, stats: ReceiverStats):
        self.config, self.stats = config, stats
        self.control: deque[bytes] = deque()
        self.motion: deque[bytes] = deque(maxlen=config.max_queued_motion)
        self.arrival: deque[float] = deque(maxlen=config.max_queued_motion)  # monotonic s
        self.arrived = asyncio.Event()

    def on_control(self, message: object) -> None:
        if not isinstance(message, bytes) or len(self.control) >= self.config.max_queued_control:
            self.stats.bad_packets += 1
            return
        kind = packet_type_or_none(message)
        if kind == PacketType.REFERENCE:
            self.stats.reference_bytes += len(message)
            self.stats.mark("reference")
        elif kind == PacketType.HELLO:
            self.stats.mark("hello")
        self.control.append(message)
        self.arrived.set()

    def on_motion(self, message: object) -> None:
        try:
            packets = unpack_bundle(message) if isinstance(message, bytes) else None
        except BitstreamError:
            packets = None
        if not packets or not isinstance(message, bytes):
            self.stats.bad_packets += 1
            return
        self.stats.message(len(message), len(packets))
        room = self.motion.maxlen or 0
        self.stats.stale += max(0, len(self.motion) + len(packets) - room)
        self.motion.extend(packets)
        self.arrival.extend([time.monotonic()] * len(packets))
        self.arrived.set()

    def next_packet(self) -> bytes | None:
        if self.control:
            return self.control.popleft()
        late = time.monotonic() - self.config.max_wait_s
        while len(self.motion) > 1 and self.arrival[0] < late:
            self.motion.popleft()
            self.arrival.popleft()
            self.stats.stale += 1
        if self.motion:
            self.arrival.popleft()
            return self.motion.popleft()
        return None


class SenderLink(Protocol):
    peer_id: str
    inbox: Inbox

    async def answer(self, offer_sdp: str) -> str: ...

    def on_failure(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Call `callback` once the link has failed (ICE gave up, or the peer vanished)."""

    async def close(self) -> None: ...


LinkFactory = Callable[[str, Inbox], SenderLink]  # sender's peer id, its inbox -> a link


class RtcSenderLink:
    def __init__(self, peer_id: str, inbox: Inbox, ice_servers: tuple[dict, ...] = ()):
        self.peer_id, self.inbox = peer_id, inbox
        self.pc = peer_connection(ice_servers)
        self.pc.on("iceconnectionstatechange", self._ice_changed)
        self.pc.on("connectionstatechange", self._changed)

    def _ice_changed(self) -> None:
        if self.pc.iceConnectionState == "completed":
            self.inbox.stats.mark("ice")

    def _changed(self) -> None:
        if self.pc.connectionState == "connected":  # ICE and DTLS both done
            self.inbox.stats.mark("dtls")

    async def answer(self, offer_sdp: str) -> str:
        self.inbox.stats.mark("offer")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        control, motion = call_channels(self.pc)
        for channel, take in ((control, self.inbox.on_control), (motion, self.inbox.on_motion)):
            channel.on("message", take)
            channel.on("open", partial(self.inbox.stats.mark, f"{channel.label} channel"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    def on_failure(self, callback: Callable[[], Awaitable[None]]) -> None:
        @self.pc.on("connectionstatechange")
        async def changed() -> None:
            if self.pc.connectionState == "failed":
                await callback()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pc.close()


def rtc_links(ice_servers: tuple[dict, ...]) -> LinkFactory:
    return lambda peer_id, inbox: RtcSenderLink(peer_id, inbox, ice_servers)


def packet_type_or_none(data: bytes) -> PacketType | None:
    try:
        return packet_type(data)
    except BitstreamError:
        return None
