"""One receiver's WebRTC link: a peer connection with a `control` and a `motion` channel.

`control` is reliable and ordered (Hello, Clock, Reference, Bye: a lost one would break the
stream); `motion` is unordered with no retransmits (a late Motion is worthless, the next one
replaces it). aiortc gathers every ICE candidate before the offer is returned, so one offer
message carries them all.
"""

from __future__ import annotations

import contextlib
import random

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

from bitstream import pack_bundle


class ReceiverLink:
    def __init__(self, peer_id: str, ice_servers: tuple[dict, ...], loss: float = 0.0, seed=0):
        self.peer_id = peer_id
        config = RTCConfiguration([RTCIceServer(**s) for s in ice_servers])
        self.pc = RTCPeerConnection(configuration=config)
        self.control = self.pc.createDataChannel("control", ordered=True)
        self.motion = self.pc.createDataChannel("motion", ordered=False, maxRetransmits=0)
        self.loss, self.rng = loss, random.Random(seed)
        self.primed = False  # Hello, Clock and the current Reference were sent
        self.messages = 0

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

    def send_control(self, packets: list[bytes]) -> None:
        for p in packets:
            self.control.send(p)
            self.messages += 1

    def send_motion(self, packets: list[bytes]) -> bool:
        """Send one message; False when the simulated loss dropped it."""
        if self.loss and self.rng.random() < self.loss:
            return False
        self.motion.send(pack_bundle(packets))
        self.messages += 1
        return True

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pc.close()
