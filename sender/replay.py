"""A recorded `.fcs` stream sent as if it were being encoded now: `facecodec send --replay`.

Hosting many calls is measured with many senders, and a live encoder per sender would
measure the senders' machine instead. A replay sender reads a stream recorded by
`facecodec encode`, and the live `Sender` sends it exactly as it sends its own: Hello and
Clock, each Reference and bank picture on the reliable channel before the first Motion
coded against it, Motion paced at the recorded frame rate over the unreliable channel.

Looping keeps one stream: every Motion is re-stamped with a running frame number and its
time offset against the live clock (decoded with the recorded Hello and coded again, so
its bytes stay what the recording holds), and each pass re-sends the pictures it needs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bitstream import (
    BitstreamError,
    Bye,
    Hello,
    Motion,
    PacketType,
    Reference,
    decode_packet,
    encode_packet,
    packet_type,
    read_packets,
)
from bitstream.packets import SEQ_BITS
from codec.encoder import EncodedFrame

MAX_REPLAY_FRAMES = 100_000  # a recording past ~1 hour at 25 fps is refused, not loaded


class ReplayError(ValueError):
    """A recording that cannot be replayed; the message names the file and why."""


@dataclasses.dataclass(frozen=True)
class Recording:
    hello: Hello
    hello_packet: bytes
    frames: list[list[bytes]]  # per Motion: the pictures sent just before it, then the Motion

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        try:
            packets = list(_bounded(read_packets(path)))
        except BitstreamError as exc:
            raise ReplayError(f"{path}: {exc}") from None
        if not packets or packet_type(packets[0]) != PacketType.HELLO:
            raise ReplayError(f"{path}: not a facecodec stream (no Hello first)")
        hello = decode_packet(packets[0])
        assert isinstance(hello, Hello)
        frames, pictures = [], []
        for p in packets[1:]:
            kind = packet_type(p)
            if kind == PacketType.REFERENCE:
                pictures.append(p)
            elif kind == PacketType.MOTION:
                frames.append([*pictures, p])
                pictures = []
        if not frames:
            raise ReplayError(f"{path}: no frames to replay")
        return cls(hello, packets[0], frames)


class ReplayEncoder:
    """Stands in for `Encoder` in a `Sender`: the recording's packets, frame by frame."""

    def __init__(self, recording: Recording, loop: bool = True):
        self.recording, self.loop = recording, loop
        self.picture_quality = 0  # the sender's rate adaptation sets it; a recording keeps its own
        self.offered = None  # recorded References are used at once: nothing to confirm
        self.frame = 0
        self._references: dict[int, bytes] = {}
        self._bank: dict[int, bytes] = {}

    @property
    def fps(self) -> float:
        return self.recording.hello.fps

    def start(self) -> list[bytes]:
        return [self.recording.hello_packet]

    def encode(self, _frame: object, time_ms: float | None = None) -> EncodedFrame:
        """The next recorded frame, re-stamped as frame number `self.frame` at `time_ms`."""
        t = time.perf_counter()
        frames = self.recording.frames
        recorded = frames[self.frame % len(frames)]
        pictures = recorded[:-1]
        if self.frame and self.frame % len(frames) == 0:  # a new pass: resend what it uses
            pictures = [*self._references.values(), *self._bank.values(), *pictures]
        for p in recorded[:-1]:
            self._hold(p)
        motion = self._restamp(recorded[-1], time_ms)
        seq, self.frame = self.frame, self.frame + 1
        return EncodedFrame(seq, [*pictures, motion], len(motion),
                            sum(len(p) for p in pictures), np.zeros((1, 1, 3), np.uint8),
                            None, None, None, None, (time.perf_counter() - t) * 1000)

    @property
    def reference_packets(self) -> dict[int, bytes]:
        return dict(self._references)

    @property
    def bank_packets(self) -> list[bytes]:
        return [self._bank[s] for s in sorted(self._bank)]

    def confirm(self) -> None:
        """Nothing to confirm: a recording's References were confirmed when it was made."""

    def finish(self, reason: str = "end of stream") -> list[bytes]:
        return [encode_packet(Bye(reason, self.frame))]

    def close(self) -> None:
        """Nothing to release."""

    def _hold(self, packet: bytes) -> None:
        ref = decode_packet(packet)
        assert isinstance(ref, Reference)
        if ref.bank is None:
            self._references[ref.ref_id] = packet
            while len(self._references) > 4:
                self._references.pop(next(iter(self._references)))
        else:
            self._bank[ref.bank.slot] = packet

    def _restamp(self, packet: bytes, time_ms: float | None) -> bytes:
        hello = self.recording.hello
        motion = decode_packet(packet, hello)
        assert isinstance(motion, Motion)
        due_ms = self.frame * 1000.0 / hello.fps
        offset = 0 if time_ms is None else round(time_ms - due_ms)
        fresh = dataclasses.replace(motion, seq=self.frame % (1 << SEQ_BITS),
                                    time_offset_ms=max(-30_000, min(30_000, offset)))
        return encode_packet(fresh, hello)


class ReplaySource:
    """The frame source of a replay sender: a tick per recorded frame at the recorded rate
    (forever when looping); the ticks carry nothing, the encoder holds the packets."""

    def __init__(self, recording: Recording, name: str, loop: bool = True):
        self.recording, self.loop = recording, loop
        self.fps = recording.hello.fps
        self.name = f"replay of {name}"
        self.skipped = 0

    def frames(self) -> Iterator[int]:
        n = len(self.recording.frames)
        i = 0
        while self.loop or i < n:
            yield i
            i += 1


def _bounded(packets: Iterator[bytes]) -> Iterator[bytes]:
    for i, p in enumerate(packets):
        if i > 2 * MAX_REPLAY_FRAMES:
            raise BitstreamError(f"more than {MAX_REPLAY_FRAMES} frames")
        yield p
