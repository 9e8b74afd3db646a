"""`facecodec host`: one receiver process for many calls."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from codec.cli_common import add_prior_and_json, add_render_options, report
from signaling.peer.options import run_live

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="facecodec host",
        description="Receive many calls in one process: each call joins its own room and "
        "keeps its own link, decoder and references; rendering is shared (one worker pool, "
        "one set of weights; the neural renderer batches the frames due across calls). "
        "Calls are named at start (--call) or added over the HTTP API (--http: POST /calls, "
        "DELETE /calls/ROOM, GET /status). Runs until Ctrl-C or SIGTERM, then ends every call.",
    )
    p.add_argument("--signal", default="http://127.0.0.1:8765", metavar="URL",
                   help="signaling server (default: %(default)s)")
    p.add_argument("--ca-file", default=None, metavar="PEM",
                   help="trust this CA for an https/wss signaling server")
    p.add_argument("--ice-server", action="append", default=[], metavar="URL",
                   help="STUN/TURN server, repeatable (as for receive)")
    p.add_argument("--call", action="append", default=[], metavar="ROOM:TOKEN",
                   help="a call to take at start, repeatable: its room and receiver token")
    p.add_argument("--http", type=int, default=None, metavar="PORT",
                   help="serve the host API on this port (0: any free port, printed)")
    p.add_argument("--http-host", default="127.0.0.1",
                   help="API bind address (default: %(default)s; any other needs --api-key)")
    p.add_argument("--api-key", default=os.environ.get("FACECODEC_HOST_KEY"),
                   help="bearer key the API requires (default: $FACECODEC_HOST_KEY)")
    p.add_argument("--max-calls", type=int, default=16,
                   help="calls this host takes at most (default: %(default)s)")
    p.add_argument("--workers", type=int, default=0,
                   help="render threads shared by all calls (default: one per core; with a "
                   "batching renderer, one per call)")
    p.add_argument("--render-processes", type=int, default=None, metavar="N",
                   help="render processes for the mesh warp (default: one per core; 0: "
                   "render on the host's own threads, which share one core)")
    p.add_argument("--out-dir", type=Path, default=None,
                   help="write each call's rendered video to DIR/ROOM.mp4")
    add_render_options(p)
    add_prior_and_json(p)
    args = p.parse_args(argv)
    for call in args.call:
        room, _, token = call.partition(":")
        if not room or not token:
            p.error(f"--call {call!r}: give ROOM:TOKEN")
    if args.http is not None and args.http_host not in LOOPBACK and not args.api_key:
        p.error(f"--http-host {args.http_host}: an API off loopback needs --api-key")
    return args


def main(argv: list[str] | None = None) -> int:
    from codec.prior.safe_pickle import PriorFileError
    from codec.render import RendererUnavailableError
    from codec.threads import size_for_a_call
    from receiver.sinks import SinkError
    from signaling.peer.client import SignalingError

    args = parse(sys.argv[1:] if argv is None else argv)
    size_for_a_call()
    errors = (PriorFileError, RendererUnavailableError, SinkError, SignalingError, ValueError,
              OSError)
    code, summary = run_live("facecodec host", run(args), errors)
    if summary is None:
        return code
    report(summary, args.json)
    return 0


async def run(args: argparse.Namespace) -> dict:
    from codec.prior.flame_io import load_prior
    from codec.render import make_renderer
    from receiver.config import ReceiverConfig
    from receiver.host import Host, HostConfig
    from receiver.host_api import create_host_app
    from receiver.sinks import FileSink, FrameSink
    from receiver.web import BackgroundServer
    from signaling.peer.ice import parse_ice_server

    say = (lambda _m: None) if args.json else (lambda m: print(m, file=sys.stderr, flush=True))
    config = HostConfig(args.max_calls, args.workers, args.render_processes, ReceiverConfig(
        ice_servers=tuple(parse_ice_server(s) for s in args.ice_server)))
    model = load_prior(args.flame)
    renderer = make_renderer(args.renderer, model, args.checkpoint, args.device)
    if args.out_dir is not None:
        args.out_dir.mkdir(parents=True, exist_ok=True)
    def sinks(room: str) -> list[FrameSink]:
        return [FileSink(args.out_dir / f"{room}.mp4")] if args.out_dir else []

    host = Host(model, renderer, config, args.signal, args.ca_file, sinks, say=say)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    api = None
    try:
        if args.http is not None:
            api = BackgroundServer(create_host_app(host, args.api_key), args.http_host,
                                   args.http)
            say(f"host API on http://{args.http_host}:{await api.start()}/")
        for call in args.call:
            room, _, token = call.partition(":")
            await host.add(room, token)
        where = f" in {len(host.processes.workers)} processes" if host.processes else ""
        say(f"hosting with the {renderer.name} renderer{where}, up to {config.max_calls} "
            "calls; Ctrl-C ends every call")
        await stop.wait()
        say("ending every call")
    finally:
        ended = await host.close()
        if api is not None:
            await api.stop()
    return {"calls": ended, "host": {k: v for k, v in host.status().items() if k != "per_call"}}
