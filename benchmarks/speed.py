"""`facecodec bench speed`: where the milliseconds go, sender and receiver, per frame.

Sender: MediaPipe landmarks (with crop tracking), prior fit, motion quantization + packing.
Receiver: packet parsing + motion decode, and render per renderer. Medians with the 10th and
90th percentiles, one process, the machine named. End-to-end latency through real data
channels needs the live services (`facecodec demo`).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.rd import DEFAULT_VIDEOS


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="facecodec bench speed", description=__doc__.split("\n")[0])
    p.add_argument("--video", type=Path, default=DEFAULT_VIDEOS / "dagan_driving.mp4")
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)  # fmt: skip
    import cv2

    from bitstream import decode_packet, encode_packet
    from codec.config import EncoderConfig
    from codec.encoder import stream_hello
    from codec.motion import MotionCodec, reference_params, to_wire
    from codec.prior.face_track import FaceTrack
    from codec.prior.fitting import FaceFitter
    from codec.prior.flame_io import load_prior
    from codec.render.meshwarp import MeshWarpRenderer
    from codec.video import read_frames

    cv2.setNumThreads(1)
    model = load_prior(None)
    hello = stream_hello(model, EncoderConfig(), 25.0)
    codec = MotionCodec(model, hello)
    track, fitter, renderer = FaceTrack(), FaceFitter(model), MeshWarpRenderer(model)
    t = {k: [] for k in ("landmarks", "fit", "encode", "decode", "render_meshwarp")}
    ref = None
    for frame in read_frames(args.video, max_frames=args.frames):
        t0 = time.perf_counter()
        face = track(frame)
        t1 = time.perf_counter()
        if face is None or face.landmarks is None:
            continue
        params = fitter.fit(face.landmarks)
        t2 = time.perf_counter()
        if ref is None:
            ref = reference_params(to_wire(params), 256)
            renderer.set_reference(face.crop, ref)
        motion, _ = codec.encode(params, ref, 0, len(t["fit"]))
        data = encode_packet(motion, hello)
        t3 = time.perf_counter()
        state = codec.decode(decode_packet(data, hello), ref, 0)
        t4 = time.perf_counter()
        renderer.render(state)
        t5 = time.perf_counter()
        for key, a, b in (("landmarks", t0, t1), ("fit", t1, t2), ("encode", t2, t3),
                          ("decode", t3, t4), ("render_meshwarp", t4, t5)):  # fmt: skip
            t[key].append((b - a) * 1000)
    track.close()
    stats = {k: {"median_ms": float(np.median(v)), "p10_ms": float(np.percentile(v, 10)),
                 "p90_ms": float(np.percentile(v, 90))} for k, v in t.items() if v}  # fmt: skip
    print(f"{args.video.name}, {len(t['fit'])} frames; {platform.machine()} "
          f"{platform.processor() or ''}, {len(__import__('os').sched_getaffinity(0))} cores, "
          "OpenCV and BLAS on one thread")
    print("| stage | median ms | p10 ms | p90 ms |\n|---|---|---|---|")
    for k, s in stats.items():
        print(f"| {k} | {s['median_ms']:.2f} | {s['p10_ms']:.2f} | {s['p90_ms']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(stats, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
