"""The loopback call: signaling, a receiver and a sender in one process (`facecodec demo`).

It joins the three services, so it lives above them, beside the benchmarks that measure it
(`bench live`): neither service imports the other. Everything real: the FastAPI server on a
local port, two aiortc peers talking over UDP on 127.0.0.1, the same services `send` and
`receive` run. The source is the webcam when one is present, else the built-in synthetic
talking head, or `--video FILE`.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import threading
from pathlib import Path

import numpy as np

from codec.cli_common import (
    add_control_options,
    add_encoder_options,
    add_prior_and_json,
    add_render_options,
    encoder_config,
    renderer_and_edit,
    report,
)
from sender.cli import add_sending_options, add_source_options, open_source
from signaling.peer.options import run_live


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="facecodec demo",
        description="A whole call on this machine: signaling server, receiver and sender over "
        "real WebRTC data channels on loopback. Prints the bytes, frame counts and latency; "
        "--out writes input | received side by side.",
    )
    add_source_options(p, "camera 0 if present, else the synthetic head")
    p.add_argument("--frames", type=int, default=None,
                   help="stop after N frames (default: the whole video, or until Ctrl-C)")
    p.add_argument("--out", type=Path, default=None, help="side-by-side video: input | received")
    add_sending_options(p)
    p.add_argument("--http", type=int, default=None, metavar="PORT",
                   help="also serve the receiver's web page on this port (0: any free port)")
    add_render_options(p)
    add_control_options(p)
    add_encoder_options(p)
    add_prior_and_json(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from codec.controls import ControlError
    from codec.prior.safe_pickle import PriorFileError
    from codec.render import RendererUnavailableError
    from codec.threads import size_for_a_call
    from sender.capture import CaptureError
    from signaling.peer.client import SignalingError

    args = parse(sys.argv[1:] if argv is None else argv)
    size_for_a_call()
    errors = (CaptureError, PriorFileError, RendererUnavailableError, ControlError,
              SignalingError, OSError)
    code, summary = run_live("facecodec demo", run(args), errors)
    if summary is None:
        return code
    report(summary, args.json)
    return 0 if summary["frames_rendered"] else 1


async def run(args: argparse.Namespace) -> dict:
    from codec.prior.flame_io import load_prior
    from receiver.config import ReceiverConfig
    from sender.config import SenderConfig

    say = (lambda _m: None) if args.json else (lambda m: print(m, file=sys.stderr))
    model = load_prior(args.flame)
    renderer, edit = renderer_and_edit(args, model)
    source = open_source(args, model, camera_or_synthetic=True)
    pairs = SideBySide(args.out, source.fps) if args.out else None
    summary = await loopback_call(
        model, source,
        SenderConfig(encoder=encoder_config(args), frames_per_message=args.frames_per_message,
                     simulate_loss=args.simulate_loss, max_frames=args.frames),
        ReceiverConfig(), renderer,
        edit=edit, sinks=[pairs] if pairs else [], on_frame=pairs.input if pairs else None,
        say=say, http_port=args.http,
    )  # fmt: skip
    if pairs is not None:
        summary["out"] = str(args.out)
    return summary


async def loopback_call(model, source, sender_config, receiver_config, renderer, edit=None,
                        sinks=(), on_frame=None, say=print, http_port: int | None = None,
                        on_page=None, stop: asyncio.Event | None = None,
                        encoders=None) -> dict:
    """Signaling server, receiver and sender on 127.0.0.1 until the source or `max_frames`
    ends, or `stop` is set; returns the sender's and the receiver's figures in one dict.
    With `http_port` the receiver's page is served too (`on_page(port)` is called once it
    listens)."""
    from receiver.service import Receiver
    from receiver.web import BackgroundServer
    from sender.service import Sender
    from signaling.app import create_app
    from signaling.config import SignalingConfig
    from signaling.handshake import server_options
    from signaling.peer.client import SignalingClient, create_room

    signaling = SignalingConfig(secret=secrets.token_bytes(32))
    server = BackgroundServer(create_app(signaling), **server_options(signaling))
    base = f"http://127.0.0.1:{await server.start()}"
    try:
        room = await asyncio.to_thread(create_room, base)
        say(f"signaling on {base}, room {room['room']}; sending {source.name}")
        receiver = Receiver(
            model, renderer, receiver_config,
            SignalingClient(base, room["room"], room["receiver_token"]), list(sinks), edit,
            say=lambda m: say(f"receiver: {m}"), until_bye=True,
        )  # fmt: skip
        sender = Sender(
            model, source, sender_config,
            SignalingClient(base, room["room"], room["sender_token"]), on_frame=on_frame,
            say=lambda m: say(f"sender:   {m}"), encoders=encoders,
        )  # fmt: skip
        page = await _page(receiver, http_port, say, on_page) if http_port is not None else None
        receiving = asyncio.create_task(receiver.run())
        stopping = asyncio.create_task(_stop_when(stop, sender)) if stop else None
        try:
            sent = await sender.run()
            received = await asyncio.wait_for(receiving, 15)
        finally:
            receiving.cancel()
            if stopping is not None:
                stopping.cancel()
            if page is not None:
                await page.stop()
    finally:
        await server.stop()
    return {"source": source.name, **sent, **received}


async def _stop_when(event: asyncio.Event, sender) -> None:
    await event.wait()
    sender.stop()


async def _page(receiver, port: int, say, on_page):
    from receiver.web import PageServer

    page = PageServer(receiver, port=port)
    bound = await page.start()
    say(f"receiver page: http://127.0.0.1:{bound}/")
    if on_page is not None:
        on_page(bound)
    return page


class SideBySide:
    """Input crop | received frame, matched by frame number; a frame never received repeats
    the last received one, as a viewer would have seen it."""

    def __init__(self, path: Path, fps: float):
        from receiver.sinks import FileSink

        self.file = FileSink(path, fps)
        self.inputs: dict[int, np.ndarray] = {}
        self.lock = threading.Lock()
        self.last: np.ndarray | None = None

    def input(self, encoded) -> None:
        with self.lock:
            self.inputs[encoded.seq] = encoded.crop
            for old in [s for s in self.inputs if s < encoded.seq - 250]:
                del self.inputs[old]

    def new_stream(self, fps: float) -> None:
        self.file.new_stream(fps)

    def frame(self, seq: int, image: np.ndarray) -> None:
        start = self.file.next_seq if self.file.next_seq is not None else seq
        for s in range(start, seq + 1):
            shown = image if s == seq or self.last is None else self.last
            with self.lock:
                crop = self.inputs.pop(s, None)
            if crop is None:
                crop = np.zeros_like(shown)
            self.file.frame(s, np.hstack([crop, shown]))
        self.last = image

    def close(self) -> None:
        self.file.close()
