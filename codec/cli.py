"""The `facecodec` command: a thin dispatcher to each package's own command-line entry.

Subcommands are imported lazily so that `facecodec send` on a laptop never imports torch.
"""

from __future__ import annotations

import importlib
import sys

# subcommand -> (module, what it does)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("benchmarks.loopback", "signaling + receiver + sender on loopback in one command"),
    "send": ("sender.cli", "live sender: webcam or video file -> WebRTC data channels"),
    "receive": ("receiver.cli", "live receiver: data channels -> rendered frames"),
    "host": ("receiver.host_cli", "one receiver process for many calls (rooms), with an API"),
    "signal": ("signaling.cli", "signaling server (rooms, tokens, offer/answer relay)"),
    "encode": ("codec.encode_cli", "video file -> .fcs bitstream file"),
    "decode": ("codec.decode_cli", ".fcs bitstream file -> video file"),
    "bench": ("benchmarks.cli", "rate-distortion, speed and robustness benchmarks"),
    "train": ("models.cli", "train the neural warping generator"),
    "gpu-check": ("benchmarks.gpu_check", "the neural receiver on a GPU: parity, speed, a "
                  "training leg (--dry-run: on CPU)"),
    "build-prior": ("codec.prior.build.cli", "build the FLAME-format prior from face videos"),
    "fit": ("codec.prior.fit_cli", "fit the face prior to a video and report its error"),
    "synth": ("codec.synth_cli", "write a synthetic talking head video with its ground truth"),
}


def _usage() -> str:
    lines = ["usage: facecodec COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<12} {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "Run `facecodec COMMAND --help` for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"facecodec: unknown command {name!r}; run `facecodec --help`", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
