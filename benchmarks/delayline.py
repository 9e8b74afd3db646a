"""A user-space delay line between two TUN devices, for the namespaced test bed: this
kernel has no `tc netem`, so packets to be delayed are routed into one TUN device, held here
for `delay ± jitter` ms and written to the other, where the kernel routes them on as usual.

Jitter is drawn uniformly from [-jitter, +jitter] per packet, but a packet never leaves
before the one ahead of it (a queue, as on a real link: no reordering). At most
`MAX_HELD` packets are held; beyond that new ones are dropped, so memory stays bounded.

    python -m benchmarks.delayline IN_TUN OUT_TUN --delay-ms 80 --jitter-ms 10

Creates both devices (they vanish when it exits), prints `ready` once they exist, and runs
until terminated.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import fcntl
import os
import random
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
MAX_HELD = 4096
MTU = 65535


def open_tun(name: str) -> int:
    """A file descriptor on a new TUN device `name` (raw IP packets, no packet info)."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class DelayLine:
    def __init__(self, delay_ms: float, jitter_ms: float = 0.0, seed: int = 0):
        if delay_ms < 0 or jitter_ms < 0 or jitter_ms > delay_ms:
            raise ValueError("need 0 <= jitter <= delay")
        self.delay, self.jitter = delay_ms / 1000, jitter_ms / 1000
        self.rng = random.Random(seed)
        self.held: collections.deque[tuple[float, bytes]] = collections.deque()
        self.dropped = 0

    def push(self, packet: bytes, now: float) -> None:
        if len(self.held) >= MAX_HELD:
            self.dropped += 1
            return
        due = now + self.delay + self.rng.uniform(-self.jitter, self.jitter)
        if self.held:
            due = max(due, self.held[-1][0])
        self.held.append((due, packet))

    def due(self, now: float) -> list[bytes]:
        out = []
        while self.held and self.held[0][0] <= now:
            out.append(self.held.popleft()[1])
        return out

    def wait(self, now: float) -> float | None:
        """Seconds until the next packet is due, None when none is held."""
        return max(0.0, self.held[0][0] - now) if self.held else None


def run(src: int, dst: int, line: DelayLine) -> None:
    while True:
        readable, _, _ = select.select([src], [], [], line.wait(time.monotonic()))
        if readable:
            line.push(os.read(src, MTU), time.monotonic())
        for packet in line.due(time.monotonic()):
            with contextlib.suppress(OSError):  # a device down for a moment: lost, as on a link
                os.write(dst, packet)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.delayline",
                                description=__doc__.split("\n")[0])
    p.add_argument("into", help="TUN device the kernel routes delayed traffic into")
    p.add_argument("out", help="TUN device the delayed packets come out of")
    p.add_argument("--delay-ms", type=float, required=True)
    p.add_argument("--jitter-ms", type=float, default=0.0)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    line = DelayLine(args.delay_ms, args.jitter_ms)
    src, dst = open_tun(args.into), open_tun(args.out)
    print("ready", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        run(src, dst, line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
