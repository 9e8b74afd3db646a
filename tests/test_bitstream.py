"""The wire format: exact bytes, round trips, strict and bounded decoding."""

from __future__ import annotations

import contextlib
import io
import os
import random
import tracemalloc
import zlib
from dataclasses import replace
from pathlib import Path

import msgpack
import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream import (
    VERSION,
    BankRegion,
    BankSlot,
    BitstreamError,
    Bye,
    FcsWriter,
    Motion,
    MotionMode,
    Reference,
    decode_packet,
    encode_packet,
    read_packets,
)
from bitstream.bits import BitWriter
from bitstream.limits import (
    MAX_BANK_SLOTS,
    MAX_DECOMPRESSED_BYTES,
    MAX_MARGIN,
    MAX_PACKET_BYTES,
)
from bitstream.packets import DEFAULT_FOLLOW, FOLLOW_BITS, VIEW_LIMIT, VIEW_ORDER
from bitstream.tools.fuzz import mutations, random_motion, sample_hello, sample_packets

GOLDEN = Path(__file__).parent / "golden" / f"bitstream_v{VERSION}.fcs"


def golden_stream() -> list[bytes]:
    return sample_packets(sample_hello(), random.Random(7))


def test_golden_file_bytes_are_unchanged():
    """A format change must bump VERSION (and write a new golden file), never edit this one."""
    buf = io.BytesIO()
    with FcsWriter(buf) as w:
        for p in golden_stream():
            w.write(p)
    if os.environ.get("FACECODEC_WRITE_GOLDEN") == "1":  # only right after a version bump
        GOLDEN.write_bytes(buf.getvalue())
    assert buf.getvalue() == GOLDEN.read_bytes()


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, VERSION])
def test_golden_files_decode(version):
    """Every version's golden stream still decodes: old recordings keep playing."""
    packets = list(read_packets(GOLDEN.with_name(f"bitstream_v{version}.fcs")))
    hello = decode_packet(packets[0])
    assert hello == sample_hello(version=version) and hello.has_gaze == (version >= 2)
    decoded = [decode_packet(p, hello) for p in packets[1:]]
    assert isinstance(decoded[0], Reference) and isinstance(decoded[-1], Bye)
    references = [p for p in decoded if isinstance(p, Reference)]
    motions = [p for p in decoded if isinstance(p, Motion)]
    assert [m.seq for m in motions] == list(range(8))
    assert any(any(m.gaze) for m in motions) == (version >= 2)
    banked = [r.bank for r in references if r.bank is not None]
    assert banked == ([BankSlot(2, BankRegion.MOUTH, (80, 160, 96, 64))] if version >= 3 else [])
    follows = {m.follow for m in motions}
    assert (follows == {DEFAULT_FOLLOW}) == (version < 4)
    assert any(any(m.view) for m in motions) == (version >= 5)
    assert references[0].margin == (16 if version >= 6 else 0)


def test_a_bank_picture_round_trips_and_its_fields_are_checked():
    hello = sample_hello()
    ref = decode_packet(sample_packets(hello, random.Random(2))[2])
    assert isinstance(ref, Reference) and ref.bank is not None and len(ref.params.beta) == 0
    assert encode_packet(decode_packet(encode_packet(ref))) == encode_packet(ref)
    for bank, why in [(BankSlot(MAX_BANK_SLOTS, BankRegion.EYES, (0, 0, 64, 32)), "slot"),
                      (BankSlot(0, BankRegion.EYES, (0, 0, 4, 32)), "box out of range")]:
        with pytest.raises(BitstreamError, match=why):
            decode_packet(encode_packet(replace(ref, bank=bank)))
    with pytest.raises(BitstreamError, match="no beta"):
        decode_packet(encode_packet(replace(ref, params=replace(ref.params, beta=np.ones(3)))))
    params = [b"", b"", bytes(60), np.float32([900]).tobytes(), bytes(12)]
    body = msgpack.packb([0, "jpeg", b"x", params, [0, 9, 0, 0, 64, 64], 0])
    with pytest.raises(BitstreamError, match="region 9"):
        decode_packet(bytes([VERSION << 4 | 2]) + body)


def test_a_reference_margin_round_trips_and_is_checked():
    """Version 6: a base Reference's picture may reach past its crop; a bank picture's may
    not, and a margin past the limit is refused before any picture is decoded."""
    hello = sample_hello()
    base, bank = (decode_packet(p) for p in sample_packets(hello, random.Random(2))[1:3])
    assert isinstance(base, Reference) and base.margin == 16
    assert isinstance(bank, Reference) and bank.margin == 0
    wide = replace(base, margin=MAX_MARGIN)
    assert decode_packet(encode_packet(wide)).margin == MAX_MARGIN
    with pytest.raises(BitstreamError, match="margin"):
        decode_packet(encode_packet(replace(base, margin=MAX_MARGIN + 1)))
    with pytest.raises(BitstreamError, match=r"margin.*bank"):
        decode_packet(encode_packet(replace(bank, margin=8)))


def test_v1_hello_and_motion_re_encode_to_their_golden_bytes():
    """Version 1 Hello and Motion packets still encode byte for byte as they did."""
    packets = list(read_packets(GOLDEN.with_name("bitstream_v1.fcs")))
    hello = sample_hello(version=1)
    assert encode_packet(hello) == packets[0]
    for data in packets[2:-1]:
        assert encode_packet(decode_packet(data, hello), hello) == data


def test_motion_version_must_match_its_stream():
    v1, v2 = sample_hello(version=1), sample_hello(version=2)
    m = random_motion(v2, random.Random(3))
    with pytest.raises(BitstreamError, match="version 2 in a version 1 stream"):
        decode_packet(encode_packet(m, v2), v1)
    with pytest.raises(ValueError, match="no gaze"):
        encode_packet(m, v1)


def test_motion_is_small_and_exact():
    hello = sample_hello(n=20, k=0, version=1)
    m = Motion(3, 0, 0, (1, -2, 0), 0, (4, -1), 0, (2, 0, 0), (0,) * 20)
    data = encode_packet(m, hello)
    assert data.hex() == "13003e5384510e2aaaaaaaaabf"  # 13 bytes, every bit accounted for
    assert decode_packet(data, hello) == m


def test_gaze_costs_about_a_byte():
    """Version 2: gaze pitch and yaw (order 2) and vergence (order 0) after the jaw."""
    hello = sample_hello(n=20, k=0, version=2)
    still = Motion(3, 0, 0, (1, -2, 0), 0, (4, -1), 0, (2, 0, 0), (0,) * 20)
    looking = Motion(3, 0, 0, (1, -2, 0), 0, (4, -1), 0, (2, 0, 0), (0,) * 20, gaze=(-3, 9, 1))
    for m in (still, looking):
        assert decode_packet(encode_packet(m, hello), hello) == m
    a, b = (len(encode_packet(m, hello)) for m in (still, looking))
    assert a == 14 and b - a <= 2


def test_follow_levels_cost_six_bits_and_are_checked():
    """Version 4: the rings' follow after the gaze, three bits each; older streams carry the
    fixed levels their receivers rendered with and refuse others."""
    v3, v4 = sample_hello(n=20, k=0, version=3), sample_hello(n=20, k=0)
    m = Motion(3, 0, 0, (1, -2, 0), 0, (4, -1), 0, (2, 0, 0), (0,) * 20, gaze=(-3, 9, 1))
    bits = [8 * len(encode_packet(m, h)) for h in (v3, v4)]
    assert 2 * FOLLOW_BITS - 8 < bits[1] - bits[0] <= 2 * FOLLOW_BITS + 8
    pinned = replace(m, follow=(0, 7))
    assert decode_packet(encode_packet(pinned, v4), v4) == pinned
    assert decode_packet(encode_packet(m, v3), v3).follow == DEFAULT_FOLLOW
    with pytest.raises(ValueError, match="no follow"):
        encode_packet(pinned, v3)
    with pytest.raises(ValueError, match="out of range"):
        encode_packet(replace(m, follow=(8, 0)), v4)


def test_the_view_costs_a_bit_while_the_crop_holds_still_and_is_checked():
    """Version 5: one flag bit after the follow levels, then three Exp-Golomb levels when the
    sender's crop moved; older streams carry none, and a hostile view is refused."""
    v4, v5 = sample_hello(n=20, k=0, version=4), sample_hello(n=20, k=0)
    m = Motion(3, 0, 0, (1, -2, 0), 0, (4, -1), 0, (2, 0, 0), (0,) * 20, gaze=(-3, 9, 1))
    bits = [len(encode_packet(m, h)) for h in (v4, v5)]
    assert bits[1] - bits[0] <= 1
    moved = replace(m, view=(-12, 40, -7))
    assert decode_packet(encode_packet(moved, v5), v5) == moved
    assert len(encode_packet(moved, v5)) - bits[1] <= 4
    with pytest.raises(ValueError, match="no view"):
        encode_packet(moved, v4)
    with pytest.raises(ValueError, match="out of range"):
        encode_packet(replace(m, view=(0, VIEW_LIMIT + 1, 0)), v5)
    w = BitWriter()
    _write_motion_head(w, m)
    w.bits(1, 1)  # a view flag with three zero levels: never written by an encoder
    for _ in range(3):
        w.seg(0, VIEW_ORDER)
    for v in m.expression:
        w.seg(v, 1)
    with pytest.raises(BitstreamError, match="view"):
        decode_packet(bytes([VERSION << 4 | 3]) + w.getvalue(), v5)


def _write_motion_head(w: BitWriter, m: Motion) -> None:
    """A version 5 Motion's bits up to its view, as `encode_packet` writes them."""
    from bitstream.packets import DEFAULT_ORDERS, SEQ_BITS, TIME_ORDER

    k_rot, k_scale, k_trans, _, k_jaw, _, _ = DEFAULT_ORDERS
    w.bits(m.seq, SEQ_BITS)
    w.seg(m.time_offset_ms, TIME_ORDER)
    w.ueg(m.ref_id, 0)
    for v in m.rotation:
        w.seg(v, k_rot)
    w.seg(m.scale, k_scale)
    for v in m.translation:
        w.seg(v, k_trans)
    w.seg(m.jaw[0], k_jaw)
    w.bits(0, 1)
    for v, k in zip(m.gaze, (2, 2, 0), strict=True):
        w.seg(v, k)
    for v in m.follow:
        w.bits(v, FOLLOW_BITS)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**31), st.sampled_from([0, 5, 16, 68]), st.integers(0, 64))
def test_motion_round_trips(seed, k, n):
    hello = sample_hello(n=n, k=k)
    m = random_motion(hello, random.Random(seed), seed)
    assert decode_packet(encode_packet(m, hello), hello) == m


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=100), st.integers(0, 2**40))
def test_bye_round_trips(reason, frames):
    assert decode_packet(encode_packet(Bye(reason, frames))) == Bye(reason, frames)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 400), st.sampled_from([0, 5, 10, 16, 20, 32, 68]))
def test_hello_round_trips(n, k):
    hello = sample_hello(n=n, k=k)
    assert decode_packet(encode_packet(hello)) == hello


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (bytes([0x71]), "version 7, this decoder reads versions 1, 2, 3, 4, 5, 6"),
        (bytes([0x17]), "unknown type 7"),
        (bytes([0x13]), "before the stream's Hello"),
        (bytes([0x14]) + msgpack.packb(["x"]), "expected 2 fields"),
        (bytes([0x14]) + msgpack.packb(["x", -1]), "'frames'"),
        (bytes([0x14]) + msgpack.packb({"a": 1}), "msgpack"),
        (bytes([0x14]) + b"\xdd\xff\xff\xff\xff", "msgpack"),  # array of 4 G entries
        (bytes([0x14]) + b"\x91" * 5000, "msgpack"),  # deep nesting
    ],
)
def test_bad_packets_say_what(data, message):
    with pytest.raises(BitstreamError, match=message):
        decode_packet(data)


def test_zip_bomb_is_refused_before_decompressing():
    bomb = zstandard.ZstdCompressor().compress(b"\0" * (MAX_DECOMPRESSED_BYTES + 1))
    assert len(bomb) < 1000
    with pytest.raises(BitstreamError, match="declared size"):
        decode_packet(bytes([VERSION << 4 | 8 | 4]) + bomb)


def test_motion_with_trailing_garbage_is_refused():
    hello = sample_hello()
    data = encode_packet(random_motion(hello, random.Random(1)), hello)
    with pytest.raises(BitstreamError):
        decode_packet(data + b"\x00", hello)


def test_only_bitstream_errors_escape_and_work_is_bounded():
    """Damaged packets raise BitstreamError and nothing else, and no input makes the decoder
    allocate past the limits (memory is counted, not time: timings live in the benchmark)."""
    rng = random.Random(0)
    hello = sample_hello()
    packets = sample_packets(hello, rng)
    bound = MAX_PACKET_BYTES + MAX_DECOMPRESSED_BYTES + 64 * 1024
    worst = 0
    tracemalloc.start()
    try:
        for data in mutations(packets, rng, 3000):
            before, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            with contextlib.suppress(BitstreamError):
                decode_packet(data, hello)
            worst = max(worst, tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()
    assert 0 < worst < bound, worst


def test_container_round_trip_and_damage(tmp_path):
    path = tmp_path / "s.fcs"
    packets = golden_stream()
    with FcsWriter(path) as w:
        for p in packets:
            w.write(p)
    assert list(read_packets(path)) == packets
    raw = bytearray(path.read_bytes())
    raw[4 + 8 + len(packets[0]) + 8 + 5] ^= 0xFF  # inside packet 1
    path.write_bytes(bytes(raw))
    got = []
    with pytest.raises(BitstreamError, match=r"packet 1 at byte .*CRC"):
        for p in read_packets(path):
            got.append(p)
    assert got == packets[:1]  # what came before the damage is kept
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(BitstreamError):
        list(read_packets(path))


@pytest.mark.parametrize("head", [b"", b"XYZ\x01", b"FCS\x09", b"FCS"])
def test_container_header_is_checked(tmp_path, head):
    path = tmp_path / "h.fcs"
    path.write_bytes(head)
    with pytest.raises(BitstreamError, match=r"magic|version"):
        list(read_packets(path))


def test_container_refuses_oversized_length(tmp_path):
    path = tmp_path / "big.fcs"
    path.write_bytes(b"FCS\x01" + (2**31).to_bytes(4, "big") + zlib.crc32(b"").to_bytes(4, "big"))
    with pytest.raises(BitstreamError, match="length"):
        list(read_packets(path))


def test_reference_params_must_be_finite():
    hello = sample_hello()
    ref = decode_packet(sample_packets(hello, random.Random(2))[1])
    bad = ref.params.beta.copy()
    bad[0] = np.nan
    packet = encode_packet(Reference(1, "jpeg", b"x", ref.params.__class__(
        bad, ref.params.psi, ref.params.pose, ref.params.scale, ref.params.trans)))  # fmt: skip
    with pytest.raises(BitstreamError, match="non-finite"):
        decode_packet(packet)


def test_params_mode_hello_has_no_keypoints():
    hello = sample_hello(n=5, k=0)
    assert hello.mode == MotionMode.PARAMS
    assert decode_packet(encode_packet(hello)).keypoints == 0
