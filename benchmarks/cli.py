"""`facecodec bench`: the benchmarks behind one command."""

from __future__ import annotations

import sys

SUBCOMMANDS = {
    "rd": ("benchmarks.rd", "rate-distortion against classical low-delay codecs"),
    "loss": ("benchmarks.loss", "AKD and PSNR against packet loss"),
    "speed": ("benchmarks.speed", "sender and receiver milliseconds per frame"),
    "generator": ("benchmarks.generator_speed", "neural generator ms/frame and memory per config"),
    "sheet": ("benchmarks.contact_sheet", "hardest validation frames: original | mesh | neural"),
    "busy": ("benchmarks.busy", "the demo beside busy processes: frames and latency"),
    "live": ("benchmarks.live", "loopback call: latency and wire bytes at 1/2/4 frames/message"),
    "message-rate": ("benchmarks.message_rate", "every 2nd frame sent, the rest made up"),
    "host": ("benchmarks.host", "calls one `facecodec host` holds: N replayed calls, rising"),
    "network": ("benchmarks.network", "the call over namespaced networks: loss, caps, delay, NAT"),
    "landmarks": ("benchmarks.landmark_parity", "converted face mesh vs the mediapipe package"),
    "prior": ("benchmarks.prior_fit", "how well the face prior explains each clip"),
    "bitstream": ("benchmarks.bitstream_rate", "motion bytes per frame per K and N"),
    "fuzz": ("benchmarks.bitstream_fuzz", "mutation fuzzing of the packet decoder"),
    "reference": ("benchmarks.reference_picture", "reference picture codecs"),
    "reconstruction": ("benchmarks.reconstruction", "meshwarp same-identity reconstruction"),
    "psnr-budget": ("benchmarks.psnr_budget", "where the squared error lies: face, around, rest"),
}


def main(argv: list[str] | None = None) -> int:
    import importlib

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in SUBCOMMANDS:
        lines = ["usage: facecodec bench NAME [ARGS...]", "", "benchmarks:"]
        lines += [f"  {n:<15} {text}" for n, (_, text) in SUBCOMMANDS.items()]
        print("\n".join(lines), file=sys.stdout if argv[:1] in (["-h"], ["--help"]) else sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    module = importlib.import_module(SUBCOMMANDS[argv[0]][0])
    return int(module.main(argv[1:]) or 0)
