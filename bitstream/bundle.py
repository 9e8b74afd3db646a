"""Bundles: several packets in one transport message.

A live sender may put consecutive Motion packets into one data-channel message
(`--frames-per-message`), paying the per-message transport overhead once. Layout: the header
byte (version, type BUNDLE), a count byte, then for every packet but the last its length as
an unsigned LEB128 varint, then the packets back to back (the last runs to the end).
"""

from __future__ import annotations

from bitstream.errors import BitstreamError
from bitstream.limits import MAX_PACKET_BYTES
from bitstream.packets import VERSION, PacketType, packet_type

MAX_BUNDLED = 16


def pack_bundle(packets: list[bytes]) -> bytes:
    """One message holding `packets`; a single packet is sent as itself."""
    if not 1 <= len(packets) <= MAX_BUNDLED:
        raise ValueError(f"a bundle holds 1..{MAX_BUNDLED} packets, not {len(packets)}")
    if len(packets) == 1:
        return packets[0]
    out = bytearray([VERSION << 4 | PacketType.BUNDLE, len(packets)])
    for p in packets[:-1]:
        out += _varint(len(p))
    for p in packets:
        out += p
    if len(out) > MAX_PACKET_BYTES:
        raise ValueError("bundle exceeds the packet size limit")
    return bytes(out)


def unpack_bundle(message: bytes) -> list[bytes]:
    """The packets in one transport message (a plain packet comes back as a list of one)."""
    if packet_type(message) != PacketType.BUNDLE:
        return [message]
    if message[0] & 8:
        raise BitstreamError("Bundle: compressed flag is not allowed")
    if len(message) < 2 or not 2 <= message[1] <= MAX_BUNDLED:
        raise BitstreamError(f"Bundle: packet count must be 2..{MAX_BUNDLED}")
    count, pos = message[1], 2
    lengths = []
    for _ in range(count - 1):
        n, pos = _read_varint(message, pos)
        lengths.append(n)
    packets = []
    for n in lengths:
        if n == 0 or pos + n > len(message):
            raise BitstreamError("Bundle: a packet length runs past the message")
        packets.append(message[pos : pos + n])
        pos += n
    if pos >= len(message):
        raise BitstreamError("Bundle: the last packet is empty")
    packets.append(message[pos:])
    if any(packet_type(p) == PacketType.BUNDLE for p in packets):
        raise BitstreamError("Bundle: bundles do not nest")
    return packets


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for shift in range(0, 21, 7):  # at most 3 bytes: lengths stay under 2 MiB
        if pos >= len(data):
            raise BitstreamError("Bundle: truncated length")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    raise BitstreamError("Bundle: length varint too long")
