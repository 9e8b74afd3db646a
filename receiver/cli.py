"""`facecodec receive`: join a room, render the sender's face live."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codec.cli_common import (
    add_control_options,
    add_prior_and_json,
    add_render_options,
    renderer_and_edit,
    report,
)
from signaling.peer.options import (
    add_live_options,
    check_live_options,
    room_and_token,
    run_live,
)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="facecodec receive",
        description="Live receiver: answer the sender's offer, decode and render every "
        "frame as it arrives; survives the sender leaving and coming back. Without --room "
        "it creates a room and prints the sender's command.",
    )
    add_live_options(p)
    add_render_options(p)
    add_control_options(p)
    p.add_argument("--out", type=Path, default=None, help="write the rendered video here")
    p.add_argument("--view", action="store_true", help="show an OpenCV window")
    p.add_argument("--http", type=int, default=None, metavar="PORT",
                   help="serve a page with the video and live figures on this port")
    p.add_argument("--http-host", default="127.0.0.1", help="page bind address")
    p.add_argument("--once", action="store_true", help="exit when the sender ends its stream")
    add_prior_and_json(p)
    args = p.parse_args(argv)
    check_live_options(p, args)
    return args


def main(argv: list[str] | None = None) -> int:
    from codec.controls import ControlError
    from codec.prior.safe_pickle import PriorFileError
    from codec.render import RendererUnavailableError
    from codec.threads import size_for_a_call
    from receiver.sinks import SinkError
    from signaling.peer.client import SignalingError

    args = parse(sys.argv[1:] if argv is None else argv)
    size_for_a_call()
    errors = (PriorFileError, RendererUnavailableError, ControlError, SinkError,
              SignalingError, OSError)  # OSError includes IceError
    code, summary = run_live("facecodec receive", run(args), errors)
    if summary is None:
        return code
    report(summary, args.json)
    return 0


async def run(args: argparse.Namespace) -> dict:
    from codec.prior.flame_io import load_prior
    from receiver.config import ReceiverConfig
    from receiver.service import Receiver
    from receiver.sinks import FileSink, WindowSink
    from receiver.web import PageServer
    from signaling.peer.client import SignalingClient
    from signaling.peer.ice import parse_ice_server

    say = (lambda _m: None) if args.json else (lambda m: print(m, file=sys.stderr))
    model = load_prior(args.flame)
    renderer, edit = renderer_and_edit(args, model)
    config = ReceiverConfig(ice_servers=tuple(parse_ice_server(s) for s in args.ice_server))
    sinks = ([FileSink(args.out)] if args.out else []) + ([WindowSink()] if args.view else [])
    room, token = await room_and_token(args, "receiver")
    client = SignalingClient(args.signal, room, token, args.ca_file)
    receiver = Receiver(model, renderer, config, client, sinks, edit, say, until_bye=args.once)
    page = None
    if args.http is not None:
        page = PageServer(receiver, args.http_host, args.http, config.ice_servers)
        port = await page.start()
        say(f"page: http://{args.http_host}:{port}/")
    try:
        return await receiver.run()
    finally:
        if page is not None:
            await page.stop()
