"""The anchor: the same face crops sent as a plain WebRTC video call, one side per process.

What a user would pick instead of facecodec is the video call they already have. This is
that call as aiortc makes it: the sender's 256² face crops (the crops facecodec's own
sender would code, found by the same tracker) as a video track at 25 fps, VP8 or H.264,
with aiortc's bitrate floor as shipped or lowered to the link
(`signaling.peer.rtc.video_bitrate`); the receiver records every decoded frame with the
time it arrived. Each frame carries its number in a band of 8 black or white blocks along
its bottom 16 rows (robust to any bitrate the codecs reach), so the receiver knows which
frame it shows; scoring leaves that band out.

    python -m benchmarks.video_peer send BASE ROOM TOKEN OUT.json --video F --frames N
        [--codec vp8|h264] [--floor-kbps K] [--crops OUT.npz]
    python -m benchmarks.video_peer receive BASE ROOM TOKEN OUT.json --images OUT.npz
    (both take --ice-server S)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import sys
import time

import numpy as np

FPS = 25.0
CLOCK = 90_000
BAND = 16  # rows of the frame-number band
BITS = 8


def stamp(image: np.ndarray, index: int) -> np.ndarray:
    """The frame with `index % 256` in its bottom band, one 32-px block per bit."""
    out = image.copy()
    width = out.shape[1] // BITS
    for bit in range(BITS):
        value = 255 if (index >> bit) & 1 else 0
        out[-BAND:, bit * width:(bit + 1) * width] = value
    return out


def read_stamp(image: np.ndarray) -> int:
    width = image.shape[1] // BITS
    band = image[-BAND + 3:-3].mean(axis=(0, 2))  # away from the block edges the codec blurs
    return sum(1 << bit for bit in range(BITS)
               if band[bit * width + 6:(bit + 1) * width - 6].mean() > 127)


async def _send(args) -> dict:
    from aiortc import MediaStreamTrack, RTCRtpSender, RTCSessionDescription
    from av import VideoFrame

    from codec.prior.face_track import FaceTrack
    from codec.video import read_frames
    from signaling.messages import Answer, Offer, PeerJoined
    from signaling.peer.client import SignalingClient
    from signaling.peer.ice import parse_ice_server
    from signaling.peer.rtc import peer_connection, video_bitrate

    track = FaceTrack()
    crops = []
    for frame in read_frames(args.video, max_frames=args.frames):
        face = track(frame)
        crops.append(face.crop if face is not None else np.zeros((256, 256, 3), np.uint8))
    track.close()
    if args.crops:
        np.savez(args.crops, crops=np.stack(crops))
    if args.floor_kbps:
        video_bitrate(args.codec, args.floor_kbps * 1000)
    sent: dict[int, float] = {}
    done = asyncio.Event()

    class Clip(MediaStreamTrack):
        kind = "video"

        def __init__(self):
            super().__init__()
            self.i, self.start = 0, None

        async def recv(self):
            if self.i >= len(crops):
                done.set()
                await asyncio.sleep(3600)  # the call ends from outside
            self.start = self.start or time.monotonic()
            await asyncio.sleep(max(0.0, self.start + self.i / FPS - time.monotonic()))
            frame = VideoFrame.from_ndarray(stamp(crops[self.i], self.i), format="rgb24")
            frame.pts, frame.time_base = round(self.i * CLOCK / FPS), fractions.Fraction(1, CLOCK)
            sent[self.i] = time.time()
            self.i += 1
            return frame

    client = SignalingClient(args.base, args.room, args.token)
    welcome = await client.connect()
    peer = next((p.peer for p in welcome.peers if p.role == "receiver"), None)
    while peer is None:
        message = await client.recv()
        if isinstance(message, PeerJoined) and message.role == "receiver":
            peer = message.peer
    pc = peer_connection(tuple(parse_ice_server(s) for s in args.ice_server))
    transceiver = pc.addTransceiver(Clip(), direction="sendonly")
    mime = {"vp8": "video/VP8", "h264": "video/H264"}[args.codec]
    transceiver.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs
                                     if c.mimeType == mime])
    await pc.setLocalDescription(await pc.createOffer())
    await client.send(Offer(to=peer, sdp=pc.localDescription.sdp))
    while True:
        message = await client.recv()
        if isinstance(message, Answer):
            await pc.setRemoteDescription(RTCSessionDescription(sdp=message.sdp, type="answer"))
            break
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), args.frames / FPS + 60)
    await asyncio.sleep(1.0)  # the last frames' way across
    await pc.close()
    await client.close()
    return {"codec": args.codec, "floor_kbps": args.floor_kbps, "sent": sent,
            "frames": len(crops)}


async def _receive(args) -> dict:
    from aiortc import RTCSessionDescription
    from aiortc.mediastreams import MediaStreamError

    from signaling.messages import Offer
    from signaling.peer.client import SignalingClient
    from signaling.peer.ice import parse_ice_server
    from signaling.peer.rtc import peer_connection

    client = SignalingClient(args.base, args.room, args.token)
    await client.connect()
    while True:
        message = await client.recv()
        if isinstance(message, Offer):
            break
    pc = peer_connection(tuple(parse_ice_server(s) for s in args.ice_server))
    tracks: asyncio.Queue = asyncio.Queue()
    pc.on("track", tracks.put_nowait)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=message.sdp, type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    from signaling.messages import Answer

    await client.send(Answer(to=message.from_peer, sdp=pc.localDescription.sdp))
    start = time.monotonic()
    track = await asyncio.wait_for(tracks.get(), 60)
    shown: dict[int, tuple[float, np.ndarray]] = {}
    first = None
    last = -1
    while True:
        try:
            frame = await asyncio.wait_for(track.recv(), 8.0)
        except (MediaStreamError, TimeoutError):
            break
        image = frame.to_ndarray(format="rgb24")
        if image.shape[:2] != (256, 256):
            import cv2

            image = cv2.resize(image, (256, 256))
        low = read_stamp(image)
        step = (low - last) % 256 if last >= 0 else low
        if last >= 0 and step == 0:
            continue  # the same frame again
        index = last + step if last >= 0 else low  # unwrapped: frames only move forward
        first = first or time.monotonic() - start
        shown[index], last = (time.time(), image), max(last, index)
    await pc.close()
    await client.close()
    seqs = sorted(shown)
    if args.images and seqs:
        np.savez(args.images, seqs=np.array(seqs),
                 images=np.stack([shown[s][1] for s in seqs]))
    return {"received": {s: shown[s][0] for s in seqs}, "first_frame_s":
            round(first, 3) if first else None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.video_peer")
    p.add_argument("role", choices=("send", "receive"))
    p.add_argument("base")
    p.add_argument("room")
    p.add_argument("token")
    p.add_argument("out")
    p.add_argument("--video", default=None)
    p.add_argument("--frames", type=int, default=250)
    p.add_argument("--codec", choices=("vp8", "h264"), default="vp8")
    p.add_argument("--floor-kbps", type=int, default=None,
                   help="lower aiortc's bitrate floor (and start) to this (default: as shipped)")
    p.add_argument("--crops", default=None, help="send: keep the sent crops here")
    p.add_argument("--images", default=None, help="receive: keep the shown frames here")
    p.add_argument("--ice-server", action="append", default=[])
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    result = asyncio.run(_send(args) if args.role == "send" else _receive(args))
    with open(args.out, "w") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
