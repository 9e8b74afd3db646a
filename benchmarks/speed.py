"""`facecodec bench speed`: where the milliseconds go, sender and receiver, per frame.

Sender: face-mesh landmarks (MediaPipe's models on onnxruntime, with crop tracking), the
landmarks moved onto the optical flow from the reference crop, prior fit, the reference
bank's look at the frame, motion quantization + packing, the background's follow (searched
every 4th frame, so its mean counts, not its median); beside it, for scale, low-delay
SVT-AV1 coding and decoding the same crops at 16 kbps (one thread, per frame). As in the
Encoder, the reference flows start on a crop while the face mesh looks at it when no second
look runs beside it, so the landmark stage's time then includes them running on the other core
and the flow stage is what is left of them; the background's work that needs no fit (`look`)
runs before that wait, and counts in the background's time.
Receiver: packet parsing + motion decode, and render per renderer (`--checkpoint` adds the
neural one, on CUDA when present). Then the loopback call through real data channels
(`benchmarks/live.py`, one frame per message): capture-to-render latency. Medians with the
10th and 90th percentiles (latency: median and 95th), and each stage's mean CPU time over all
threads (what a busy laptop pays; the helper threads hide in wall time on an idle machine),
one process, the machine named.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks.rd import DEFAULT_VIDEOS

SENDER = ("landmarks", "flow", "fit", "bank", "encode")  # and the background's mean


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="facecodec bench speed", description=__doc__.split("\n")[0])
    p.add_argument("--video", type=Path, default=DEFAULT_VIDEOS / "dagan_driving.mp4")
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--checkpoint", default=None, help="also time the neural renderer")
    p.add_argument("--neural-threads", nargs="+", type=int, default=None, metavar="N",
                   help="torch threads for the neural renderer, one row each (default: "
                   "torch's own choice)")
    p.add_argument("--no-live", action="store_true", help="skip the loopback call")
    p.add_argument("--landmark-looks", type=int, choices=(1, 2), default=2,
                   help="looks per crop (1: what a busy sender does; default: 2)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)  # fmt: skip
    import cv2

    from bitstream import decode_packet, encode_packet
    from codec.background import BackgroundChooser
    from codec.bank import BankPlanner, face_state
    from codec.config import EncoderConfig
    from codec.driving import STILL_VIEW
    from codec.encoder import stream_hello
    from codec.motion import MotionCodec, reference_params, to_wire
    from codec.prior.face_track import FaceTrack
    from codec.prior.fitting import FaceFitter
    from codec.prior.flame_io import load_prior
    from codec.prior.params import landmarks_in_crop
    from codec.prior.reference_flow import ReferenceFlow
    from codec.render.meshwarp import MeshWarpRenderer
    from codec.video import read_frames

    cv2.setNumThreads(1)
    model = load_prior(None)
    hello = stream_hello(model, EncoderConfig(), 25.0)
    codec = MotionCodec(model, hello)
    track = FaceTrack(second_look=args.landmark_looks == 2)
    fitter, renderer = FaceFitter(model), MeshWarpRenderer(model)
    flow = ReferenceFlow()
    bank = BankPlanner(EncoderConfig().bank, 25.0)
    background = BackgroundChooser(model)
    t = {k: [] for k in ("landmarks", "flow", "fit", "bank", "encode", "background", "decode",
                         "render_meshwarp")}  # fmt: skip
    cpu: dict[str, list[float]] = {k: [] for k in t}
    ref, states, ref_crop, crops, near = None, [], None, [], None
    for frame in read_frames(args.video, max_frames=args.frames):
        t0 = _now()
        face = track(frame, partial(flow.begin, near=near))  # as the Encoder does
        t1 = _now()
        if face is None or face.landmarks is None:
            continue
        if ref is not None:  # as the Encoder does, while the flows run
            background.look(len(t["fit"]), face.crop, STILL_VIEW, face.landmarks)
        t_look = _now()
        landmarks = flow(face.crop, face.landmarks)
        near = face.landmarks
        t_flow = _now()
        params = fitter.fit(landmarks)
        t2 = _now()
        if ref is None:
            ref = reference_params(to_wire(params), 256)
            renderer.set_reference(face.crop, ref)
            flow.set_reference(face.crop, landmarks)
            ref_crop = face.crop
            background.set_reference(face.crop, ref)
            bank.set_base(face_state(landmarks_in_crop(model, ref)))
        lm68 = landmarks_in_crop(model, params)
        bank.update(len(t["fit"]), face_state(lm68), face.crop, lm68, params)
        t_bank = _now()
        crops.append(face.crop)
        motion, sent = codec.encode(params, ref, 0, len(t["fit"]))
        data = encode_packet(motion, hello)
        t3 = _now()
        background(len(t["fit"]), face.crop, sent, landmarks)
        t_bg = _now()
        state = codec.decode(decode_packet(data, hello), ref, 0)
        t4 = _now()
        renderer.render(state)
        t5 = _now()
        states.append(state)
        looked = ((t_look[0] - t1[0]) * 1000, (t_look[1] - t1[1]) * 1000)
        for key, a, b in (("landmarks", t0, t1), ("flow", t_look, t_flow), ("fit", t_flow, t2),
                          ("bank", t2, t_bank), ("encode", t_bank, t3),
                          ("background", t3, t_bg), ("decode", t_bg, t4),
                          ("render_meshwarp", t4, t5)):  # fmt: skip
            extra = looked if key == "background" else (0.0, 0.0)
            t[key].append((b[0] - a[0]) * 1000 + extra[0])
            cpu[key].append((b[1] - a[1]) * 1000 + extra[1])
    track.close()
    flow.close()
    if args.checkpoint and states:
        for n in args.neural_threads or [0]:
            key = f"render_neural_{n}_threads" if n else "render_neural"
            t[key] = _time_neural(model, args.checkpoint, ref_crop, ref, states, n)
    stats = {k: {"median_ms": float(np.median(v)), "mean_ms": float(np.mean(v)),
                 "p10_ms": float(np.percentile(v, 10)), "p90_ms": float(np.percentile(v, 90))}
             for k, v in t.items() if v}  # fmt: skip
    for k, v in cpu.items():
        if v:
            stats[k]["cpu_mean_ms"] = float(np.mean(v))
    sender = sum(stats[k]["median_ms"] for k in SENDER)
    sender += stats["background"]["mean_ms"] if "background" in stats else 0.0
    sender_cpu = sum(stats[k].get("cpu_mean_ms", 0.0) for k in (*SENDER, "background"))
    # each frame's whole sender: a stage's median hides the frames where it runs long
    # (the flows after a second look), its mean does not
    frames = np.sum([t[k] for k in (*SENDER, "background")], axis=0) if t["fit"] else None
    av1, av1_cpu = _time_av1(np.stack(crops)) if crops else (None, None)
    print(f"{args.video.name}, {len(t['fit'])} frames; {platform.machine()} "
          f"{platform.processor() or ''}, {len(__import__('os').sched_getaffinity(0))} cores, "
          "OpenCV and BLAS on one thread")
    print("| stage | median ms | mean ms | p10 ms | p90 ms | CPU ms (mean, all threads) |\n"
          "|---|---|---|---|---|---|")
    for k, s in stats.items():
        cpu_ms = f"{s['cpu_mean_ms']:.2f}" if "cpu_mean_ms" in s else ""
        print(f"| {k} | {s['median_ms']:.2f} | {s['mean_ms']:.2f} | {s['p10_ms']:.2f} | "
              f"{s['p90_ms']:.2f} | {cpu_ms} |")
    stats["sender_total"] = {"median_ms": sender, "cpu_mean_ms": sender_cpu}
    print(f"| sender, all stages (medians; the background's mean) | {sender:.2f} | | | | "
          f"{sender_cpu:.2f} |")
    if frames is not None:
        stats["sender_frame"] = {"median_ms": float(np.median(frames)),
                                 "mean_ms": float(np.mean(frames))}
        print(f"| sender, whole frames | {np.median(frames):.2f} | {np.mean(frames):.2f} | "
              f"{np.percentile(frames, 10):.2f} | {np.percentile(frames, 90):.2f} | |")
    if av1 is not None:
        stats["av1_low_delay_16kbps"] = {"mean_ms": av1, "cpu_mean_ms": av1_cpu}
        print(f"| SVT-AV1 low delay, 16 kbps, encode + decode (mean) | | {av1:.2f} | | | "
              f"{av1_cpu:.2f} |")
        whole = f"; whole frames' mean: {np.mean(frames) / av1:.1f}×" if frames is not None else ""
        print(f"sender / AV1: {sender / av1:.1f}× (CPU time: {sender_cpu / av1_cpu:.1f}×{whole})")
    if not args.no_live:
        from benchmarks.live import run_one

        live = run_one(args.video, args.frames, 1, 0.0)
        stats["loopback_latency"] = {"median_ms": live["latency_ms_p50"],
                                     "p95_ms": live["latency_ms_p95"]}
        print(f"| loopback latency, capture to render | {live['latency_ms_p50']:.2f} | | | "
              f"p95 {live['latency_ms_p95']:.2f} | |")
    if args.json:
        args.json.write_text(json.dumps(stats, indent=1) + "\n")
    return 0


def _now() -> tuple[float, float]:
    """Wall and process CPU seconds: the sender's helper threads (the second landmark look,
    the backward flow) hide in the wall time on an idle machine, not in the CPU time."""
    return time.perf_counter(), time.process_time()


def _time_av1(crops: np.ndarray) -> tuple[float, float]:
    """Mean wall and CPU ms per frame for low-delay SVT-AV1 to code and decode the same crops."""
    from benchmarks.classical import encode_decode

    start = _now()
    encode_decode(crops, "av1", 16)
    end = _now()
    return (end[0] - start[0]) * 1000 / len(crops), (end[1] - start[1]) * 1000 / len(crops)


def _time_neural(model, checkpoint, crop, ref, states, threads: int = 0) -> list[float]:
    """The whole neural renderer a frame: mesh warp and map, network, picture out."""
    import torch

    from models.renderer import NeuralRenderer

    if threads:
        torch.set_num_threads(threads)
    neural = NeuralRenderer(model, checkpoint)
    neural.set_reference(crop, ref)
    times = []
    for state in states:
        t = time.perf_counter()
        neural.render(state)
        times.append((time.perf_counter() - t) * 1000)
    return times[3:] or times  # the first calls warm up


if __name__ == "__main__":
    raise SystemExit(main())
