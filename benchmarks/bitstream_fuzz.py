"""Mutation fuzzing of the packet decoder: only BitstreamError may escape, every input fast.

    python -m benchmarks.bitstream_fuzz [--inputs 100000] [--pictures 3000] [--seed 0]

Valid streams (Hello, Reference, Motion in both modes, Bye) are flipped, overwritten,
truncated, spliced and extended; each damaged packet goes through `decode_packet`
(tests/test_codec.py also pushes damaged packets through the codec's `Decoder`). Prints
the count of inputs, how many were rejected, the slowest rejection and any exception
that was not a BitstreamError (the run fails if there is one).

Then the Reference pictures: real JPEG, WebP and AV1 pictures (a 256² crop and a bank
patch) damaged the same way, plus picture bombs (headers that declare up to 65535² pixels),
through `decode_picture`: only PictureError may escape, and the process's peak memory may
grow by no more than a few decoded crops.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bitstream_fuzz",
                                description=__doc__.split("\n")[0])
    p.add_argument("--inputs", type=int, default=100_000, help="damaged packets to decode")
    p.add_argument("--pictures", type=int, default=3000, help="damaged pictures to decode")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)  # fmt: skip
    from tqdm import tqdm

    from bitstream import BitstreamError, decode_packet
    from bitstream.tools.fuzz import mutations, sample_hello, sample_packets

    rng = random.Random(args.seed)
    hellos = [sample_hello(10, 16), sample_hello(20, 0), sample_hello(0, 68)]
    streams = [(h, sample_packets(h, rng)) for h in hellos]
    per_stream = -(-args.inputs // len(streams))
    rejected, accepted, escaped, times = 0, 0, [], []
    for hello, packets in streams:
        for data in tqdm(mutations(packets, rng, per_stream), total=per_stream, unit="input"):
            t = time.perf_counter()
            try:
                decode_packet(data, hello)
                accepted += 1
            except BitstreamError:
                rejected += 1
            except Exception as exc:  # the point is to catch anything else
                escaped.append(f"{type(exc).__name__}: {exc} on {data[:32].hex()}")
            times.append(time.perf_counter() - t)
    ms = np.array(times) * 1000
    print(f"inputs: {len(ms)}  rejected: {rejected}  still valid: {accepted}")
    print(f"decode ms: median {np.median(ms):.4f}  p99.9 {np.percentile(ms, 99.9):.4f}  "
          f"max {ms.max():.3f}")  # fmt: skip
    print(f"non-BitstreamError exceptions: {len(escaped)}")
    for line in escaped[:10]:
        print("  " + line)
    failed = _pictures(args.pictures, rng)
    return 1 if escaped or ms.max() > 10 or failed else 0


def _pictures(count: int, rng: random.Random) -> bool:
    """Damaged pictures and picture bombs through decode_picture; True if anything failed."""
    import resource
    from collections import Counter

    from codec.picture import PictureError, decode_picture, encode_picture

    crop = np.random.default_rng(1).integers(0, 255, (256, 256, 3), dtype=np.uint8)
    real = [(codec, size, encode_picture(np.ascontiguousarray(crop[: size[1], : size[0]]),
                                         codec, 50))
            for codec in ("jpeg", "webp", "av1") for size in ((256, 256), (96, 48))]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes: Counter[str] = Counter()
    escaped, times = [], []
    for _ in range(count):
        codec, size, data = rng.choice(real)
        damaged = damage_picture(bytearray(data), codec, rng)
        t = time.perf_counter()
        try:
            decode_picture(damaged, codec, size)
            outcomes["decoded"] += 1
        except PictureError as exc:
            outcomes["bomb refused" if "declares" in str(exc) else "refused"] += 1
        except Exception as exc:  # the point is to catch anything else
            escaped.append(f"{codec}: {type(exc).__name__}: {exc}")
        times.append(time.perf_counter() - t)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    ms = np.array(times) * 1000
    print(f"pictures: {count}  " + "  ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
    print(f"picture ms: median {np.median(ms):.3f}  p99.9 {np.percentile(ms, 99.9):.3f}  "
          f"max {ms.max():.2f}  peak memory grew {grown_mb:.1f} MB")  # fmt: skip
    print(f"non-PictureError exceptions: {len(escaped)}")
    for line in escaped[:10]:
        print("  " + line)
    return bool(escaped) or grown_mb > 100


def damage_picture(data: bytearray, codec: str, rng: random.Random) -> bytes:
    """A bomb (a header declaring up to 65535² pixels) one time in three, else flips,
    overwrites or a cut, as for packets."""
    kind = rng.randrange(6)
    if kind < 2:
        side = rng.choice([1, 300, 4096, 16383, 40000, 65535])
        return picture_bomb(data, codec, side)
    if kind == 2:
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == 3:
        data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 4:
        data = data[: rng.randrange(1, len(data))]
    else:
        start = rng.randrange(len(data))
        data[start:] = bytes(rng.randrange(256) for _ in range(len(data) - start))
    return bytes(data)


def picture_bomb(data: bytearray, codec: str, side: int) -> bytes:
    if codec == "jpeg":
        sof = data.index(b"\xff\xc0")
        data[sof + 5 : sof + 9] = (min(side, 65535).to_bytes(2, "big")) * 2
    elif codec == "webp" and b"\x9d\x01\x2a" in data:
        start = data.index(b"\x9d\x01\x2a")
        data[start + 3 : start + 7] = (min(side, 16383).to_bytes(2, "little")) * 2
    elif codec == "av1":  # a reduced still-picture sequence header first
        bits = "000" + "11" + "01000" + "1111" + "1111" + format(min(side, 65536) - 1, "016b") * 2
        bits += "0" * (-len(bits) % 8)
        payload = int(bits, 2).to_bytes(len(bits) // 8, "big")
        return bytes([1 << 3 | 2, len(payload)]) + payload + bytes(data)
    return bytes(data)


if __name__ == "__main__":
    raise SystemExit(main())
