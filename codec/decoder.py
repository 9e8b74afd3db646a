"""Decoder: packets in, RGB frames out.

It keeps the stream's `Hello`, the last few base references, the bank pictures (at most
`MAX_BANK_SLOTS`, one per slot, each replaced by the next in its slot) and the last good
frame. A bad
packet raises `BitstreamError` from `push` and changes nothing, so the caller can hold the
last frame and carry on; a missing packet is simply never pushed.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from bitstream import (
    BitstreamError,
    Bye,
    Clock,
    Hello,
    Motion,
    PacketType,
    Reference,
    decode_packet,
    packet_type,
)
from bitstream.limits import KEPT_REFERENCES, MAX_CROP
from bitstream.packets import SEQ_BITS
from codec.bank import BankPicture, face_state
from codec.driving import DrivingState
from codec.motion import MotionCodec, reference_params
from codec.picture import PictureError, decode_picture
from codec.prior.flame import FlameModel
from codec.prior.params import FaceParams, landmarks_in_crop
from codec.render.base import Renderer


class MissingReferenceError(BitstreamError):
    """A well-formed Motion whose Reference has not arrived (yet): live, the reliable channel
    can deliver the Reference after the first Motion packets of the other channel."""


@dataclass(frozen=True)
class DecodedFrame:
    seq: int  # unwrapped frame number
    image: np.ndarray  # RGB uint8
    driving: DrivingState


class Decoder:
    def __init__(self, model: FlameModel, renderer: Renderer, edit=None):
        self.model, self.renderer = model, renderer
        self.edit = edit  # optional callable DrivingState -> DrivingState (receiver controls)
        self.hello: Hello | None = None
        self.motion: MotionCodec | None = None
        self.refs: OrderedDict[int, tuple[np.ndarray, FaceParams]] = OrderedDict()
        self.active_ref: int | None = None
        self.bank: dict[int, BankPicture] = {}
        self.last: DecodedFrame | None = None
        self.bye: Bye | None = None
        self.clock_ms: float | None = None  # sender's wall clock at stream time 0 (live only)
        self._seq = -1

    def push(self, data: bytes) -> DecodedFrame | None:
        """Decode one packet; returns a frame for a Motion packet, else None."""
        return self.push_packet(self.parse(data))

    def parse(self, data: bytes):
        """One packet parsed against the stream's Hello. A Motion that comes before any Hello
        cannot be parsed yet (its field sizes are in the Hello): MissingReferenceError, as for
        one whose Reference has not arrived, since live both are just early."""
        if self.hello is None and packet_type(data) == PacketType.MOTION:
            raise MissingReferenceError("Motion packet before the stream's Hello")
        return decode_packet(data, self.hello)

    def push_packet(self, packet) -> DecodedFrame | None:
        """The same for a packet already parsed (a live receiver peeks at seq first)."""
        if isinstance(packet, Hello):
            self._hello(packet)
        elif isinstance(packet, Reference):
            self._reference(packet)
        elif isinstance(packet, Motion):
            return self._motion(packet)
        elif isinstance(packet, Clock):
            self.clock_ms = packet.epoch_ms
        else:
            self.bye = packet
        return None

    def hold(self) -> np.ndarray:
        """The last good frame (mid-grey before the first one), for a lost or bad packet."""
        if self.last is not None:
            return self.last.image
        size = self.hello.crop_size if self.hello else 256
        return np.full((size, size, 3), 128, np.uint8)

    def is_stale(self, packet) -> bool:
        """A Motion for a frame at or before the last rendered one (it arrived late)."""
        return (
            isinstance(packet, Motion) and self.last is not None
            and self.unwrap(packet.seq) <= self.last.seq
        )  # fmt: skip

    def unwrap(self, seq: int) -> int:
        """Full frame number from the wrapped one on the wire, nearest to the last seen."""
        if self._seq < 0:
            return seq
        period = 1 << SEQ_BITS
        delta = (seq - self._seq) % period
        return self._seq + (delta - period if delta >= period // 2 else delta)

    # -- packets ---------------------------------------------------------------------------
    def _hello(self, hello: Hello) -> None:
        if hello.prior_id != self.model.prior_id:
            raise BitstreamError(
                f"Hello: the stream uses face prior {hello.prior_id}, this receiver has "
                f"{self.model.prior_id}; pass the sender's prior with --flame"
            )
        if hello.expr_dims > self.model.n_expr:
            raise BitstreamError(f"Hello: {hello.expr_dims} expression dims exceed the prior's")
        if hello != self.hello:  # a new stream: its references are not the old ones
            self.refs.clear()
            self.active_ref = None
            self._set_bank({})
        self.hello = hello
        self.motion = MotionCodec(self.model, hello)

    def _reference(self, ref: Reference) -> None:
        if self.hello is None:
            raise BitstreamError("Reference packet: arrived before the stream's Hello")
        if len(ref.params.beta) > self.model.n_shape or len(ref.params.psi) > self.model.n_expr:
            raise BitstreamError("Reference packet: more shape or expression dims than the prior")
        if ref.bank is not None:
            return self._bank_picture(ref)
        side = self.hello.crop_size + 2 * ref.margin
        if side > MAX_CROP:
            raise BitstreamError(f"Reference packet {ref.ref_id}: a margin of {ref.margin} "
                                 f"makes a {side}² picture, over {MAX_CROP}²")
        try:
            picture = decode_picture(ref.picture, ref.codec, side)
        except PictureError as exc:
            raise BitstreamError(f"Reference packet {ref.ref_id}: {exc}") from None
        self.refs[ref.ref_id] = (picture, reference_params(ref.params, self.hello.crop_size))
        self.refs.move_to_end(ref.ref_id)
        while len(self.refs) > KEPT_REFERENCES:
            self.refs.popitem(last=False)

    def _bank_picture(self, ref: Reference) -> None:
        assert self.hello is not None and ref.bank is not None
        size, (x, y, w, h) = self.hello.crop_size, ref.bank.box
        if x + w > size or y + h > size:
            raise BitstreamError(f"Reference packet: bank box {ref.bank.box} outside the crop")
        if not self.refs:
            raise BitstreamError("Reference packet: a bank picture before any base reference")
        try:
            patch = decode_picture(ref.picture, ref.codec, (w, h))
        except PictureError as exc:
            raise BitstreamError(f"Reference packet (bank slot {ref.bank.slot}): {exc}") from None
        identity = next(iter(self.refs.values()))[1].beta  # every base reference shares it
        params = replace(reference_params(ref.params, size), beta=identity)
        state = face_state(landmarks_in_crop(self.model, params))
        held = BankPicture(ref.bank.slot, ref.bank.region, ref.bank.box,
                           BankPicture.place(patch, ref.bank.box, size), params, state)
        self._set_bank({**self.bank, held.slot: held})

    def _set_bank(self, bank: dict[int, BankPicture]) -> None:
        self.bank = bank
        set_bank = getattr(self.renderer, "set_bank", None)
        if set_bank is not None:
            set_bank(list(bank.values()))

    def _motion(self, m: Motion) -> DecodedFrame:
        if m.ref_id not in self.refs:
            raise MissingReferenceError(
                f"Motion packet {m.seq}: reference {m.ref_id} not received")
        if self.hello is None or self.motion is None:
            raise BitstreamError(f"Motion packet {m.seq} before the stream's Hello")
        picture, ref = self.refs[m.ref_id]
        seq = self.unwrap(m.seq)
        time_ms = seq * 1000.0 / self.hello.fps + m.time_offset_ms
        state = self.motion.decode(m, ref, seq, time_ms)
        if self.active_ref != m.ref_id:
            self.renderer.set_reference(picture, ref)
            self.active_ref = m.ref_id
        if self.edit is not None:
            state = self.edit(state)
        image = self.renderer.render(state)
        self._seq = max(self._seq, seq)
        self.last = DecodedFrame(seq, image, state)
        return self.last
