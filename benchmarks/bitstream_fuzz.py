"""Mutation fuzzing of the packet decoder: only BitstreamError may escape, every input fast.

    python -m benchmarks.bitstream_fuzz [--inputs 100000] [--seed 0]

Valid streams (Hello, Reference, Motion in both modes, Bye) are flipped, overwritten,
truncated, spliced and extended; each damaged packet goes through `decode_packet`
(tests/test_codec.py also pushes damaged packets through the codec's `Decoder`). Prints
the count of inputs, how many were rejected, the slowest rejection and any exception
that was not a BitstreamError (the run fails if there is one).
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
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)  # fmt: skip
    from tqdm import tqdm

    from bitstream import BitstreamError, decode_packet
    from bitstream.fuzz import mutations, sample_hello, sample_packets

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
    return 1 if escaped or ms.max() > 10 else 0


if __name__ == "__main__":
    raise SystemExit(main())
