"""The wire format: packet types, quantizers, Exp-Golomb and zstd coding, the .fcs container.

Imports numpy, msgpack and zstandard only: a receiver in any language can be written from
`packets.py` and `container.py` alone.
"""

from bitstream.bundle import pack_bundle, unpack_bundle
from bitstream.container import FcsWriter, read_packets
from bitstream.errors import BitstreamError
from bitstream.packets import (
    VERSION,
    BankRegion,
    BankSlot,
    Bye,
    Clock,
    Hello,
    Motion,
    MotionMode,
    Packet,
    PacketType,
    Reference,
    RefParams,
    decode_packet,
    encode_packet,
    packet_type,
)
from bitstream.quantize import Steps, dequantize, expression_steps, quantize

__all__ = [
    "VERSION", "BankRegion", "BankSlot", "BitstreamError", "Bye", "Clock", "FcsWriter", "Hello",
    "Motion", "MotionMode", "Packet", "PacketType", "RefParams", "Reference", "Steps",
    "decode_packet",
    "dequantize", "encode_packet", "expression_steps", "pack_bundle", "packet_type", "quantize",
    "read_packets", "unpack_bundle",
]  # fmt: skip
