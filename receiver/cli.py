"""`facecodec receive`: join a room, render the sender's face live."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from codec.cli_common import add_live_options, add_prior_and_json, report, run_live
from codec.render import RENDERERS


def add_render_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--renderer", choices=RENDERERS, default="meshwarp",
                   help="meshwarp: CPU, no weights; neural: trained generator (default: "
                   "%(default)s)")
    p.add_argument("--checkpoint", default=None, help="neural renderer checkpoint")
    p.add_argument("--edit", action="append", default=[], metavar="NAME=STRENGTH",
                   help="expression edit, repeatable: neutral, smile, open_mouth, raise_brows, "
                   "blink (e.g. --edit smile=0.7)")
    p.add_argument("--gaze", action="append", default=[], metavar="camera|ANGLE=DEG",
                   help="where the eyes look: camera (toward the viewer, whatever the head "
                   "does), or yaw=DEG / pitch=DEG in the head, repeatable")
    p.add_argument("--pose-offset", action="append", default=[], metavar="ANGLE=DEG",
                   help="turn the head by this much, repeatable (e.g. --pose-offset yaw=15)")
    p.add_argument("--pose", action="append", default=[], metavar="ANGLE=DEG",
                   help="hold an angle fixed (e.g. --pose yaw=0)")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="facecodec receive",
        description="Live receiver: answer the sender's offer, decode and render every "
        "frame as it arrives; survives the sender leaving and coming back. Without --room "
        "it creates a room and prints the sender's command.",
    )
    add_live_options(p)
    add_render_options(p)
    p.add_argument("--out", type=Path, default=None, help="write the rendered video here")
    p.add_argument("--view", action="store_true", help="show an OpenCV window")
    p.add_argument("--http", type=int, default=None, metavar="PORT",
                   help="serve a page with the video and live figures on this port")
    p.add_argument("--http-host", default="127.0.0.1", help="page bind address")
    p.add_argument("--once", action="store_true", help="exit when the sender ends its stream")
    p.add_argument("--api-key", default=None, help="bearer key when creating a room")
    add_prior_and_json(p)
    args = p.parse_args(argv)
    if (args.room is None) != (args.token is None):
        p.error("give both --room and --token, or neither (to create a room)")
    return args


def main(argv: list[str] | None = None) -> int:
    from codec.controls import ControlError
    from codec.prior.safe_pickle import PriorFileError
    from codec.render import RendererUnavailableError
    from receiver.sinks import SinkError
    from signaling.client import SignalingError

    args = parse(sys.argv[1:] if argv is None else argv)
    errors = (PriorFileError, RendererUnavailableError, ControlError, SinkError,
              SignalingError, OSError)  # OSError includes IceError
    code, summary = run_live("facecodec receive", run(args), errors)
    if summary is None:
        return code
    report(summary, args.json)
    return 0


def build(args, model):
    """The renderer and the receiver's expression/pose edit, from the flags."""
    from codec.controls import ControlApplier, parse_controls
    from codec.render import make_renderer

    controls = parse_controls(args.edit, args.pose_offset, args.pose, args.gaze)
    edit = ControlApplier(model, controls) if controls.active else None
    return make_renderer(args.renderer, model, args.checkpoint), edit


async def run(args: argparse.Namespace) -> dict:
    from codec.prior.flame_io import load_prior
    from receiver.config import ReceiverConfig
    from receiver.service import Receiver
    from receiver.sinks import FileSink, LatestFrame, WindowSink
    from receiver.web import BackgroundServer, create_page_app
    from signaling.client import SignalingClient
    from signaling.ice import parse_ice_server

    say = (lambda _m: None) if args.json else (lambda m: print(m, file=sys.stderr))
    model = load_prior(args.flame)
    renderer, edit = build(args, model)
    config = ReceiverConfig(ice_servers=tuple(parse_ice_server(s) for s in args.ice_server))
    sinks = ([FileSink(args.out)] if args.out else []) + ([WindowSink()] if args.view else [])
    room, token = args.room, args.token
    if room is None:
        from signaling.client import create_room

        created = await asyncio.to_thread(create_room, args.signal, args.api_key, 10.0,
                                          args.ca_file)
        room, token = created["room"], created["receiver_token"]
        print(f"room {room} created; on the sending side run:\n  facecodec send --signal "
              f"{args.signal} --room {room} --token {created['sender_token']}",
              file=sys.stderr, flush=True)
    client = SignalingClient(args.signal, room, token, args.ca_file)
    receiver = Receiver(model, renderer, config, client, sinks, edit, say, until_bye=args.once)
    page = None
    if args.http is not None:
        latest = LatestFrame()
        receiver.sinks.append(latest)
        page = BackgroundServer(create_page_app(latest, receiver.stats), args.http_host,
                                args.http)
        port = await page.start()
        say(f"page: http://{args.http_host}:{port}/")
    try:
        return await receiver.run()
    finally:
        if page is not None:
            await page.stop()
