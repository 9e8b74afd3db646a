"""The .fcs file: a 4-byte header, then packets, each behind its length and CRC32.

    file   = b"FCS" version(1 byte) record*
    record = length(u32 big-endian) crc32(u32 big-endian, of the packet) packet

Reading is streaming and stops with a `BitstreamError` at the first damaged record, naming
its index and byte offset, so a caller keeps everything decoded before it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from bitstream.errors import BitstreamError
from bitstream.limits import MAX_PACKET_BYTES

MAGIC = b"FCS"
FILE_VERSION = 1
_RECORD = struct.Struct(">II")


class FcsWriter:
    def __init__(self, target: str | Path | BinaryIO):
        self._f: BinaryIO
        if isinstance(target, str | Path):
            self._own, self._f = True, open(target, "wb")  # noqa: SIM115
        else:
            self._own, self._f = False, target
        self._f.write(MAGIC + bytes([FILE_VERSION]))
        self.packets = 0
        self.bytes = len(MAGIC) + 1

    def write(self, packet: bytes) -> None:
        if not 0 < len(packet) <= MAX_PACKET_BYTES:
            raise ValueError(f"packet of {len(packet)} bytes cannot be stored")
        self._f.write(_RECORD.pack(len(packet), zlib.crc32(packet)) + packet)
        self.packets += 1
        self.bytes += _RECORD.size + len(packet)

    def close(self) -> None:
        if self._own:
            self._f.close()
        else:
            self._f.flush()

    def __enter__(self) -> FcsWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_packets(source: str | Path | BinaryIO) -> Iterator[bytes]:
    """Yield each stored packet's bytes; a damaged header or record raises BitstreamError."""
    if isinstance(source, str | Path):
        try:
            f = open(source, "rb")  # noqa: SIM115
        except OSError as exc:
            raise BitstreamError(f"{source}: cannot open ({exc.strerror})") from None
        with f:
            yield from _records(f, str(source))
    else:
        yield from _records(source, "stream")


def _records(f: BinaryIO, name: str) -> Iterator[bytes]:
    head = f.read(len(MAGIC) + 1)
    if head[: len(MAGIC)] != MAGIC:
        raise BitstreamError(f"{name}: not a facecodec .fcs file (bad magic)")
    if len(head) < len(MAGIC) + 1 or head[-1] != FILE_VERSION:
        version = head[-1] if len(head) > len(MAGIC) else "missing"
        raise BitstreamError(f"{name}: file version {version}, this reader reads {FILE_VERSION}")
    offset, index = len(head), 0
    while True:
        rec = f.read(_RECORD.size)
        if not rec:
            return
        where = f"{name}: packet {index} at byte {offset}"
        if len(rec) < _RECORD.size:
            raise BitstreamError(f"{where}: truncated record header")
        length, crc = _RECORD.unpack(rec)
        if not 0 < length <= MAX_PACKET_BYTES:
            raise BitstreamError(f"{where}: length {length} outside 1..{MAX_PACKET_BYTES}")
        packet = f.read(length)
        if len(packet) < length:
            raise BitstreamError(f"{where}: truncated ({len(packet)} of {length} bytes)")
        if zlib.crc32(packet) != crc:
            raise BitstreamError(f"{where}: CRC mismatch")
        yield packet
        offset += _RECORD.size + length
        index += 1
