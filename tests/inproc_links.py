"""An in-process link pair for the live services: no UDP, a scripted network.

The sender's and the receiver's link factories meet on one `Wire`: the sender's offer is a
token naming its link, the receiver's answer attaches its inbox to it. Control packets are
delivered in order; each Motion message follows `script(i)` (i counts the messages from 0):
None drops it, 0 delivers it now, d > 0 holds it until d later messages have gone (so it
arrives out of order). Delivery goes through the event loop, as a socket's would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bitstream import pack_bundle
from receiver.link import Inbox

Script = Callable[[int], int | None]


class Wire:
    def __init__(self, script: Script = lambda _i: 0):
        self.script = script
        self.offered: dict[str, SendingEnd] = {}
        self.sent = self.dropped = 0

    def sender_links(self) -> Callable[[str], SendingEnd]:
        return lambda peer_id: SendingEnd(self, peer_id)

    def receiver_links(self) -> Callable[[str, Inbox], ReceivingEnd]:
        return lambda peer_id, inbox: ReceivingEnd(self, peer_id, inbox)


class SendingEnd:
    """The sender's link to one receiver (sender.link.ReceiverLink)."""

    def __init__(self, wire: Wire, peer_id: str):
        self.wire, self.peer_id = wire, peer_id
        self.primed, self.messages = False, 0
        self.inbox: Inbox | None = None
        self.answered = self.closed = False
        self.held: list[tuple[int, bytes]] = []  # (messages still to go, message)
        self.failure: Callable[[], Awaitable[None]] | None = None
        self.changed: list[Callable[[], None]] = []

    async def offer(self) -> str:
        token = f"inproc {id(self)}"
        self.wire.offered[token] = self
        return token

    async def accept(self, sdp: str) -> None:
        self.answered = sdp == f"answer inproc {id(self)}"
        self.opened()

    def opened(self) -> None:
        for callback in self.changed:
            callback()

    def on_change(self, callback: Callable[[], None]) -> None:
        self.changed.append(callback)

    @property
    def open(self) -> bool:
        return self.answered and self.inbox is not None and not self.closed

    @property
    def was_open(self) -> bool:
        return self.answered

    @property
    def failed(self) -> bool:
        return self.closed

    @property
    def buffered(self) -> int:
        return 0

    @property
    def rtt_ms(self) -> float | None:
        return None

    @property
    def delivered(self) -> bool:
        return True  # control packets are handed to the inbox at once

    def on_failure(self, callback: Callable[[], Awaitable[None]]) -> None:
        self.failure = callback

    def send_control(self, packets: list[bytes]) -> None:
        for p in packets:
            self._deliver(self._inbox().on_control, p)
            self.messages += 1

    def send_motion(self, packets: list[bytes]) -> bool:
        i, message = self.wire.sent, pack_bundle(packets)
        self.wire.sent += 1
        self.messages += 1
        self.held = [(d - 1, m) for d, m in self.held]
        for _d, m in [h for h in self.held if h[0] <= 0]:
            self._deliver(self._inbox().on_motion, m)
        self.held = [h for h in self.held if h[0] > 0]
        delay = self.wire.script(i)
        if delay is None:
            self.wire.dropped += 1
        elif delay == 0:
            self._deliver(self._inbox().on_motion, message)
        else:
            self.held.append((delay, message))
        return True

    def _inbox(self) -> Inbox:
        if self.inbox is None:
            raise RuntimeError("sent before the receiver answered")
        return self.inbox

    def _deliver(self, handler, message: bytes) -> None:
        asyncio.get_running_loop().call_soon(handler, message)

    async def close(self) -> None:
        self.closed = True

    async def peer_closed(self) -> None:
        if not self.closed:
            self.closed = True
            if self.failure is not None:
                await self.failure()


class ReceivingEnd:
    """The receiver's link to the sender (receiver.link.SenderLink)."""

    def __init__(self, wire: Wire, peer_id: str, inbox: Inbox):
        self.wire, self.peer_id, self.inbox = wire, peer_id, inbox
        self.other: SendingEnd | None = None

    def on_failure(self, callback: Callable[[], Awaitable[None]]) -> None:
        self.failure = callback  # an in-process link never fails on its own

    async def answer(self, offer_sdp: str) -> str:
        other = self.wire.offered.pop(offer_sdp, None)
        if other is None:
            raise ValueError("no such in-process offer")
        other.inbox, self.other = self.inbox, other
        other.opened()
        return f"answer {offer_sdp}"

    async def close(self) -> None:
        if self.other is not None:
            other, self.other = self.other, None
            asyncio.get_running_loop().create_task(other.peer_closed())
