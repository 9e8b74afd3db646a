"""Classical low-delay video codecs through PyAV, set up the way a video call would use them.

No B-frames, no look-ahead, one key frame at the start (a call does not send periodic key
frames unless asked), rate control aimed at a target bitrate. Every system is given the same
256² crops; the bytes counted are the encoder's packets, the key frame reported apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from codec.quiet import quiet_stderr
from codec.threads import kept_scheduling

RTP_OVERHEAD = 50  # IPv4 20 + UDP 8 + RTP 12 + SRTP tag 10 bytes per packet
RTP_MTU_PAYLOAD = 1200


@dataclass(frozen=True)
class Classical:
    name: str
    encoder: str
    decoder: str
    options: dict


CODECS = {
    "x264": Classical("x264", "libx264", "h264",
                      {"preset": "veryfast", "tune": "zerolatency", "bf": "0"}),
    "x265": Classical("x265", "libx265", "hevc",
                      {"preset": "veryfast", "tune": "zerolatency",
                       "x265-params": "bframes=0:log-level=error"}),
    "vp8": Classical("vp8", "libvpx", "libvpx",
                     {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}),
    "vp9": Classical("vp9", "libvpx-vp9", "libvpx-vp9",
                     {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
                      "row-mt": "1"}),
    "av1": Classical("av1", "libsvtav1", "libdav1d",
                     {"preset": "10", "svtav1-params": "pred-struct=1:rc=2:lp=1"}),
}  # fmt: skip


@dataclass(frozen=True)
class Coded:
    frames: np.ndarray  # decoded RGB frames, one per input frame
    packet_bytes: list[int]  # encoder output, one entry per coded frame
    key_bytes: int  # the first (key) frame


def encode_decode(
    frames: np.ndarray, codec: str, kbps: float, fps: float = 25.0, lost: frozenset = frozenset()
) -> Coded:
    """Code `frames` (F, H, W, 3) at a target bitrate; returns the decoded frames and sizes.

    Packets whose index is in `lost` never reach the decoder, as on a lossy network with
    no retransmission and no key-frame request: later frames predict from what is missing,
    and a frame the decoder cannot produce repeats the last one it did.
    """
    import av

    spec = CODECS[codec]
    h, w = frames.shape[1:3]
    enc = av.CodecContext.create(spec.encoder, "w")
    enc.width, enc.height, enc.pix_fmt = w, h, "yuv420p"
    enc.time_base = Fraction(1, round(fps))
    enc.framerate = Fraction(round(fps), 1)
    enc.bit_rate = int(kbps * 1000)
    enc.gop_size = 10_000
    enc.max_b_frames = 0
    enc.options = dict(spec.options)
    enc.thread_count = 1  # one thread each: the benchmark must not oversubscribe 2 cores
    dec = av.CodecContext.create(spec.decoder, "r")
    dec.thread_count = 1
    packets = []
    with quiet_stderr(), kept_scheduling():
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame = frame.reformat(format="yuv420p")
            frame.pts = i
            packets += list(enc.encode(frame))
        packets += list(enc.encode(None))
        sizes = [p.size for p in packets]
        out, last = [], np.zeros_like(frames[0])
        for i, p in enumerate(packets):
            got = [] if i in lost else _decode(dec, p)
            last = got[-1] if got else last
            out.append(last)
        for f in _decode(dec, None):
            out.append(f)
    out = out[: len(frames)]
    while len(out) < len(frames):
        out.append(out[-1] if out else np.zeros_like(frames[0]))
    return Coded(np.stack(out), sizes, sizes[0] if sizes else 0)


def _decode(dec, packet) -> list[np.ndarray]:
    import av

    try:
        return [f.to_ndarray(format="rgb24") for f in dec.decode(packet)]
    except (av.error.FFmpegError, ValueError):
        return []  # a decoder that gives up on a damaged stream shows nothing new


def rtp_wire_bytes(packet_bytes: list[int]) -> int:
    """Bytes on the wire when each coded frame is split into MTU-sized RTP packets."""
    return sum(b + RTP_OVERHEAD * max(1, -(-b // RTP_MTU_PAYLOAD)) for b in packet_bytes)
