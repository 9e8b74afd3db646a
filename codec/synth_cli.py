"""`facecodec synth`: write the built-in synthetic talking head and its ground truth."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="facecodec synth",
        description="Render a talking head from the built-in prior alone (no camera, no data) "
        "and write it as a video, with its true parameters in an .npz beside it.",
    )
    p.add_argument("output", type=Path, help="output video file (.mp4)")
    p.add_argument("--seconds", type=float, default=6.0, help="length (default: %(default)s)")
    p.add_argument("--size", type=int, default=320, help="frame side (default: %(default)s)")
    p.add_argument("--fps", type=float, default=25.0, help="frame rate (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="motion seed (default: %(default)s)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if not 0 < args.seconds <= 600 or not 64 <= args.size <= 2048:
        print("facecodec synth: --seconds must be 0..600 and --size 64..2048", file=sys.stderr)
        return 2
    from codec.prior.flame_io import load_prior
    from codec.synthetic import SyntheticConfig, make_clip, save_clip
    from codec.video import VideoError

    config = SyntheticConfig(size=args.size, fps=args.fps, seconds=args.seconds, seed=args.seed)
    try:
        save_clip(make_clip(load_prior(None), config), args.output, args.fps)
    except VideoError as exc:
        print(f"facecodec synth: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output} and {args.output.with_suffix('.npz')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
