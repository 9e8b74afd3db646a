"""Hostile-input generator for the bitstream: valid packets flipped, truncated and spliced.

Shared by the fuzz tests (a few thousand inputs) and `python -m benchmarks.bitstream_fuzz`
(100,000 and more).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from bitstream import (
    VERSION,
    BankRegion,
    BankSlot,
    Bye,
    Hello,
    Motion,
    MotionMode,
    Reference,
    RefParams,
    Steps,
    encode_packet,
)


def sample_hello(n: int = 10, k: int = 16, version: int = VERSION) -> Hello:
    mode = MotionMode.KEYPOINTS if k else MotionMode.PARAMS
    steps = Steps(expression=tuple(0.1 * (1 + i / 4) for i in range(n)))
    return Hello("0123456789abcdef", mode, k, n, 256, 25.0, steps, version=version)


def sample_packets(hello: Hello, rng: random.Random) -> list[bytes]:
    """A stream's worth of valid packets: Hello, a Reference, Motions and a Bye."""
    params = RefParams(
        np.linspace(-1, 1, 12, dtype=np.float32), np.linspace(0, 1, hello.expr_dims + 2,
        dtype=np.float32), np.zeros((5, 3), np.float32), 900.0, np.array([128, 120, 0],
        np.float32),
    )  # fmt: skip
    picture = bytes(rng.randrange(256) for _ in range(200))
    margin = 16 if hello.version >= 6 else 0
    out = [encode_packet(hello), encode_packet(Reference(1, "jpeg", picture, params,
                                                         margin=margin))]  # fmt: skip
    if hello.version >= 3:
        bank = BankSlot(2, BankRegion.MOUTH, (80, 160, 96, 64))
        region = replace(params, beta=np.zeros(0, np.float32))
        out.append(encode_packet(Reference(2, "jpeg", picture[:120], region, bank)))
    for seq in range(8):
        out.append(encode_packet(random_motion(hello, rng, seq), hello))
    out.append(encode_packet(Bye("end of stream", 8)))
    return out


def random_motion(hello: Hello, rng: random.Random, seq: int = 0) -> Motion:
    def ints(n: int, spread: int) -> tuple[int, ...]:
        return tuple(rng.randint(-spread, spread) for _ in range(n))

    def three(spread: int) -> tuple[int, int, int]:
        a, b, c = (rng.randint(-spread, spread) for _ in range(3))
        return a, b, c

    motion = Motion(
        seq=seq % 4096, time_offset_ms=rng.randint(-40, 40), ref_id=rng.randrange(256),
        rotation=three(200), scale=rng.randint(-50, 50),
        translation=(rng.randint(-500, 500), rng.randint(-500, 500)),
        depth=rng.randint(-3, 3), jaw=three(30), expression=ints(hello.expr_dims, 40),
        keypoints=ints(3 * hello.keypoints, 8),
        gaze=(rng.randint(-20, 20), rng.randint(-20, 20), rng.randint(-2, 2))
        if hello.has_gaze else (0, 0, 0),
    )  # fmt: skip
    if hello.has_follow:  # drawn last, so older versions' samples stay as they were
        motion = replace(motion, follow=(rng.randrange(8), rng.randrange(8)))
    if hello.has_view and rng.random() < 0.5:  # half the frames: a crop that moved
        motion = replace(motion, view=(rng.randint(-40, 40), rng.randint(1, 99),
                                       rng.randint(-99, 99)))  # fmt: skip
    return motion


def mutations(packets: list[bytes], rng: random.Random, count: int) -> Iterator[bytes]:
    """`count` damaged variants: bit flips, byte overwrites, truncations, splices, garbage."""
    for _ in range(count):
        data = bytearray(rng.choice(packets))
        kind = rng.randrange(6)
        if kind == 0:
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(data))
                data[i] ^= 1 << rng.randrange(8)
        elif kind == 1:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 2:
            data = data[: rng.randrange(len(data))]
        elif kind == 3:
            other = rng.choice(packets)
            data = data[: rng.randrange(len(data) + 1)] + other[rng.randrange(len(other)) :]
        elif kind == 4:
            data = data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            data = bytearray([data[0]]) + bytes(rng.randrange(256) for _ in range(len(data)))
        yield bytes(data)
