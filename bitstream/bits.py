"""Bit-level writer and reader with signed Exp-Golomb codes, for the tiny Motion packets.

Exp-Golomb of order k is close to optimal for the Laplacian-shaped residuals the codec sends
and needs no tables, so a packet decodes on its own.
"""

from __future__ import annotations

from bitstream.errors import BitstreamError
from bitstream.limits import MAX_GOLOMB_PREFIX


class BitWriter:
    def __init__(self) -> None:
        self._acc = 0
        self._n = 0

    def bits(self, value: int, n: int) -> None:
        if n and not 0 <= value < (1 << n):
            raise ValueError(f"{value} does not fit in {n} bits")
        self._acc = (self._acc << n) | value
        self._n += n

    def ueg(self, value: int, k: int) -> None:
        """Unsigned Exp-Golomb of order k."""
        v = value + (1 << k)
        width = v.bit_length()
        self.bits(0, width - k - 1)
        self.bits(v, width)

    def seg(self, value: int, k: int) -> None:
        """Signed Exp-Golomb (zigzag: 0, -1, 1, -2, 2, ...)."""
        self.ueg(2 * value if value >= 0 else -2 * value - 1, k)

    def getvalue(self) -> bytes:
        """The bits so far, padded with 1 bits to a whole byte (padding never decodes as data)."""
        pad = -self._n % 8
        acc = (self._acc << pad) | ((1 << pad) - 1)
        return acc.to_bytes((self._n + pad) // 8, "big")


class BitReader:
    def __init__(self, data: bytes, where: str = "packet"):
        self._acc = int.from_bytes(data, "big")
        self._left = 8 * len(data)
        self._where = where

    def bits(self, n: int) -> int:
        if n > self._left:
            raise BitstreamError(f"{self._where}: truncated ({self._left} bits left, needed {n})")
        self._left -= n
        return (self._acc >> self._left) & ((1 << n) - 1)

    def ueg(self, k: int) -> int:
        zeros = 0
        while self.bits(1) == 0:
            zeros += 1
            if zeros > MAX_GOLOMB_PREFIX:
                raise BitstreamError(f"{self._where}: Exp-Golomb code too long")
        v = (1 << (zeros + k)) | self.bits(zeros + k)
        return v - (1 << k)

    def seg(self, k: int) -> int:
        u = self.ueg(k)
        return u // 2 if u % 2 == 0 else -(u + 1) // 2

    def finish(self) -> None:
        """Only padding (fewer than 8 one bits) may remain."""
        n = self._left
        if n >= 8 or self.bits(n) != (1 << n) - 1:
            raise BitstreamError(f"{self._where}: trailing data after the last field")
