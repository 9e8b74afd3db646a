"""The live sender: capture -> encode -> data channels, for every receiver in the room.

Runs while at least one receiver is connected. When the last one leaves it says so and
waits; the next receiver starts a new stream (a fresh Hello, reference and frame count),
so a receiver never has to make sense of a gap. A receiver that joins a running stream is
sent the stream's Hello, Clock and current Reference on its control channel first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bitstream import Clock, PacketType, decode_packet, encode_packet, packet_type
from codec.encoder import EncodedFrame, Encoder
from codec.prior.flame import FlameModel
from codec.wire import TRANSPORT_OVERHEAD
from sender.bundling import Bundling
from sender.capture import FrameSource
from sender.config import SenderConfig
from sender.link import LinkFactory, ReceiverLink, rtc_links
from sender.looks import BUSY_SEARCHES, Looks
from sender.stats import SenderStats
from signaling.messages import Answer, Error, Offer, PeerJoined, PeerLeft, Welcome
from signaling.peer.client import SignalingClient, SignalingError
from signaling.peer.ice import ICE_FAILED

log = logging.getLogger("facecodec.sender")


class Sender:
    def __init__(self, model: FlameModel, source: FrameSource, config: SenderConfig,
                 client: SignalingClient, on_frame: Callable[[EncodedFrame], None] | None = None,
                 say: Callable[[str], None] = print, links: LinkFactory | None = None,
                 encoders: Callable[[], Encoder] | None = None):
        """`encoders` makes each stream's encoder (default: the codec's `Encoder` on the
        source's frames; `sender/replay.py` plays a recording instead)."""
        self.model, self.source, self.config, self.client = model, source, config, client
        self.encoders = encoders
        self.on_frame, self.say = on_frame, say
        self.make_link = links or rtc_links(config.ice_servers, config.simulate_loss,
                                            config.loss_seed, config.max_buffered_motion)
        self.links: dict[str, ReceiverLink] = {}
        self.stats = SenderStats()
        self.bundling = Bundling(config)
        self.looks: Looks | None = None  # per stream: its encoder's landmark looks by load
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="encode")
        self.encoder: Encoder | None = None
        self.stream_packets: list[bytes] = []  # Hello + Clock of the running stream
        self.pending: list[bytes] = []
        self._stop = asyncio.Event()
        self._changed = asyncio.Event()  # a link opened or drained, or stop() was called
        self._spare: asyncio.Future[Encoder] | None = None  # the next stream's, being built

    async def run(self) -> dict:
        """Send until the source ends, `max_frames` is reached or `stop()` is called."""
        await self.client.connect()
        self._prepare_encoder()
        signal_task = asyncio.create_task(self.client.stay_joined(self._follow, self.say))
        try:
            await self._capture_loop()
        finally:
            await self._end("sender stopped")
            self._discard_spare()
            signal_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, SignalingError):
                await signal_task
            await self.client.close()
            self.pool.shutdown(wait=False)
        return {**self.stats.summary(), "frames_skipped_at_capture": self.source.skipped}

    def stop(self) -> None:
        self._stop.set()
        self._changed.set()

    # -- signaling ---------------------------------------------------------------------------
    async def _follow(self, welcome: Welcome) -> None:
        """Offer to every receiver in the room, now and as they join (again after a
        signaling drop: a receiver whose link still runs is left alone)."""
        for info in welcome.peers:
            if info.role == "receiver":
                await self._offer(info.peer)
        while True:
            match await self.client.recv():
                case PeerJoined(peer=peer, role="receiver"):
                    await self._offer(peer)
                case PeerLeft(peer=peer) if peer in self.links:
                    # One that leaves before its link ever opened most likely gave up on ICE
                    # first (both ends time out at about the same moment): say what to try.
                    early = not self.links[peer].was_open
                    await self._drop(peer, f"left before the connection opened; {ICE_FAILED}"
                                     if early else "left")
                case Answer(from_peer=str(peer), sdp=sdp) if peer in self.links:
                    await self.links[peer].accept(sdp)
                case Error(message=message):
                    log.warning("signaling server: %s", message)

    async def _offer(self, peer: str) -> None:
        if peer in self.links and not self.links[peer].failed:
            return  # the same receiver, back on signaling after a drop: its link still runs
        link = self.make_link(peer)
        self.links[peer] = link
        link.on_change(self._changed.set)

        async def lost() -> None:
            if self.links.get(peer) is link:
                why = "connection lost" if link.was_open else ICE_FAILED
                await self._drop(peer, why)

        link.on_failure(lost)
        await self.client.send(Offer(to=peer, sdp=await link.offer()))
        self.say(f"receiver {peer} joined; connecting")

    async def _drop(self, peer: str, why: str) -> None:
        link = self.links.pop(peer, None)
        if link is None:
            return
        await link.close()
        left = len(self.links)
        if not left:  # the stream ends with its last receiver; the next one starts afresh
            if self.encoder is not None:  # closed after any frame still being encoded
                with contextlib.suppress(RuntimeError):  # the sender is shutting down
                    self.pool.submit(self.encoder.close)
            self.encoder, self.pending = None, []
            self._prepare_encoder()
        self.say(f"receiver {peer}: {why}; {left} connected" + ("" if left else
                 ", waiting for a receiver"))

    # -- capture ----------------------------------------------------------------------------
    async def _capture_loop(self) -> None:
        loop = asyncio.get_running_loop()
        frames = self.source.frames()
        period = 1.0 / self.source.fps
        last_stats = time.monotonic()
        while not self._stop.is_set():
            if not await self._wait_for_receiver():
                return
            encoder = self.encoder or await self._new_stream()
            clock_ms = self.clock_ms
            frame = await loop.run_in_executor(self.pool, next, frames, None)
            if frame is None:
                return
            await self._pace(period)
            self._confirm_reference(encoder)
            t_ms = (time.time() * 1000) - clock_ms
            try:
                enc = await loop.run_in_executor(self.pool, encoder.encode, frame, t_ms)
            except Exception as exc:  # one frame the codec cannot take must not end the call
                self.stats.encode_errors += 1
                log.warning("skipped a frame the encoder could not take: %s", exc)
                continue
            if encoder is not self.encoder:  # the last receiver left while this was encoded
                continue
            self._route(enc)
            self._follow_load(encoder, enc.encode_ms)
            if self.on_frame is not None:
                self.on_frame(enc)
            if self.config.max_frames and self.stats.frames >= self.config.max_frames:
                return
            if time.monotonic() - last_stats >= self.config.stats_every_s:
                last_stats = time.monotonic()
                self.say(self.stats.line(len(self.links)))

    async def _wait_for_receiver(self) -> bool:
        while not any(link.open for link in self.links.values()):
            if self._stop.is_set():
                return False
            self._changed.clear()
            await self._changed.wait()
        return True

    def _make_encoder(self) -> Encoder:
        if self.encoders is not None:
            return self.encoders()
        return Encoder(self.model, self.config.encoder, self.source.fps, confirm_references=True)

    def _prepare_encoder(self) -> None:
        """Build the next stream's Encoder now, on the encode thread, while no receiver is
        connected: it opens four onnxruntime sessions (0.3-0.5 s here), which otherwise stood
        between a receiver's channels opening and its first picture."""
        if self._spare is None and not self._stop.is_set():
            with contextlib.suppress(RuntimeError):  # the pool is shut: the sender is ending
                self._spare = asyncio.get_running_loop().run_in_executor(
                    self.pool, self._make_encoder)

    def _discard_spare(self) -> None:
        spare, self._spare = self._spare, None
        if spare is not None and spare.done() and spare.exception() is None:
            with contextlib.suppress(RuntimeError):
                self.pool.submit(spare.result().close)

    async def _new_stream(self) -> Encoder:
        """A new stream's Encoder: the one prepared while waiting, else built now (on the
        encode thread, never on the event loop)."""
        spare, self._spare = self._spare, None
        if spare is None:
            spare = asyncio.get_running_loop().run_in_executor(self.pool, self._make_encoder)
        self.encoder = await spare
        self._follow_picture_quality()
        track = getattr(self.encoder, "track", None)  # a replayed stream has no landmarks
        self.looks = None if track is None else Looks(self.config, self.source.fps, track.looks)
        self.clock_ms = time.time() * 1000
        self._next_due = time.time()
        hello = self.encoder.start()
        self.stream_packets = [*hello, encode_packet(Clock(self.clock_ms))]
        for link in self.links.values():
            link.primed = False
        return self.encoder

    def _follow_load(self, encoder: Encoder, encode_ms: float) -> None:
        """One landmark look or two, as the encode time allows (sender/looks.py)."""
        if self.looks is None or (looks := self.looks.update(encode_ms)) is None:
            return
        encoder.track.looks = looks
        background = encoder.background
        background.every = background.config.every * (1 if looks == 2 else BUSY_SEARCHES)
        self.stats.looks_changes += 1
        state = "busy: one landmark look" if looks == 1 else "time to spare: two landmark looks"
        self.say(f"encoding takes {self.looks.share:.0%} of the frame time; {state} per frame")

    async def _pace(self, period: float) -> None:
        """Wait for this frame's slot at the source rate; a sender running late skips ahead."""
        now = time.time()
        if self._next_due > now:
            await asyncio.sleep(self._next_due - now)
        elif now - self._next_due > period:
            self._next_due = now
        self._next_due += period

    # -- sending ----------------------------------------------------------------------------
    def _route(self, enc: EncodedFrame) -> None:
        self.stats.frames += 1
        self.stats.encode_ms.append(enc.encode_ms)
        for p in enc.packets:
            kind = packet_type(p)
            if kind == PacketType.MOTION:
                self.stats.motion_frames += 1
                self.pending.append(p)
            elif kind == PacketType.REFERENCE:
                if getattr(decode_packet(p), "bank", None) is None:
                    self.stats.references += 1
                else:
                    self.stats.bank_pictures += 1
                self.stats.reference_bytes += len(p)
                self._control([p])
        self._prime_links()
        rtts = [link.rtt_ms for link in self.links.values() if link.open]
        if (size := self.bundling.update(rtts, time.monotonic())) is not None:
            self.stats.bundling_changes += 1
            worst = max(r for r in rtts if r is not None)
            quality = self._follow_picture_quality()
            self.say(f"path round trip {worst:.0f} ms: {size} frame(s) per message, "
                     f"reference pictures at quality {quality}")
        if len(self.pending) >= self.bundling.size:
            self._flush()

    def _follow_picture_quality(self) -> int:
        """New Reference pictures at the quality the path allows now (lower while bundling)."""
        quality = self.bundling.picture_quality(self.config.encoder.picture_quality)
        if self.encoder is not None:
            self.encoder.picture_quality = quality
        return quality

    def _prime_links(self) -> None:
        """A newly opened link gets the stream so far: Hello, Clock, the Reference in use, any
        offered one and the bank pictures held."""
        references = []
        if self.encoder is not None:
            references = [*self.encoder.reference_packets.values(), *self.encoder.bank_packets]
        for link in self.links.values():
            if link.open and not link.primed:
                link.send_control(self.stream_packets + references)
                link.primed = True

    def _confirm_reference(self, encoder: Encoder) -> None:
        """Code against an offered Reference once every receiver's transport has it."""
        ready = [link for link in self.links.values() if link.open and link.primed]
        if encoder.offered is not None and all(link.delivered for link in ready):
            encoder.confirm()

    def _control(self, packets: list[bytes]) -> None:
        for link in self.links.values():
            if link.open and link.primed:
                link.send_control(packets)

    def _flush(self) -> None:
        if not self.pending:
            return
        payload = sum(len(p) for p in self.pending)
        self.stats.payload_bytes += payload
        self.stats.wire_bytes += payload + TRANSPORT_OVERHEAD  # what one receiver costs
        for link in self.links.values():
            if link.open and link.primed and not link.send_motion(self.pending):
                self.stats.dropped += 1
        self.pending = []

    async def _drain(self, timeout: float) -> None:
        """Wait (up to `timeout`) until every link has handed its queued messages to the
        network, so the Bye is not cut off by closing; then a short grace for the acks."""
        deadline = time.monotonic() + timeout
        while any(link.buffered for link in self.links.values()):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        await asyncio.sleep(0.3)

    async def _end(self, reason: str) -> None:
        self._flush()
        if self.encoder is not None:
            self._control(self.encoder.finish(reason))
            await self._drain(5.0)
        for peer in list(self.links):
            link = self.links.pop(peer)
            await link.close()
