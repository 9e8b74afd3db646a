"""`facecodec bench live`: the real call on loopback, at 1, 2 and 4 frames per message.

Signaling server, sender and receiver in one process on 127.0.0.1, aiortc data channels over
real UDP sockets, a dev clip paced at its frame rate. Reports glass-to-glass latency (capture
timestamp to rendered frame, both on this host's clock), the wire bytes each frame costs
with the per-message transport overhead, and what the receiver rendered. Bundling frames
saves the 93-byte message overhead and costs up to (F-1) frame intervals of latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
from pathlib import Path

from benchmarks.rd import DEFAULT_VIDEOS

FIELDS = ("frames_per_message", "frames_sent", "frames_rendered", "payload_bytes_per_frame",
          "wire_bytes_per_frame", "latency_ms_p50", "latency_ms_p95", "receiver_fps",
          "encode_ms_p50", "render_ms_p50", "simulated_loss")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="facecodec bench live", description=__doc__.split("\n")[0])
    p.add_argument("--video", type=Path, default=DEFAULT_VIDEOS / "dagan_driving.mp4")
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--bundles", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--loss", type=float, nargs="+", default=[0.0],
                   help="simulated motion-message loss rates to run at each bundle size")
    p.add_argument("--out", type=Path, default=None, help="write results here (.json and .md)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    rows = [run_one(args.video, args.frames, f, loss) for loss in args.loss for f in args.bundles]
    table = markdown(rows, args)
    print(table)
    if args.out:
        args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
        args.out.with_suffix(".md").write_text(table + "\n")
    return 0


def run_one(video: Path, frames: int, bundle: int, loss: float) -> dict:
    from benchmarks.loopback import loopback_call
    from codec.prior.flame_io import load_prior
    from codec.render.meshwarp import MeshWarpRenderer
    from receiver.config import ReceiverConfig
    from sender.capture import FileSource
    from sender.config import SenderConfig

    model = load_prior()
    config = SenderConfig(frames_per_message=bundle, simulate_loss=loss, max_frames=frames)
    summary = asyncio.run(loopback_call(model, FileSource(video), config, ReceiverConfig(),
                                        MeshWarpRenderer(model), say=lambda _m: None))
    summary.update(frames_per_message=bundle, simulated_loss=loss)
    print(f"  {bundle} frame(s)/message, loss {loss:.0%}: latency p50 "
          f"{summary['latency_ms_p50']} ms", file=sys.stderr)
    return {k: summary.get(k) for k in FIELDS}


def markdown(rows: list[dict], args) -> str:
    head = (f"Loopback call, {args.video.name}, {args.frames} frames, keypoints mode K=16 N=20, "
            f"meshwarp receiver; {platform.processor() or platform.machine()}, "
            f"{_cores()} cores, Python {platform.python_version()}.\n\n"
            "| frames/message | loss | sent | rendered | payload B/frame | wire B/frame | "
            "latency p50 ms | latency p95 ms | receiver fps |\n" + "|---" * 9 + "|")
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r['frames_per_message']} | {r['simulated_loss']:.0%} | {r['frames_sent']} | "
            f"{r['frames_rendered']} | {r['payload_bytes_per_frame']} | "
            f"{r['wire_bytes_per_frame']} | {r['latency_ms_p50']} | {r['latency_ms_p95']} | "
            f"{r['receiver_fps']} |"
        )
    return "\n".join(lines)


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
