"""Watching a call in a browser over WebRTC video: the rendered frames as a video track.

The receiver's page (and each call's page on a host) offers a WebRTC connection; the
receiver answers with a peer connection that sends `FrameTrack`, the newest rendered frame
at the call's rate, coded by aiortc (VP8 by default, what every browser decodes). A viewer
elsewhere on the network gets real video instead of polled pictures; the page falls back
to polling JPEG when WebRTC cannot connect. Viewers are bounded per call and closed with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time

import numpy as np
from aiortc import MediaStreamTrack, RTCSessionDescription
from av import VideoFrame

from receiver.sinks import LatestFrame
from signaling.peer.rtc import peer_connection

CLOCK = 90_000  # RTP's video clock


class FrameTrack(MediaStreamTrack):
    """The newest frame of a `LatestFrame`, `fps` times a second (grey until the first)."""

    kind = "video"

    def __init__(self, latest: LatestFrame, fps: float = 25.0, size: int = 256):
        super().__init__()
        self.latest, self.period, self.size = latest, 1.0 / fps, size
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._count * self.period
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        with self.latest.lock:
            image = self.latest.image
        if image is None:
            image = np.full((self.size, self.size, 3), 40, np.uint8)
        frame = VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = round(self._count * self.period * CLOCK)
        frame.time_base = fractions.Fraction(1, CLOCK)
        self._count += 1
        return frame


class ViewerLimitError(RuntimeError):
    """The call has as many viewers as it allows."""


class Viewers:
    """The browsers watching one call, each its own peer connection."""

    def __init__(self, latest: LatestFrame, ice_servers: tuple[dict, ...] = (),
                 max_viewers: int = 8):
        self.latest, self.ice_servers, self.max_viewers = latest, ice_servers, max_viewers
        self.connections: set = set()

    async def answer(self, offer_sdp: str) -> str:
        """Answer a browser's offer with the call's video; ViewerLimitError past the bound,
        ValueError for an offer aiortc cannot take."""
        if len(self.connections) >= self.max_viewers:
            raise ViewerLimitError(f"this call has its limit of {self.max_viewers} viewers")
        pc = peer_connection(self.ice_servers)
        self.connections.add(pc)

        @pc.on("connectionstatechange")
        async def changed() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._drop(pc)

        try:
            pc.addTrack(FrameTrack(self.latest))
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # a malformed offer: refused, nothing kept
            await self._drop(pc)
            raise ValueError(f"could not answer the viewer's offer: {exc}") from None
        return pc.localDescription.sdp

    async def close(self) -> None:
        await asyncio.gather(*(self._drop(pc) for pc in list(self.connections)))

    async def _drop(self, pc) -> None:
        self.connections.discard(pc)
        with contextlib.suppress(Exception):
            await pc.close()
