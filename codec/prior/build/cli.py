"""`facecodec build-prior`: build the FLAME-format built-in prior from a folder of face videos."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from codec.prior.build.prior import (
    BuildConfig,
    build_prior,
    clip_landmarks,
    file_sha256,
    split_people,
)
from codec.prior.flame_io import BUILTIN_PRIOR, save_builtin
from codec.video import list_clips


def parse(argv: list[str]) -> argparse.Namespace:
    d = BuildConfig()
    p = argparse.ArgumentParser(
        prog="facecodec build-prior",
        description="Fit a FLAME-format face prior (mean shape, identity basis, expression "
        "basis ordered by variance, jaw joint, iBUG-68 embedding) on MediaPipe's 478-point "
        "topology from real face videos. Same input, same machine -> same file, byte for byte.",
    )
    p.add_argument("--videos", type=Path, required=True, help="folder of face videos")
    p.add_argument(
        "--out", type=Path, default=BUILTIN_PRIOR, help="output .npz (default: %(default)s)"
    )
    p.add_argument(
        "--frames-per-clip",
        type=int,
        default=d.frames_per_clip,
        help="frames sampled evenly per clip (default: %(default)s)",
    )
    p.add_argument(
        "--expr-dims",
        type=int,
        default=d.n_expr,
        help="expression dims kept (default: %(default)s)",
    )
    p.add_argument(
        "--shape-dims",
        type=int,
        default=d.n_shape,
        help="identity dims kept (default: %(default)s)",
    )
    p.add_argument(
        "--holdout",
        type=float,
        default=d.holdout_fraction,
        help="fraction of people held out of the build (default: %(default)s)",
    )
    p.add_argument(
        "--seed", type=int, default=d.seed, help="seed of the hold-out split (default: %(default)s)"
    )
    p.add_argument("--cache", type=Path, default=None, help="folder to cache per-clip landmarks in")
    return p.parse_args(argv)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if not args.videos.is_dir():
        print(f"facecodec build-prior: no such folder: {args.videos}", file=sys.stderr)
        return 2
    config = BuildConfig(
        frames_per_clip=args.frames_per_clip, n_expr=args.expr_dims, n_shape=args.shape_dims,
        holdout_fraction=args.holdout, seed=args.seed,
    )  # fmt: skip
    clips = list_clips(args.videos)
    train, held = split_people(clips, config)
    if len({c.person for c in train}) < 2:
        print("facecodec build-prior: need videos of at least two people", file=sys.stderr)
        return 2
    from tqdm import tqdm

    shapes = {}
    for clip in tqdm(train, desc="landmarks", unit="clip"):
        shapes[clip] = clip_landmarks(clip, config, args.cache)
    model = build_prior(shapes, config)
    model.meta["held_out_clips"] = [c.name for c in held]
    save_builtin(model, args.out)
    report = _report(model, args.out)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    return 0


def _report(model, out: Path) -> dict:
    meta = model.meta
    ratio = np.array(meta["expr_explained"])
    print(f"built {out} from {len(meta['clips'])} clips, {meta['people']} people, "
          f"{meta['frames']} frames; held out {len(meta['held_out_clips'])} clips")  # fmt: skip
    print(f"identity dims: {model.n_shape}, explaining {sum(meta['shape_explained']):.1%}")
    print(f"expression dims: {model.n_expr}; variance explained per dim (cumulative):")
    for i in range(0, len(ratio), 8):
        row = "  ".join(
            f"{r:6.2%}({c:5.1%})"
            for r, c in zip(ratio[i : i + 8], np.cumsum(ratio)[i : i + 8], strict=True)
        )
        print(f"  {i + 1:>3}: {row}")
    jaw = meta["jaw_angle_deg"]
    print(f"jaw opening (deg) p5 {jaw['p5']:.1f}  median {jaw['p50']:.1f}  p95 {jaw['p95']:.1f}")
    sha = file_sha256(out)
    print(f"size {out.stat().st_size / 1024:.0f} KiB  sha256 {sha}  prior id {model.prior_id}")
    return {**meta, "sha256": sha, "prior_id": model.prior_id}


if __name__ == "__main__":
    raise SystemExit(main())
