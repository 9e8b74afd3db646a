"""One side of a live call as its own process, for calls across network namespaces
(`bench network`, tests/test_network.py): it runs the real Sender or Receiver and writes
what it did as JSON, including every frame's decoded state, so the two sides can be
compared frame by frame afterwards.

    python -m benchmarks.live_peer send BASE ROOM TOKEN OUT.json --frames N [--video F]
    python -m benchmarks.live_peer receive BASE ROOM TOKEN OUT.json [--images OUT.npz]
    (both take --ice-server S)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import numpy as np

from codec.render.meshwarp import MeshWarpRenderer


class Recording(MeshWarpRenderer):
    """The mesh warp renderer, keeping every DrivingState it was asked to render, in order."""

    def __init__(self, model):
        super().__init__(model)
        self.order: list[int] = []
        self.states: dict = {}

    def render(self, driving):
        self.order.append(driving.seq)
        self.states[driving.seq] = driving
        return super().render(driving)


class Shown:
    """A sink that keeps every rendered picture by frame number, and when it was shown."""

    def __init__(self):
        self.images: dict[int, np.ndarray] = {}
        self.times: dict[int, float] = {}

    def new_stream(self, fps: float) -> None:
        pass

    def frame(self, seq: int, image: np.ndarray) -> None:
        self.images[seq] = image
        self.times[seq] = time.time()

    def close(self) -> None:
        pass


def state_vector(state) -> list[float]:
    """What must match on both sides: ψ, every joint's rotation, scale and translation."""
    p = state.params
    values = np.concatenate([p.psi, p.pose.reshape(-1), [p.scale], p.trans])
    return [round(float(v), 6) for v in values]


async def _send(args, model) -> dict:
    from codec.config import EncoderConfig
    from codec.prior.reference_flow import FlowConfig
    from sender.capture import FileSource, SyntheticSource
    from sender.config import SenderConfig
    from sender.service import Sender
    from signaling.peer.client import SignalingClient
    from signaling.peer.ice import parse_ice_server

    states: dict[int, list[float]] = {}
    sent: dict[int, float] = {}
    crops: dict[int, np.ndarray] = {}

    def keep(e) -> None:
        sent[e.seq] = time.time() - e.encode_ms / 1000  # when the frame was captured
        if args.crops:
            crops[e.seq] = e.crop
        if e.decoded is not None:
            states[e.seq] = state_vector(e.decoded)

    config = SenderConfig(max_frames=args.frames, frames_per_message=args.frames_per_message,
                          ice_servers=tuple(parse_ice_server(s) for s in args.ice_server),
                          encoder=EncoderConfig(landmark_looks=args.landmark_looks,
                                                flow=FlowConfig(weight=args.flow_weight)))
    source = FileSource(args.video, loop=True) if args.video else SyntheticSource(model)
    sender = Sender(model, source, config,
                    SignalingClient(args.base, args.room, args.token),
                    on_frame=keep, say=lambda m: print(m, flush=True))
    summary = await sender.run()
    if args.crops and crops:
        np.savez(args.crops, crops=np.stack([crops[s] for s in sorted(crops)]))
    return {"summary": summary, "states": states, "sent": sent}


async def _receive(args, model) -> dict:
    from receiver.config import ReceiverConfig
    from receiver.service import Receiver
    from signaling.peer.client import SignalingClient
    from signaling.peer.ice import parse_ice_server

    rec = Recording(model)
    config = ReceiverConfig(ice_servers=tuple(parse_ice_server(s) for s in args.ice_server))
    shown = Shown()
    receiver = Receiver(model, rec, config, SignalingClient(args.base, args.room, args.token),
                        [shown] if args.images else [], say=lambda m: print(m, flush=True),
                        until_bye=True)
    start = time.monotonic()
    summary = await receiver.run()
    first = receiver.stats.first_render
    summary["first_frame_s"] = round(first - start, 3) if first else None
    if args.images and shown.images:
        seqs = sorted(shown.images)
        np.savez(args.images, seqs=np.array(seqs), images=np.stack([shown.images[s] for s in seqs]))
    return {"summary": summary, "states": {s: state_vector(rec.states[s]) for s in rec.order},
            "received": shown.times}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.live_peer")
    p.add_argument("role", choices=("send", "receive"))
    p.add_argument("base")
    p.add_argument("room")
    p.add_argument("token")
    p.add_argument("out")
    p.add_argument("--frames", type=int, default=250)
    p.add_argument("--ice-server", action="append", default=[])
    p.add_argument("--frames-per-message", type=int, default=1)
    p.add_argument("--video", default=None, help="send: this file instead of the synthetic head")
    p.add_argument("--images", default=None, help="receive: keep the rendered pictures here")
    p.add_argument("--crops", default=None, help="send: keep the sent crops here")
    # One landmark look and no reference flow by default: these runs measure the network, and
    # both peers, the signaling server and the relay share this machine's cores with whatever
    # else runs.
    p.add_argument("--landmark-looks", type=int, choices=(1, 2), default=1)
    p.add_argument("--flow-weight", type=float, default=0.0)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    from codec.prior.flame_io import load_prior

    model = load_prior()
    run = _send if args.role == "send" else _receive
    result = asyncio.run(run(args, model))
    with open(args.out, "w") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
