"""Packet bodies: msgpack arrays, zstd-compressed where that is smaller, decoded with every
size bounded before it is allocated. (The entropy coding of Motion is in bits.py.)"""

from __future__ import annotations

import msgpack
import zstandard

from bitstream.errors import BitstreamError
from bitstream.limits import MAX_DECOMPRESSED_BYTES, MAX_PICTURE_BYTES, MAX_TEXT

_ZSTD_LEVEL = 19
_compressor = zstandard.ZstdCompressor(level=_ZSTD_LEVEL, write_content_size=True)


def pack_body(fields: list) -> tuple[bytes, bool]:
    """msgpack the fields; zstd them only when that saves bytes. Returns (body, compressed)."""
    raw = msgpack.packb(fields, use_bin_type=True)
    packed = _compressor.compress(raw)
    return (packed, True) if len(packed) < len(raw) else (raw, False)


def unpack_body(body: bytes, compressed: bool, packet: str) -> list:
    if compressed:
        body = _decompress(body, packet)
    try:
        return msgpack.unpackb(
            body,
            raw=False,
            use_list=True,
            strict_map_key=True,
            max_str_len=MAX_TEXT,
            max_bin_len=MAX_PICTURE_BYTES,
            max_array_len=16,
            max_map_len=0,
            max_ext_len=0,
        )
    except (ValueError, msgpack.UnpackException) as exc:
        raise BitstreamError(f"{packet} packet: bad msgpack body ({exc})") from None


def _decompress(body: bytes, packet: str) -> bytes:
    try:
        size = zstandard.frame_content_size(body)
    except zstandard.ZstdError:
        raise BitstreamError(f"{packet} packet: bad zstd frame header") from None
    if size < 1 or size > MAX_DECOMPRESSED_BYTES:
        raise BitstreamError(
            f"{packet} packet: declared size {size} outside 1..{MAX_DECOMPRESSED_BYTES}"
        )
    try:
        out = zstandard.ZstdDecompressor().decompress(body, max_output_size=size)
    except zstandard.ZstdError as exc:
        raise BitstreamError(f"{packet} packet: corrupt zstd body ({exc})") from None
    if len(out) != size:
        raise BitstreamError(f"{packet} packet: zstd body size does not match its header")
    return out
