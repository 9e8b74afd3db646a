"""A picture's width and height read from its header, before any decoder allocates a pixel.

A Reference picture comes from the network. A 629-byte JPEG can declare 16383×16383 and make
a decoder allocate 800 MB before it finds the data missing; an AV1 sequence header can do
the same. So the size is read here, from the few header bytes each format puts it in, and
a picture whose size is not the one expected is refused without being decoded.

JPEG: the first start-of-frame segment. WebP: the RIFF container's first chunk (VP8, VP8L
or VP8X). AV1: every sequence header OBU's maximum frame size (a frame may not exceed it).
"""

from __future__ import annotations

import struct

from bitstream.bits import BitReader
from bitstream.errors import BitstreamError


class HeaderError(ValueError):
    """Bytes whose header does not say (or does not plainly say) the picture's size."""


def picture_size(data: bytes, codec: str) -> tuple[int, int]:
    """(width, height) as the header declares it; HeaderError if it cannot be read."""
    readers = {"jpeg": _jpeg_size, "webp": _webp_size, "av1": _av1_size}
    if codec not in readers:
        raise HeaderError(f"unknown picture codec {codec!r}")
    try:
        return readers[codec](data)
    except (IndexError, struct.error):
        raise HeaderError(f"{codec} header is truncated") from None
    except BitstreamError as exc:  # the AV1 sequence header's bit reader
        raise HeaderError(str(exc)) from None


# Start-of-frame markers: C0..CF except DHT (C4), JPG (C8) and DAC (CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    if data[:2] != b"\xff\xd8":
        raise HeaderError("not a JPEG (no start-of-image marker)")
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise HeaderError("JPEG segments are malformed")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        if marker in (0xD9, 0xDA) or length < 2:  # end of image or scan before any frame
            break
        pos += 2 + length
    raise HeaderError("JPEG has no start-of-frame segment")


def _webp_size(data: bytes) -> tuple[int, int]:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise HeaderError("not a WebP (no RIFF/WEBP header)")
    chunk, body = data[12:16], data[20:]
    if len(body) < 10:
        raise HeaderError("webp header is truncated")
    if chunk == b"VP8 ":
        if body[3:6] != b"\x9d\x01\x2a":
            raise HeaderError("WebP VP8 frame has no start code")
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        if body[0] != 0x2F:
            raise HeaderError("WebP VP8L has no signature")
        bits = struct.unpack("<I", body[1:5])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(body[4:7], "little") + 1
        height = int.from_bytes(body[7:10], "little") + 1
        return width, height
    raise HeaderError(f"WebP chunk {chunk!r} is not VP8, VP8L or VP8X")


def _av1_size(data: bytes) -> tuple[int, int]:
    """The largest frame any sequence header allows (OBUs with size fields, as encoders and
    the Low Overhead Bitstream Format write them)."""
    pos, sizes = 0, []
    while pos < len(data):
        header = data[pos]
        if header & 0x80:
            raise HeaderError("AV1 OBU forbidden bit set")
        kind, has_extension, has_size = (header >> 3) & 15, header & 4, header & 2
        pos += 2 if has_extension else 1
        if not has_size:
            raise HeaderError("AV1 OBU without a size field")
        size, pos = _leb128(data, pos)
        if kind == 1:  # sequence header
            sizes.append(_sequence_max_size(data[pos : pos + size]))
        pos += size
    if not sizes:
        raise HeaderError("AV1 picture has no sequence header")
    return max(w for w, _ in sizes), max(h for _, h in sizes)


def _leb128(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for i in range(8):
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, pos + i + 1
    raise HeaderError("AV1 OBU size is malformed")


def _sequence_max_size(payload: bytes) -> tuple[int, int]:
    """max_frame_width and max_frame_height of a sequence_header_obu (AV1 spec 5.5.1)."""
    r = BitReader(payload, "av1 sequence header")
    b = r.bits
    b(3)  # seq_profile
    b(1)  # still_picture
    if b(1):  # reduced_still_picture_header
        b(5)  # seq_level_idx[0]
    else:
        decoder_model, delay_bits = False, 0
        if b(1):  # timing_info_present_flag
            b(32), b(32)  # num_units_in_display_tick, time_scale
            if b(1):  # equal_picture_interval
                r.ueg(0)  # num_ticks_per_picture_minus_1: AV1's uvlc is Exp-Golomb order 0
            decoder_model = bool(b(1))
            if decoder_model:
                delay_bits = b(5) + 1  # buffer_delay_length_minus_1
                b(32), b(5), b(5)
        display_delay = b(1)
        for _ in range(b(5) + 1):  # operating points
            b(12)  # operating_point_idc
            if b(5) > 7:  # seq_level_idx
                b(1)  # seq_tier
            if decoder_model and b(1):
                b(delay_bits), b(delay_bits), b(1)
            if display_delay and b(1):
                b(4)
    width_bits, height_bits = b(4) + 1, b(4) + 1
    return b(width_bits) + 1, b(height_bits) + 1
