"""Reference picture coding: bytes and PSNR per codec and quality, on each clip's first crop.

    python -m benchmarks.reference_picture [--videos DIR] [--qualities 30 50 70] [--json F]

The reference is the receiver's only picture of the person, and over a short call it costs
more bytes than all the motion, so the codec is chosen on bytes at equal quality.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks.data import DEV_CLIPS as DEFAULT_VIDEOS


def first_crop(path: Path) -> np.ndarray | None:
    from codec.prior.face_track import FaceTrack
    from codec.video import read_frames

    track = FaceTrack()
    try:
        for frame in read_frames(path, max_frames=10):
            face = track(frame)
            if face is not None and face.landmarks is not None:
                return face.crop
    finally:
        track.close()
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.reference_picture",
                                description=__doc__.split("\n")[0])
    p.add_argument("--videos", type=Path, default=DEFAULT_VIDEOS)
    p.add_argument("--qualities", type=int, nargs="+", default=[30, 50, 70])
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)  # fmt: skip
    from tqdm import tqdm

    from benchmarks.metrics import psnr
    from codec.picture import CODECS, decode_picture, encode_picture
    from codec.video import list_clips

    results: dict[str, list] = {}
    for clip in tqdm(list_clips(args.videos)[: args.limit], desc="clips", unit="clip"):
        crop = first_crop(clip.path)
        if crop is None:
            continue
        for codec in CODECS:
            for q in args.qualities:
                data = encode_picture(crop, codec, q)
                out = decode_picture(data, codec, crop.shape[0])
                results.setdefault(f"{codec} q{q}", []).append((len(data), psnr(crop, out)))
    n = len(next(iter(results.values()), []))
    print(f"{n} clips, 256² first face crop\n")
    print("| codec | quality | mean bytes | median bytes | mean PSNR dB |\n|---|---|---|---|---|")
    for key, vals in results.items():
        b, q = np.array(vals).T
        codec, quality = key.split(" q")
        print(f"| {codec} | {quality} | {b.mean():.0f} | {np.median(b):.0f} | {q.mean():.2f} |")
    if args.json:
        args.json.write_text(json.dumps(results) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
