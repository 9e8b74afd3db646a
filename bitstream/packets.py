"""The packet types and their exact byte layout (format version 6; versions 1 to 5 still
decode).

Every packet starts with one byte: ``version << 4 | compressed << 3 | type``. Version 2
added eye gaze to `Motion` (and its step and orders to `Hello`); version 3 added the
reference bank: a `Reference` may be a bank picture (`BankSlot`: which slot it fills, which
region it shows, and the box of the crop it covers) that the receiver composes into the
frames of the base reference Motion is coded against. Version 4 added the background's follow
to `Motion`: how much of the head's motion the two rings around the face follow, chosen by
the sender per frame (three bits each; older streams decode with the fixed levels they were
rendered with). Version 5 added the view to `Motion`: how the sender's crop moved and
zoomed in its frame since the reference's crop, for a receiver to keep still scenery still
(one bit while the crop has not moved, or the sender judges the scenery moved with it).
Version 6 added the margin to a base `Reference`: its picture may show the crop with that many
more pixels of the camera frame on every side, for a receiver whose warp reaches past the
crop's edge (a head that moved, a crop that moved). A
stream's version is its Hello's, and every Motion must match it. `Hello`,
`Reference`, `Bye` and `Clock` carry a msgpack array after it, zstd-compressed only when that is
smaller. `Motion` is sent every frame and is bit-packed with Exp-Golomb codes instead: a
msgpack array of the same integers is 2.8× larger (92.8 against 33.4 bytes a frame on
dagan_driving with K = 16, N = 20), and zstd makes a Motion packet larger (42.4 bytes).
"""

from __future__ import annotations

import builtins
import enum
from dataclasses import dataclass, field

import numpy as np

from bitstream.bits import BitReader, BitWriter
from bitstream.body import pack_body, unpack_body
from bitstream.errors import BitstreamError
from bitstream.limits import (
    MAX_BANK_SLOTS,
    MAX_CROP,
    MAX_EXPR_DIMS,
    MAX_KEYPOINTS,
    MAX_MARGIN,
    MAX_PACKET_BYTES,
    MAX_PARAM_VALUES,
    MAX_PICTURE_BYTES,
    MAX_TEXT,
)
from bitstream.quantize import Steps

VERSION = 6
READABLE = (1, 2, 3, 4, 5, 6)  # versions this decoder reads


class PacketType(enum.IntEnum):
    HELLO = 1
    REFERENCE = 2
    MOTION = 3
    BYE = 4
    BUNDLE = 5  # several packets in one transport message (bitstream/bundle.py)
    CLOCK = 6


class MotionMode(enum.IntEnum):
    PARAMS = 0  # pose + ψ[:N] + jaw; the receiver rebuilds keypoints from the reference's β
    KEYPOINTS = 1  # the same plus K×3 keypoints, coded as residuals from that rebuild


# Exp-Golomb orders per field: rotation, scale, translation, depth, jaw opening, jaw sideways,
# keypoint. ψ has one order per dim (`Hello.expr_orders`): its dims shrink down the list.
DEFAULT_ORDERS = (4, 3, 5, 0, 3, 0, 1)
GAZE_ORDERS = (2, 0)  # gaze pitch and yaw, vergence (version 2 on)
TIME_ORDER = 0  # offline and well-paced live streams send 0: one bit
FOLLOW_BITS = 3  # per ring: levels 0..7 of FOLLOW_STEP (version 4 on)
FOLLOW_STEP = 0.25
DEFAULT_FOLLOW = (4, 2)  # inner ring all of the head's motion, outer ring half: versions 1-3
VIEW_STEP = 1 / 512  # the view's log zoom, and its shift in crop sides (version 5 on)
VIEW_ORDER = 4
VIEW_LIMIT = 1024  # |level| at most: a zoom of e^2, a shift of two crop sides
SEQ_BITS = 12  # wraps every 164 s at 25 fps; receivers unwrap against the last frame seen


@dataclass(frozen=True)
class Hello:
    prior_id: str  # 16 hex digits: which face prior the parameters refer to
    mode: MotionMode
    keypoints: int  # K, 0 in params mode
    expr_dims: int  # N
    crop_size: int
    fps: float
    steps: Steps
    orders: tuple[int, ...] = DEFAULT_ORDERS
    expr_orders: tuple[int, ...] = ()  # N orders; empty means 1 for every dim
    version: int = VERSION  # the stream's format; version 1 streams carry no gaze
    gaze_orders: tuple[int, int] = GAZE_ORDERS

    @property
    def has_gaze(self) -> bool:
        return self.version >= 2

    @property
    def has_follow(self) -> bool:
        return self.version >= 4

    @property
    def has_view(self) -> bool:
        return self.version >= 5

    def __post_init__(self) -> None:
        if not self.expr_orders:
            object.__setattr__(self, "expr_orders", (1,) * self.expr_dims)


@dataclass(frozen=True)
class RefParams:
    """A reference picture's fitted parameters as sent: float32 (float16 for a bank picture)."""

    beta: np.ndarray
    psi: np.ndarray
    pose: np.ndarray  # (5, 3)
    scale: float
    trans: np.ndarray  # (3,)


class BankRegion(enum.IntEnum):
    """The part of the face a bank picture is held for."""

    MOUTH = 1  # lips, teeth and tongue
    EYES = 2  # both eyes with their lids


@dataclass(frozen=True)
class BankSlot:
    """Where a bank picture goes: its slot (a new picture in a held slot replaces the old one,
    so sender and receiver always agree on what is held), its region, and the box of the
    crop its picture covers (x, y, width, height in crop pixels)."""

    slot: int  # 0..MAX_BANK_SLOTS-1
    region: BankRegion
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class Reference:
    """A reference picture with its fitted parameters. A base reference (bank None) is what
    Motion is coded against. A bank picture (version 3) is a region of a crop: its `params`
    carry the fit of that frame with an empty beta (the stream's identity is the base's),
    and `ref_id` repeats its slot. A base reference's picture is its crop grown by `margin`
    pixels on every side (version 6; a bank picture's margin is 0): the crop's own pixels
    start at (margin, margin), and everything else keeps to crop pixels."""

    ref_id: int  # 0..255, wraps
    codec: str  # "jpeg", "webp" or "av1"
    picture: bytes
    params: RefParams
    bank: BankSlot | None = None
    margin: int = 0  # picture pixels beyond the crop on each side (version 6 on)


@dataclass(frozen=True)
class Motion:
    """Quantized integers of one frame; their meaning is fixed by `Hello` and the reference."""

    seq: int  # frame number modulo 2**SEQ_BITS
    time_offset_ms: int  # capture time minus seq / fps, in ms
    ref_id: int
    rotation: tuple[int, int, int]
    scale: int
    translation: tuple[int, int]
    depth: int
    jaw: tuple[int, int, int]
    expression: tuple[int, ...]
    keypoints: tuple[int, ...] = field(default=())  # K*3 residuals in keypoints mode
    gaze: tuple[int, int, int] = (0, 0, 0)  # eyes' pitch, yaw (mean of both), vergence (L - R yaw)
    follow: tuple[int, int] = DEFAULT_FOLLOW  # inner and outer ring, in FOLLOW_STEPs
    view: tuple[int, int, int] = (0, 0, 0)  # log zoom, x and y shift in VIEW_STEPs; 0: none


@dataclass(frozen=True)
class Bye:
    reason: str
    frames: int = 0  # frames the sender produced, so a file decoder can pad a lost tail


@dataclass(frozen=True)
class Clock:
    """Wall-clock time (ms since the Unix epoch) of stream time 0, sent by live senders.

    With it a receiver whose clock agrees with the sender's (same host, or NTP) measures
    glass-to-glass latency; the stream decodes the same without it.
    """

    epoch_ms: float


Packet = Hello | Reference | Motion | Bye | Clock


# -- encoding ---------------------------------------------------------------------------------
def encode_packet(packet: Packet, hello: Hello | None = None) -> bytes:
    """Bytes of one packet. Motion needs the stream's `Hello` (it fixes N, K and the orders)."""
    if isinstance(packet, Motion):
        if hello is None:
            raise ValueError("a Motion packet is encoded against its stream's Hello")
        return bytes([hello.version << 4 | PacketType.MOTION]) + _motion_bits(packet, hello)
    kind, fields = _fields(packet)
    body, compressed = pack_body(fields)
    version = packet.version if isinstance(packet, Hello) else VERSION
    return bytes([version << 4 | compressed << 3 | kind]) + body


def _fields(packet: Packet) -> tuple[PacketType, list]:
    if isinstance(packet, Hello):
        s = packet.steps
        steps = [s.rotation, s.scale, s.translation, s.depth, s.jaw, s.keypoint]
        fields = [
            bytes.fromhex(packet.prior_id), int(packet.mode), packet.keypoints,
            packet.expr_dims, packet.crop_size, float(packet.fps),
            _f64(steps), _f64(s.expression), bytes(packet.orders), bytes(packet.expr_orders),
        ]  # fmt: skip
        if packet.has_gaze:
            fields += [float(s.gaze), bytes(packet.gaze_orders)]
        return PacketType.HELLO, fields
    if isinstance(packet, Reference):
        p, b = packet.params, packet.bank
        put = _f32 if b is None else _f16  # a bank picture's mesh needs no more than half
        params = [put(p.beta), put(p.psi), put(p.pose), put([p.scale]), put(p.trans)]
        bank = None if b is None else [b.slot, int(b.region), *b.box]
        fields = [packet.ref_id, packet.codec, packet.picture, params, bank, packet.margin]
        return PacketType.REFERENCE, fields
    if isinstance(packet, Bye):
        return PacketType.BYE, [packet.reason[:MAX_TEXT], packet.frames]
    if isinstance(packet, Clock):
        return PacketType.CLOCK, [float(packet.epoch_ms)]
    raise TypeError(f"not a packet: {type(packet).__name__}")


def _f32(values) -> bytes:
    return np.asarray(values, dtype="<f4").tobytes()


def _f16(values) -> bytes:
    return np.asarray(values, dtype="<f2").tobytes()


def _f64(values) -> bytes:
    return np.asarray(values, dtype="<f8").tobytes()


def _motion_bits(m: Motion, hello: Hello) -> bytes:
    k_rot, k_scale, k_trans, k_depth, k_jaw, k_side, k_kp = hello.orders
    if len(m.expression) != hello.expr_dims or len(m.keypoints) != 3 * hello.keypoints:
        raise ValueError("Motion does not match its Hello's N and K")
    w = BitWriter()
    w.bits(m.seq % (1 << SEQ_BITS), SEQ_BITS)
    w.seg(m.time_offset_ms, TIME_ORDER)
    w.ueg(m.ref_id, 0)
    for v in m.rotation:
        w.seg(v, k_rot)
    w.seg(m.scale, k_scale)
    for v in m.translation:
        w.seg(v, k_trans)
    w.seg(m.jaw[0], k_jaw)
    rare = (m.depth, m.jaw[1], m.jaw[2])  # zero in most frames: one flag bit covers them
    w.bits(int(any(rare)), 1)
    if any(rare):
        w.seg(m.depth, k_depth)
        w.seg(m.jaw[1], k_side)
        w.seg(m.jaw[2], k_side)
    if hello.has_gaze:
        w.seg(m.gaze[0], hello.gaze_orders[0])
        w.seg(m.gaze[1], hello.gaze_orders[0])
        w.seg(m.gaze[2], hello.gaze_orders[1])
    elif any(m.gaze):
        raise ValueError("a version 1 stream carries no gaze")
    if hello.has_follow:
        for v in m.follow:
            if not 0 <= v < 1 << FOLLOW_BITS:
                raise ValueError(f"follow level {v} out of range 0..{(1 << FOLLOW_BITS) - 1}")
            w.bits(v, FOLLOW_BITS)
    elif tuple(m.follow) != DEFAULT_FOLLOW:
        raise ValueError("a stream before version 4 carries no follow levels")
    if hello.has_view:
        _write_view(w, m.view)
    elif any(m.view):
        raise ValueError("a stream before version 5 carries no view")
    for v, k in zip(m.expression, hello.expr_orders, strict=True):
        w.seg(v, k)
    for v in m.keypoints:
        w.seg(v, k_kp)
    return w.getvalue()


def _write_view(w: BitWriter, view: tuple[int, int, int]) -> None:
    if max(map(abs, view)) > VIEW_LIMIT:
        raise ValueError(f"view level out of range -{VIEW_LIMIT}..{VIEW_LIMIT}: {view}")
    w.bits(int(any(view)), 1)
    if any(view):
        for v in view:
            w.seg(v, VIEW_ORDER)


# -- decoding ---------------------------------------------------------------------------------
def packet_type(data: bytes) -> PacketType:
    """The type of a packet after checking its size and header byte."""
    if not data:
        raise BitstreamError("packet: empty")
    if len(data) > MAX_PACKET_BYTES:
        raise BitstreamError(f"packet: {len(data)} bytes exceeds the limit of {MAX_PACKET_BYTES}")
    head = data[0]
    if head >> 4 not in READABLE:
        raise BitstreamError(f"packet: version {head >> 4}, this decoder reads versions "
                             f"{', '.join(map(str, READABLE))}")
    try:
        return PacketType(head & 7)
    except ValueError:
        raise BitstreamError(f"packet: unknown type {head & 7}") from None


def decode_packet(data: bytes, hello: Hello | None = None) -> Packet:
    """Parse one packet; anything invalid raises `BitstreamError`. Motion needs `hello`."""
    kind = packet_type(data)
    compressed = bool(data[0] & 8)
    if kind == PacketType.BUNDLE:
        raise BitstreamError("Bundle: unpack it with bitstream.unpack_bundle first")
    if kind == PacketType.MOTION:
        if compressed:
            raise BitstreamError("Motion packet: compressed flag is not allowed")
        if hello is None:
            raise BitstreamError("Motion packet: arrived before the stream's Hello")
        if data[0] >> 4 != hello.version:
            raise BitstreamError(f"Motion packet: version {data[0] >> 4} in a version "
                                 f"{hello.version} stream")
        return _motion_from(data[1:], hello)
    name = kind.name.title()
    fields = unpack_body(data[1:], compressed, name)
    if kind == PacketType.HELLO:
        return _hello_from(fields, data[0] >> 4)
    if kind == PacketType.REFERENCE:
        return _reference_from(fields, data[0] >> 4)
    if kind == PacketType.CLOCK:
        return _clock_from(fields)
    return _bye_from(fields)


def _motion_from(body: bytes, hello: Hello) -> Motion:
    r = BitReader(body, "Motion packet")
    k_rot, k_scale, k_trans, k_depth, k_jaw, k_side, k_kp = hello.orders
    seq, offset, ref = r.bits(SEQ_BITS), r.seg(TIME_ORDER), r.ueg(0)
    if ref > 255:
        raise BitstreamError(f"Motion packet: reference id {ref} out of range 0..255")
    rotation = (r.seg(k_rot), r.seg(k_rot), r.seg(k_rot))
    scale = r.seg(k_scale)
    translation = (r.seg(k_trans), r.seg(k_trans))
    jaw_open = r.seg(k_jaw)
    depth, side, twist = (r.seg(k_depth), r.seg(k_side), r.seg(k_side)) if r.bits(1) else (0, 0, 0)
    jaw = (jaw_open, side, twist)
    gaze = (0, 0, 0)
    if hello.has_gaze:
        k_gaze, k_verge = hello.gaze_orders
        gaze = (r.seg(k_gaze), r.seg(k_gaze), r.seg(k_verge))
    follow = DEFAULT_FOLLOW
    if hello.has_follow:
        follow = (r.bits(FOLLOW_BITS), r.bits(FOLLOW_BITS))
    view = (0, 0, 0)
    if hello.has_view and r.bits(1):
        view = (r.seg(VIEW_ORDER), r.seg(VIEW_ORDER), r.seg(VIEW_ORDER))
        if max(map(abs, view)) > VIEW_LIMIT or not any(view):
            raise BitstreamError(f"Motion packet: view {view} out of range or empty")
    expression = tuple(r.seg(k) for k in hello.expr_orders)
    keypoints = tuple(r.seg(k_kp) for _ in range(3 * hello.keypoints))
    r.finish()
    return Motion(seq, offset, ref, rotation, scale, translation, depth, jaw, expression, keypoints,
                  gaze, follow, view)


class _Fields:
    """Typed access to a decoded msgpack array, with errors that name the packet and field."""

    def __init__(self, values, packet: str, names: tuple[str, ...]):
        if not isinstance(values, list) or len(values) != len(names):
            raise BitstreamError(f"{packet} packet: expected {len(names)} fields")
        self.values = dict(zip(names, values, strict=True))
        self.packet = packet

    def fail(self, name: str, why: str) -> BitstreamError:
        return BitstreamError(f"{self.packet} packet: field {name!r} {why}")

    def int(self, name: str, lo: int, hi: int) -> int:
        v = self.values[name]
        if type(v) is not int or not lo <= v <= hi:
            raise self.fail(name, f"must be an integer in {lo}..{hi}")
        return v

    def float(self, name: str, lo: float, hi: float) -> float:
        v = self.values[name]
        if type(v) is not float or not lo <= v <= hi:
            raise self.fail(name, f"must be a number in {lo}..{hi}")
        return v

    def bytes(self, name: str, limit: builtins.int, value=None) -> builtins.bytes:
        v = self.values[name] if value is None else value
        if not isinstance(v, bytes) or len(v) > limit:
            raise self.fail(name, f"must be at most {limit} bytes")
        return v

    def text(self, name: str) -> str:
        v = self.values[name]
        if not isinstance(v, str) or len(v) > MAX_TEXT:
            raise self.fail(name, f"must be text of at most {MAX_TEXT} characters")
        return v

    def floats(self, name: str, count: builtins.int | None = None, value=None,
               size: builtins.int = 4) -> np.ndarray:
        raw = self.bytes(name, size * MAX_PARAM_VALUES, value)
        if len(raw) % size or (count is not None and len(raw) != size * count):
            raise self.fail(name, "has the wrong length")
        arr = np.frombuffer(raw, dtype=f"<f{size}").astype(np.float32 if size <= 4 else np.float64)
        if not np.all(np.isfinite(arr)) or np.abs(arr).max(initial=0) > 1e6:
            raise self.fail(name, "holds a non-finite or huge value")
        return arr


def _hello_from(values, version: int) -> Hello:
    names: tuple[str, ...] = ("prior_id", "mode", "keypoints", "expr_dims", "crop", "fps",
                              "steps", "expr_steps", "orders", "expr_orders")  # fmt: skip
    if version >= 2:
        names += ("gaze_step", "gaze_orders")
    f = _Fields(values, "Hello", names)
    prior = f.bytes("prior_id", 8)
    if len(prior) != 8:
        raise f.fail("prior_id", "must be 8 bytes")
    mode = MotionMode(f.int("mode", 0, 1))
    k = f.int("keypoints", 0, MAX_KEYPOINTS)
    if (mode == MotionMode.KEYPOINTS) != (k > 0):
        raise f.fail("keypoints", "must be > 0 exactly in keypoints mode")
    n = f.int("expr_dims", 0, MAX_EXPR_DIMS)
    crop = f.int("crop", 16, MAX_CROP)
    fps = f.float("fps", 1.0, 240.0)
    rot, scale, trans, depth, jaw, kp = f.floats("steps", 6, size=8).tolist()
    expr = tuple(f.floats("expr_steps", n, size=8).tolist())
    orders = tuple(f.bytes("orders", 7))
    if len(orders) != 7 or max(orders) > 12:
        raise f.fail("orders", "must be 7 Exp-Golomb orders of at most 12")
    expr_orders = tuple(f.bytes("expr_orders", MAX_EXPR_DIMS))
    if len(expr_orders) != n or max(expr_orders, default=0) > 12:
        raise f.fail("expr_orders", "must be N Exp-Golomb orders of at most 12")
    gaze_step, gaze_orders = Steps().gaze, GAZE_ORDERS
    if version >= 2:
        gaze_step = f.float("gaze_step", 1e-6, 1e3)
        got = f.bytes("gaze_orders", 2)
        if len(got) != 2 or max(got) > 12:
            raise f.fail("gaze_orders", "must be 2 Exp-Golomb orders of at most 12")
        gaze_orders = (got[0], got[1])
    steps = Steps(rot, scale, trans, depth, jaw, kp, expr, gaze_step)
    steps.check()
    return Hello(prior.hex(), mode, k, n, crop, fps, steps, orders, expr_orders, version,
                 gaze_orders)


def _reference_from(values, version: int) -> Reference:
    names: tuple[str, ...] = ("ref_id", "codec", "picture", "params")
    names += ("bank",) if version >= 3 else ()
    f = _Fields(values, "Reference", names + (("margin",) if version >= 6 else ()))
    ref_id = f.int("ref_id", 0, 255)
    codec = f.text("codec")
    if codec not in ("jpeg", "webp", "av1"):
        raise f.fail("codec", f"{codec!r} is not one of jpeg, webp, av1")
    picture = f.bytes("picture", MAX_PICTURE_BYTES)
    bank = _bank_from(f) if version >= 3 and f.values["bank"] is not None else None
    params = f.values["params"]
    if not isinstance(params, list) or len(params) != 5:
        raise f.fail("params", "must hold beta, psi, pose, scale, trans")
    size = 4 if bank is None else 2  # a bank picture's are float16
    beta, psi, pose, scale, trans = (
        f.floats("params", None, params[0], size),
        f.floats("params", None, params[1], size),
        f.floats("params", 15, params[2], size).reshape(5, 3),
        f.floats("params", 1, params[3], size),
        f.floats("params", 3, params[4], size),
    )
    if not 1e-3 < scale[0] < 1e6:
        raise f.fail("params", "camera scale out of range")
    if bank is not None and len(beta):
        raise f.fail("params", "of a bank picture carry no beta (the base's is used)")
    margin = f.int("margin", 0, MAX_MARGIN) if version >= 6 else 0
    if bank is not None and margin:
        raise f.fail("margin", "must be 0 for a bank picture")
    return Reference(ref_id, codec, picture, RefParams(beta, psi, pose, float(scale[0]), trans),
                     bank, margin)


def _bank_from(f: _Fields) -> BankSlot:
    v = f.values["bank"]
    if not isinstance(v, list) or len(v) != 6 or any(type(x) is not int for x in v):
        raise f.fail("bank", "must be nil or [slot, region, x, y, width, height]")
    slot, region, x, y, w, h = v
    if not 0 <= slot < MAX_BANK_SLOTS:
        raise f.fail("bank", f"slot {slot} out of range 0..{MAX_BANK_SLOTS - 1}")
    if region not in {int(r) for r in BankRegion}:
        raise f.fail("bank", f"region {region} is not one of {[int(r) for r in BankRegion]}")
    if not (0 <= x < MAX_CROP and 0 <= y < MAX_CROP and 8 <= w <= MAX_CROP and 8 <= h <= MAX_CROP):
        raise f.fail("bank", "box out of range")
    return BankSlot(slot, BankRegion(region), (x, y, w, h))


def _bye_from(values) -> Bye:
    f = _Fields(values, "Bye", ("reason", "frames"))
    return Bye(f.text("reason"), f.int("frames", 0, 2**40))


def _clock_from(values) -> Clock:
    f = _Fields(values, "Clock", ("epoch_ms",))
    return Clock(f.float("epoch_ms", 0.0, 1e14))
