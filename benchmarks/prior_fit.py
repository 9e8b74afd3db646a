"""Prior-fit benchmark: reprojection error per clip for N expression dims, and fit speed.

    python -m benchmarks.prior_fit [--videos DIR] [--frames 150] [--dims 5 10 20 50] [--json F]

Landmarks come from MediaPipe on the codec's 256² crop (cached with --cache); the fit time
excludes MediaPipe. Clips the built-in prior was built from are marked 'train', the rest
'held-out', so the table shows how the prior does on faces it never saw.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np

from benchmarks.data import DEV_CLIPS as DEFAULT_VIDEOS


def parse(argv):
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.prior_fit", description=__doc__.split("\n")[0]
    )
    p.add_argument(
        "--videos",
        type=Path,
        default=DEFAULT_VIDEOS,
        help="folder of face videos (default: %(default)s)",
    )
    p.add_argument(
        "--frames",
        type=int,
        default=150,
        help="frames per clip, evenly spaced (default: %(default)s)",
    )
    p.add_argument(
        "--dims", type=int, nargs="+", default=[5, 10, 20, 50], help="expression dims to compare"
    )
    p.add_argument("--flame", default=None, help="FLAME model file (default: the built-in prior)")
    p.add_argument("--cache", type=Path, default=None, help="folder to cache per-clip landmarks in")
    p.add_argument("--limit", type=int, default=None, help="only the first N clips")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    return p.parse_args(argv)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    from tqdm import tqdm

    from codec.prior.build.prior import BuildConfig, clip_landmarks
    from codec.prior.evaluate import fit_track
    from codec.prior.flame_io import load_prior
    from codec.video import list_clips

    if not args.videos.is_dir():
        print(f"prior_fit: no such folder: {args.videos}", file=sys.stderr)
        return 2
    model = load_prior(args.flame)
    trained = set(model.meta.get("clips", []))
    rows = []
    for clip in tqdm(list_clips(args.videos)[: args.limit], desc="clips", unit="clip"):
        lm = clip_landmarks(clip, BuildConfig(frames_per_clip=args.frames), args.cache)
        if len(lm) < 2:
            rows.append({"clip": clip.name, "frames": len(lm), "error": "no face found"})
            continue
        fits = {n: fit_track(model, lm, n) for n in args.dims}
        rows.append({
            "clip": clip.name,
            "split": "train" if clip.name in trained else "held-out",
            "frames": len(lm),
            "error_px": {n: float(f.error_px.mean()) for n, f in fits.items()},
            "fit_ms_median": float(np.median(np.concatenate([f.fit_ms[1:] for f in fits.values()]))),  # noqa: E501
        })  # fmt: skip
    print_table(rows, args.dims, model.name)
    if args.json:
        args.json.write_text(json.dumps({"prior": model.name, "rows": rows}, indent=1) + "\n")
    return 0


def print_table(rows, dims, prior_name):
    ok = [r for r in rows if "error_px" in r]
    head = "| clip | split | frames | " + " | ".join(f"N={n} px" for n in dims) + " | fit ms |"
    print(f"\nprior: {prior_name}; machine: {platform.machine()} {platform.processor() or ''}")
    print(head)
    print("|" + "---|" * (4 + len(dims)))
    for r in rows:
        if "error_px" not in r:
            print(f"| {r['clip']} | - | {r['frames']} | {r['error']} |")
            continue
        errs = " | ".join(f"{r['error_px'][n]:.3f}" for n in dims)
        print(f"| {r['clip']} | {r['split']} | {r['frames']} | {errs} | {r['fit_ms_median']:.2f} |")
    for split in ("train", "held-out", None):
        sel = [r for r in ok if split is None or r["split"] == split]
        if not sel:
            continue
        errs = " | ".join(f"{np.mean([r['error_px'][n] for r in sel]):.3f}" for n in dims)
        ms = np.median([r["fit_ms_median"] for r in sel])
        print(f"| **mean {split or 'all'}** ({len(sel)} clips) | | | {errs} | {ms:.2f} |")


if __name__ == "__main__":
    raise SystemExit(main())
