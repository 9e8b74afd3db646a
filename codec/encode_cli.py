"""`facecodec encode`: a face video -> a .fcs bitstream file, with its byte figures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from codec.cli_common import add_encoder_options, add_prior_and_json, encoder_config, report
from codec.wire import TRANSPORT_OVERHEAD


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="facecodec encode",
        description="Encode the face in a video into a .fcs file: one reference picture "
        "(refreshed when the head turns far), then a few dozen bytes of motion per frame.",
    )
    p.add_argument("video", type=Path, help="input video file")
    p.add_argument("output", type=Path, help="output .fcs file")
    add_encoder_options(p)
    p.add_argument("--frames", type=int, default=None, help="stop after N frames")
    add_prior_and_json(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from codec.prior.safe_pickle import PriorFileError
    from codec.video import VideoError

    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        summary = run(args)
    except (VideoError, PriorFileError, ValueError, OSError) as exc:
        print(f"facecodec encode: {exc}", file=sys.stderr)
        return 2
    if summary["frames_with_face"] == 0:
        args.output.unlink(missing_ok=True)
        print(f"facecodec encode: no face found in {args.video}", file=sys.stderr)
        return 1
    report(summary, args.json)
    return 0


def run(args: argparse.Namespace) -> dict:
    from tqdm import tqdm

    from bitstream import FcsWriter
    from codec.encoder import Encoder
    from codec.prior.flame_io import load_prior
    from codec.video import read_frames, video_fps, video_frame_count

    config = encoder_config(args)
    model = load_prior(args.flame)
    fps = video_fps(args.video)
    total = video_frame_count(args.video) or None
    if args.frames:
        total = min(total or args.frames, args.frames)
    encoder = Encoder(model, config, fps)
    motion, refs, times, frames = [], [], [], 0
    with FcsWriter(args.output) as out:
        for packet in encoder.start():
            out.write(packet)
        hello_bytes = out.bytes
        for frame in tqdm(read_frames(args.video, max_frames=args.frames), total=total,
                          desc="encoding", unit="frame", disable=args.json):  # fmt: skip
            result = encoder.encode(frame)
            frames += 1
            for packet in result.packets:
                out.write(packet)
            times.append(result.encode_ms)
            if result.motion_bytes:
                motion.append(result.motion_bytes)
            if result.reference_bytes:
                refs.append(result.reference_bytes)
        for packet in encoder.finish():
            out.write(packet)
    payload = float(np.mean(motion)) if motion else 0.0
    return {
        "frames": frames,
        "frames_with_face": len(motion),
        "mode": args.mode,
        "keypoints": encoder.hello.keypoints,
        "expr_dims": encoder.hello.expr_dims,
        "payload_bytes_per_frame": round(payload, 2),
        "wire_bytes_per_frame": round(payload + TRANSPORT_OVERHEAD, 2) if motion else 0.0,
        "references": encoder.references_sent,
        "bank_pictures": encoder.bank_pictures_sent,
        "reference_bytes": int(sum(refs)),  # base and bank pictures
        "reference_bytes_per_frame": round(sum(refs) / max(frames, 1), 2),
        "hello_bytes": hello_bytes,
        "file_bytes": args.output.stat().st_size,
        "encode_ms_median": round(float(np.median(times)), 2) if times else None,
        "fps": round(fps, 3),
    }


if __name__ == "__main__":
    raise SystemExit(main())
