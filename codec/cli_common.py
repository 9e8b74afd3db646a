"""Pieces every `facecodec` subcommand shares: the common flags and how results are printed."""

from __future__ import annotations

import argparse
import json


def add_prior_and_json(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--flame", default=None,
        help="FLAME model file (else $FACECODEC_FLAME, else the built-in prior)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def report(summary: dict, as_json: bool) -> None:
    """One JSON object, or aligned `name: value` lines for people."""
    if as_json:
        print(json.dumps(summary))
        return
    width = max(map(len, summary), default=0)
    for k, v in summary.items():
        print(f"{k:>{width}}: {v}")


def add_encoder_options(p: argparse.ArgumentParser) -> None:
    """The encoder's flags, shared by `encode` (to a file) and `send` (live)."""
    from codec.prior.keypoints import PRESETS

    p.add_argument("--mode", choices=("keypoints", "params"), default="keypoints",
                   help="keypoints: K×3 keypoints + ψ + jaw (the paper); params: pose + ψ + "
                   "jaw only, fewer bytes (default: %(default)s)")
    p.add_argument("--keypoints", type=int, choices=PRESETS, default=16,
                   help="keypoints per frame in keypoints mode (default: %(default)s)")
    p.add_argument("--expr-dims", type=int, default=20,
                   help="expression dims N sent per frame (default: %(default)s)")
    p.add_argument("--precision", type=float, default=1.0,
                   help="quantizer step multiplier, < 1 is finer (default: %(default)s)")
    p.add_argument("--picture-codec", choices=("av1", "webp", "jpeg"), default="av1",
                   help="reference picture codec (default: %(default)s)")
    p.add_argument("--picture-quality", type=int, default=50,
                   help="reference picture quality 0..100 (default: %(default)s)")
    p.add_argument("--landmark-looks", type=int, choices=(1, 2), default=2,
                   help="landmark looks per frame: 2 averages a tracked and a fresh one "
                   "(steadier face), 1 halves the landmark work for a slow CPU "
                   "(default: %(default)s)")
    p.add_argument("--flow-weight", type=float, default=1.0, metavar="W",
                   help="how far landmarks move onto the optical flow from the reference "
                   "picture, 0..1: the face follows the pixels' real motion; 0 turns the flow "
                   "off and saves its time on a slow CPU (default: %(default)s)")
    p.add_argument("--bank-slots", type=int, default=4, metavar="S",
                   help="bank pictures of the mouth and eyes held beside the reference, 0..4: "
                   "sent when the mouth opens or the eyes close further than any held picture "
                   "shows, so the receiver shows teeth and blinks; 0 sends one reference "
                   "only (default: %(default)s)")


def encoder_config(args: argparse.Namespace):
    from codec.bank import BankConfig
    from codec.config import EncoderConfig
    from codec.prior.reference_flow import FlowConfig

    return EncoderConfig(
        mode=args.mode, keypoints=args.keypoints, expr_dims=args.expr_dims,
        precision=args.precision, picture_codec=args.picture_codec,
        picture_quality=args.picture_quality, landmark_looks=args.landmark_looks,
        flow=FlowConfig(weight=args.flow_weight), bank=BankConfig(slots=args.bank_slots),
    )  # fmt: skip


def add_live_options(p: argparse.ArgumentParser) -> None:
    """Where a live peer finds its room: the signaling server, the room and its token."""
    p.add_argument("--signal", default="http://127.0.0.1:8765", metavar="URL",
                   help="signaling server: http(s):// or ws(s):// (default: %(default)s)")
    p.add_argument("--ca-file", default=None, metavar="PEM",
                   help="trust this CA (or self-signed certificate) for an https/wss server "
                   "(default: the system's CAs)")
    p.add_argument("--room", default=None, help="room id (from POST /rooms)")
    p.add_argument("--token", default=None, help="this peer's token for the room")
    p.add_argument("--ice-server", action="append", default=[], metavar="URL",
                   help="STUN/TURN server, repeatable: stun:HOST:PORT or "
                   "turn:USER:PASS@HOST:PORT (default: none, fine on one host or LAN)")


def run_live(prog: str, coro, errors: tuple) -> tuple[int, dict | None]:
    """Run a live command's coroutine: (0, its summary), or a user-caused error as one line
    (exit 2), or Ctrl-C (exit 130) with no traceback."""
    import asyncio
    import sys

    try:
        return 0, asyncio.run(coro)
    except errors as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2, None
    except KeyboardInterrupt:
        return 130, None
