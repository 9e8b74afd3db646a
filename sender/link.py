"""One receiver's link as the sender sees it, and its WebRTC implementation.

`ReceiverLink` is what `Sender` needs of a link; `RtcReceiverLink` is the real one: a peer
connection with a `control` and a `motion` channel. `control` is reliable and ordered
(Hello, Clock, Reference, Bye: a lost one would break the stream); `motion` is unordered
with no retransmits (a late Motion is worthless, the next one replaces it). Both are
negotiated out of band (`signaling/peer/rtc.py`), so they open together as SCTP comes up.
aiortc gathers every ICE candidate before the offer is returned, so one offer message
carries them all.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Awaitable, Callable
from typing import Protocol

from aiortc import RTCSessionDescription

from bitstream import pack_bundle
from signaling.peer.rtc import acknowledged, call_channels, peer_connection, smoothed_rtt_ms


class ReceiverLink(Protocol):
    peer_id: str
    primed: bool  # Hello, Clock and the current Reference were sent
    was_open: bool  # the channels opened once (else a failure is ICE finding no path)
    messages: int

    @property
    def open(self) -> bool: ...

    @property
    def failed(self) -> bool: ...

    @property
    def buffered(self) -> int:
        """Bytes handed to the link and not yet sent."""

    @property
    def rtt_ms(self) -> float | None:
        """The transport's smoothed round-trip time, when it has measured one."""

    @property
    def delivered(self) -> bool:
        """Everything sent with `send_control` so far has been acknowledged by the peer."""

    async def offer(self) -> str: ...

    async def accept(self, sdp: str) -> None: ...

    def on_failure(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Call `callback` once the link has failed or closed."""

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` (on the event loop) when the link opens or its send buffer
        drains, so the sender waits on events rather than polling."""

    def send_control(self, packets: list[bytes]) -> None: ...

    def send_motion(self, packets: list[bytes]) -> bool:
        """Send one message; False when it was dropped before leaving."""

    async def close(self) -> None: ...


LinkFactory = Callable[[str], ReceiverLink]  # receiver's peer id -> a new link


class RtcReceiverLink:
    def __init__(self, peer_id: str, ice_servers: tuple[dict, ...], loss: float, seed: int,
                 max_buffered: int):
        self.peer_id = peer_id
        self.pc = peer_connection(ice_servers)
        self.control, self.motion = call_channels(self.pc)
        self.loss, self.rng, self.max_buffered = loss, random.Random(seed), max_buffered
        self.primed = False
        self.was_open = False
        self.messages = 0
        self.changed: list[Callable[[], None]] = []

        @self.control.on("open")
        def opened() -> None:
            self.was_open = True

        for channel in (self.control, self.motion):
            channel.on("open", self._changed)
            channel.on("bufferedamountlow", self._changed)

    def _changed(self) -> None:
        for callback in self.changed:
            callback()

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    @property
    def open(self) -> bool:
        return self.control.readyState == "open" and self.motion.readyState == "open"

    @property
    def failed(self) -> bool:
        return self.pc.connectionState in ("failed", "closed")

    @property
    def buffered(self) -> int:
        return self.control.bufferedAmount + self.motion.bufferedAmount

    @property
    def rtt_ms(self) -> float | None:
        return smoothed_rtt_ms(self.pc)

    @property
    def delivered(self) -> bool:
        return acknowledged(self.pc, self.control)

    def on_failure(self, callback: Callable[[], Awaitable[None]]) -> None:
        @self.pc.on("connectionstatechange")
        async def changed() -> None:
            if self.failed:
                await callback()

    def on_change(self, callback: Callable[[], None]) -> None:
        self.changed.append(callback)

    def send_control(self, packets: list[bytes]) -> None:
        for p in packets:
            self.control.send(p)
            self.messages += 1

    def send_motion(self, packets: list[bytes]) -> bool:
        """Send one message; False when it was dropped here: by the simulated loss, or
        because the link is not draining what was already sent (a capped or congested path;
        queueing more would only make every later frame later)."""
        if self.loss and self.rng.random() < self.loss:
            return False
        if self.motion.bufferedAmount > self.max_buffered:
            return False
        self.motion.send(pack_bundle(packets))
        self.messages += 1
        return True

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pc.close()


def rtc_links(ice_servers: tuple[dict, ...], loss: float, seed: int,
              max_buffered: int) -> LinkFactory:
    """The sender's default: a WebRTC link per receiver, each with its own loss stream; the
    settings come from `SenderConfig`."""
    made = 0

    def make(peer_id: str) -> ReceiverLink:
        nonlocal made
        made += 1
        return RtcReceiverLink(peer_id, ice_servers, loss, seed + made - 1, max_buffered)

    return make
