"""`facecodec send`: a webcam or a video file -> the room's receivers, live."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codec.cli_common import add_encoder_options, add_prior_and_json, encoder_config, report
from signaling.peer.options import (
    add_live_options,
    check_live_options,
    room_and_token,
    run_live,
)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="facecodec send",
        description="Live sender: capture, fit the face prior, send Hello/Reference on a "
        "reliable `control` data channel and Motion on an unreliable `motion` channel. "
        "Without --room it creates a room and prints the receiver's command.",
    )
    src = add_source_options(p, "camera 0")
    src.add_argument("--replay", type=Path, default=None, metavar="FILE.fcs",
                     help="send a recorded stream (facecodec encode) at its recorded pace, "
                     "as if encoded now; loops with --loop (for measuring receivers and hosts "
                     "without a live encoder)")
    p.add_argument("--frames", type=int, default=None, help="stop after N frames")
    add_sending_options(p)
    add_live_options(p)
    add_encoder_options(p)
    add_prior_and_json(p)
    args = p.parse_args(argv)
    check_live_options(p, args)
    return args


def add_sending_options(p: argparse.ArgumentParser) -> None:
    """How motion leaves the sender; shared by `send` and `demo`."""
    p.add_argument("--frames-per-message", type=int, default=1, choices=range(1, 17),
                   metavar="1..16", help="Motion packets per data-channel message: fewer "
                   "messages, less overhead, more latency (default: %(default)s)")
    p.add_argument("--simulate-loss", type=_share, default=0.0, metavar="P",
                   help="drop this share of motion messages, for testing (default: 0)")


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError("must be in [0, 1)")
    return value


def add_source_options(p: argparse.ArgumentParser, default: str):
    """Where frames come from: `--camera`, `--video` (with `--loop`) or `--synthetic`."""
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=None, metavar="INDEX",
                     help=f"webcam index (the default source: {default})")
    src.add_argument("--video", type=Path, default=None, help="video file, paced at its fps")
    src.add_argument("--synthetic", action="store_true", help="the built-in synthetic head")
    p.add_argument("--loop", action="store_true", help="loop the --video file (and the "
                   "--replay file of send)")
    return src


def open_source(args, model, camera_or_synthetic: bool = False):
    """The source the flags name; with none, camera 0, or with `camera_or_synthetic` the
    synthetic head when no camera is present (the demo must run anywhere)."""
    from sender.capture import CameraSource, FileSource, SyntheticSource, camera_present

    if args.video is not None:
        return FileSource(args.video, loop=args.loop)
    if args.synthetic or (args.camera is None and camera_or_synthetic
                          and not camera_present(0)):
        source = SyntheticSource(model)
        print(f"drawing the synthetic head once: {source.cycle} frames, played back and forth",
              file=sys.stderr)
        source.prerender()
        return source
    return CameraSource(args.camera or 0)


def replay_source(path: Path, loop: bool):
    """(source, encoder factory) that play a recorded stream."""
    from sender.replay import Recording, ReplayEncoder, ReplaySource

    recording = Recording.load(path)
    return (ReplaySource(recording, path.name, loop),
            lambda: ReplayEncoder(recording, loop))


def main(argv: list[str] | None = None) -> int:
    from codec.prior.safe_pickle import PriorFileError
    from codec.threads import size_for_a_call
    from sender.capture import CaptureError
    from signaling.peer.client import SignalingError

    args = parse(sys.argv[1:] if argv is None else argv)
    size_for_a_call()
    errors = (CaptureError, PriorFileError, SignalingError, ValueError, OSError)  # + ReplayError
    code, summary = run_live("facecodec send", run(args), errors)
    if summary is None:
        return code
    report(summary, args.json)
    return 0


async def run(args: argparse.Namespace) -> dict:
    from codec.prior.flame_io import load_prior
    from sender.config import SenderConfig
    from sender.service import Sender
    from signaling.peer.client import SignalingClient
    from signaling.peer.ice import parse_ice_server

    say = (lambda _m: None) if args.json else (lambda m: print(m, file=sys.stderr))
    encoder = encoder_config(args)  # bad settings are refused before anything is opened
    model = load_prior(args.flame)
    if args.replay is not None:
        source, encoders = replay_source(args.replay, args.loop)
    else:
        source, encoders = open_source(args, model), None
    room, token = await room_and_token(args, "sender")
    config = SenderConfig(
        encoder=encoder, frames_per_message=args.frames_per_message,
        ice_servers=tuple(parse_ice_server(s) for s in args.ice_server),
        simulate_loss=args.simulate_loss, max_frames=args.frames,
    )  # fmt: skip
    say(f"sending {source.name} at {source.fps:.1f} fps; waiting for a receiver")
    sender = Sender(model, source, config, SignalingClient(args.signal, room, token, args.ca_file),
                    say=say, encoders=encoders)
    return await sender.run()
