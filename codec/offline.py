"""The offline pipeline: frames → encoder → (a channel) → decoder → what a viewer sees.

One loop for `facecodec decode` and every benchmark, so they all hold the last picture on a
lost or bad packet the same way the live receiver does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from bitstream import BitstreamError
from codec.decoder import Decoder
from codec.driving import DrivingState
from codec.encoder import EncodedFrame, Encoder
from codec.prior.params import FaceParams
from codec.render.base import Renderer

Channel = Callable[[bytes], "bytes | None"]  # a packet as delivered, or None when lost


@dataclass(frozen=True)
class Shown:
    seq: int
    image: np.ndarray  # RGB uint8
    decoded: bool  # False: a frame lost, bad or without a face, showing the last one held


def play(packets: Iterable[bytes], decoder: Decoder,
         on_error: Callable[[BitstreamError], None] | None = None) -> Iterator[Shown]:
    """One picture per frame number, up to the Bye's count: the decoded frame, or the last
    good one held. A bad packet goes to `on_error` (raised without one) and is skipped."""
    shown = 0
    for data in packets:
        try:
            frame = decoder.push(data)
        except BitstreamError as exc:
            if on_error is None:
                raise
            on_error(exc)
            continue
        if frame is None or frame.seq < shown:
            continue
        while shown < frame.seq:
            yield Shown(shown, decoder.hold(), False)
            shown += 1
        yield Shown(shown, frame.image, True)
        shown += 1
    total = decoder.bye.frames if decoder.bye else shown
    for seq in range(shown, total):
        yield Shown(seq, decoder.hold(), False)


def encode(frames: Iterable[np.ndarray], encoder: Encoder, channel: Channel | None = None,
           on_result: Callable[[EncodedFrame], None] | None = None) -> Iterator[bytes]:
    """The packets of `frames` as `channel` delivers them, ending with the Bye."""
    for frame in frames:
        result = encoder.encode(frame)
        if on_result is not None:
            on_result(result)
        yield from _through(result.packets, channel)
    yield from _through(encoder.finish(), channel)


def transcode(frames: Iterable[np.ndarray], encoder: Encoder, decoder: Decoder,
              channel: Channel | None = None,
              on_result: Callable[[EncodedFrame], None] | None = None) -> Iterator[Shown]:
    """Encode, deliver, decode: one picture per input frame."""
    return play(encode(frames, encoder, channel, on_result), decoder)


def _through(packets: list[bytes], channel: Channel | None) -> Iterator[bytes]:
    for data in packets:
        delivered = data if channel is None else channel(data)
        if delivered is not None:
            yield delivered


class TimedRenderer:
    """A renderer that records how long each `render` took (ms), and nothing else: no packet
    parsing, no picture decoding, no set-up."""

    def __init__(self, inner: Renderer):
        self.inner, self.name = inner, inner.name
        self.ms: list[float] = []

    def set_reference(self, picture: np.ndarray, params: FaceParams) -> None:
        self.inner.set_reference(picture, params)

    def render(self, driving: DrivingState) -> np.ndarray:
        t = time.perf_counter()
        image = self.inner.render(driving)
        self.ms.append((time.perf_counter() - t) * 1000)
        return image
