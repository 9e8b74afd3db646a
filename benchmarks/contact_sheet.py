"""`facecodec bench sheet`: validation frames side by side, original | mesh warp | neural.

    facecodec bench sheet [--clips 6] [--frames 250] [--setting "params N=20"] [--out PNG]

For each held-out clip (never trained on), the same bitstream is decoded by both renderers;
the frame where the mesh warp is furthest from the original (mean absolute error) is shown,
so the sheet holds the hardest frames rather than easy ones. Each row is labelled with the
clip, the frame and each renderer's PSNR on it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np


def main(argv: list[str] | None = None) -> int:
    from benchmarks.metrics import psnr
    from benchmarks.rd import DEFAULT_VIDEOS, SourceClip, settings
    from codec.prior.build import list_clips
    from codec.prior.flame_io import load_prior
    from models.renderer import default_checkpoint

    p = argparse.ArgumentParser(prog="facecodec bench sheet", description=__doc__.split("\n")[0])
    p.add_argument("--videos", type=Path, default=DEFAULT_VIDEOS)
    p.add_argument("--clips", type=int, default=6, help="held-out clips, one row each")
    p.add_argument("--frames", type=int, default=250)
    grid = {name: params for system, name, params in settings(False, False)
            if system == "facecodec-meshwarp"}
    p.add_argument("--setting", choices=grid, default="params N=20",
                   help="a facecodec setting of bench rd (default: %(default)s)")
    p.add_argument("--checkpoint", default=None, help="neural checkpoint (default: shipped)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/validation/sheet.png"))
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    checkpoint = args.checkpoint or default_checkpoint()
    if checkpoint is None:
        print("facecodec bench sheet: no neural checkpoint", file=sys.stderr)
        return 2
    held = set(load_prior().meta.get("held_out_clips", []))
    clips = [c for c in list_clips(args.videos) if c.name in held][: args.clips]
    rows = []
    for clip in clips:
        source = SourceClip(clip.path, args.frames, None)
        mesh, _, _ = source.facecodec(grid[args.setting])
        neural, _, _ = source.facecodec({**grid[args.setting], "checkpoint": str(checkpoint)})
        err = np.abs(mesh.astype(np.float32) - source.crops.astype(np.float32)).mean((1, 2, 3))
        i = int(np.argmax(err))
        images = (source.crops[i], mesh[i], neural[i])
        labels = (f"{clip.name} #{i}", f"mesh warp {psnr(images[0], images[1]):.1f} dB",
                  f"neural {psnr(images[0], images[2]):.1f} dB")
        rows.append(np.hstack([_label(im, t) for im, t in zip(images, labels, strict=True)]))
        print(f"{clip.name}: frame {i}, {labels[1]}, {labels[2]}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out}")
    return 0


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 18), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                cv2.LINE_AA)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
