"""The live receiver: answer the sender's offer, decode and render as packets arrive.

Decoding and rendering run on one worker thread so the event loop stays free for SCTP and
ICE. A bad packet is counted and skipped, a stale Motion is dropped, and between frames
the sinks simply keep the last one. When the sender leaves, the receiver says so and waits
for the next offer with a fresh decoder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor

from bitstream import BitstreamError, Bye, Hello
from codec.decoder import Decoder, MissingReferenceError
from codec.driving import DrivingState
from codec.prior.flame import FlameModel
from codec.render import Renderer
from receiver.config import ReceiverConfig
from receiver.link import Inbox, LinkFactory, SenderLink, rtc_links
from receiver.sinks import FrameSink
from receiver.stats import ReceiverStats
from signaling.messages import Answer, Error, Offer, PeerJoined, PeerLeft, Welcome
from signaling.peer.client import SignalingClient
from signaling.peer.ice import ICE_FAILED, IceError

log = logging.getLogger("facecodec.receiver")

Edit = Callable[[DrivingState], DrivingState]  # the receiver's expression/pose/gaze edit


class Receiver:
    def __init__(self, model: FlameModel, renderer: Renderer, config: ReceiverConfig,
                 client: SignalingClient, sinks: Iterable[FrameSink] = (), edit: Edit | None = None,
                 say: Callable[[str], None] = print, until_bye: bool = False,
                 links: LinkFactory | None = None, pool: Executor | None = None,
                 label: str = ""):
        """`pool` runs decode and render: this receiver's own thread by default, or a
        host's pool shared by its calls (each call keeps one packet in flight, in order).
        `label` starts its log lines (a host's room name)."""
        self.model, self.renderer, self.config, self.client = model, renderer, config, client
        self.sinks, self.edit, self.say, self.until_bye = list(sinks), edit, say, until_bye
        self.label = f"[{label}] " if label else ""
        self.make_link = links or rtc_links(config.ice_servers)
        self.stats = ReceiverStats()
        self.own_pool = pool is None
        self.pool = pool or ThreadPoolExecutor(1, thread_name_prefix="render")
        self.link: SenderLink | None = None
        self.worker: asyncio.Task | None = None
        self.ended = asyncio.Event()  # set on the sender's Bye, or a link that failed
        self.failure: str | None = None

    async def run(self) -> dict:
        """Receive until `stop()`, or the first Bye when `until_bye` is set."""
        welcome = await self.client.connect()
        if not welcome.has("sender"):
            self.say("waiting for the sender")
        signal_task = asyncio.create_task(self.client.stay_joined(self._follow, self.say))
        stop_task = asyncio.create_task(self.ended.wait())
        try:
            await asyncio.wait([signal_task, stop_task], return_when=asyncio.FIRST_COMPLETED)
            if signal_task.done():
                signal_task.result()  # re-raise a SignalingError
            if self.failure is not None:
                raise IceError(self.failure)
        finally:
            for task in (signal_task, stop_task):
                task.cancel()
            await self._close_link()
            await self.client.close()
            await asyncio.get_running_loop().run_in_executor(self.pool, self._close_sinks)
            if self.own_pool:
                self.pool.shutdown(wait=False)
        return self.stats.summary()

    def stop(self) -> None:
        self.until_bye = True
        self.ended.set()

    async def _follow(self, _welcome: Welcome) -> None:
        """Answer the sender's offers and follow it coming and going."""
        while True:
            match await self.client.recv():
                case Offer(from_peer=str(peer), sdp=sdp):
                    await self._accept(peer, sdp)
                case PeerJoined(peer=peer, role="sender"):
                    self.say(f"sender {peer} joined")
                case PeerLeft(peer=peer) if self.link and peer == self.link.peer_id:
                    await self._close_link()
                    if self.until_bye:  # its Bye may have been lost with the link
                        self.say("the sender left")
                        self.ended.set()
                    else:
                        self.say("the sender left; waiting for the sender")
                case Error(message=message):
                    log.warning("%ssignaling server: %s", self.label, message)

    async def _accept(self, peer: str, sdp: str) -> None:
        await self._close_link()
        link = self.make_link(peer, Inbox(self.config, self.stats))
        try:
            answer = await link.answer(sdp)
        except Exception as exc:  # a malformed offer must not take the receiver down
            self.say(f"could not answer the offer from {peer}: {exc}")
            await link.close()
            return
        self.link = link

        async def failed() -> None:
            if self.link is link:
                self.failure = ICE_FAILED
                self.ended.set()

        link.on_failure(failed)
        await self.client.send(Answer(to=peer, sdp=answer))
        self.worker = asyncio.create_task(self._work(link))

    async def _close_link(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.worker
            self.worker = None
        if self.link is not None:
            await self.link.close()
            self.link = None

    async def _work(self, link: SenderLink) -> None:
        loop = asyncio.get_running_loop()
        decoder = Decoder(self.model, self.renderer, self.edit)
        inbox = link.inbox
        while True:
            data = inbox.next_packet()
            if data is None:
                inbox.arrived.clear()
                await inbox.arrived.wait()
                continue
            try:
                packet = await loop.run_in_executor(self.pool, self._handle, decoder, data)
            except Exception as exc:  # a packet the decoder let through must not stop the call
                self.stats.bad_packets += 1
                log.warning("%scould not render a packet: %s", self.label, exc)
                continue
            if isinstance(packet, Bye):
                self.say(f"the sender ended the stream: {packet.reason}")
                if self.until_bye:  # Motion still in flight on the other channel gets 0.5 s
                    loop.call_later(0.5, self.ended.set)

    def _handle(self, decoder: Decoder, data: bytes):
        """On the worker thread: decode one packet, render a Motion, feed the sinks."""
        try:
            packet = decoder.parse(data)
            if decoder.is_stale(packet):
                self.stats.stale += 1
                return packet
            t = time.perf_counter()
            frame = decoder.push_packet(packet)
        except MissingReferenceError:
            self.stats.before_reference += 1
            return None
        except BitstreamError as exc:
            self.stats.bad_packets += 1
            log.warning("%sskipped a packet: %s", self.label, exc)
            return None
        if isinstance(packet, Hello):
            for sink in self.sinks:
                sink.new_stream(packet.fps)
        if frame is None:
            return packet
        render_ms = (time.perf_counter() - t) * 1000
        latency = None
        if decoder.clock_ms is not None:
            latency = time.time() * 1000 - (decoder.clock_ms + frame.driving.time_ms)
        self.stats.rendered(render_ms, latency)
        for sink in self.sinks:
            sink.frame(frame.seq, frame.image)
        return packet

    def _close_sinks(self) -> None:
        for sink in self.sinks:
            sink.close()
