"""`facecodec bench sheet`: validation frames side by side, original | mesh warp | neural;
with `--before-after`, original | before | after for the sender's face fit; with `--bank`,
original | one reference | reference bank; with `--background`, original | the background's
fixed follow | the follow the sender fitted (all three by the mesh warp).

    facecodec bench sheet [--clips 6] [--frames 250] [--setting "params N=20"] [--out PNG]
    facecodec bench sheet --before-after [--out benchmarks/results/validation/fit_sheet.jpg]
    facecodec bench sheet --bank [--out benchmarks/results/bank/sheet.jpg]
    facecodec bench sheet --background [--out benchmarks/results/background/sheet.jpg]

For each held-out clip (never trained on), the same bitstream is decoded by both renderers;
the frame where the mesh warp is furthest from the original (mean absolute error) is shown,
so the sheet holds the hardest frames rather than easy ones. Each row is labelled with the
clip, the frame and each picture's PSNR.

`--before-after` compares two senders, both drawn by the mesh warp: before, one without the
fit's refinements (eyes not fitted, so copied from the reference; the tracked MediaPipe look
alone, fitted as it comes); after, the default sender (gaze, two looks, landmarks moved onto
the optical flow from the reference). Shown is the frame where before is furthest from the
original.
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

    p = argparse.ArgumentParser(prog="facecodec bench sheet", description=__doc__.split("\n")[0])
    p.add_argument("--videos", type=Path, default=DEFAULT_VIDEOS)
    p.add_argument("--clips", type=int, default=6, help="held-out clips, one row each")
    p.add_argument("--frames", type=int, default=250)
    grid = {name: params for system, name, params in settings(False, False)
            if system == "facecodec-meshwarp"}
    p.add_argument("--setting", choices=grid, default="params N=20",
                   help="a facecodec setting of bench rd (default: %(default)s)")
    p.add_argument("--checkpoint", default=None, help="neural checkpoint (default: shipped)")
    p.add_argument("--before-after", action="store_true",
                   help="original | before | after for the sender's fit (mesh warp), instead "
                   "of original | mesh warp | neural")
    p.add_argument("--bank", action="store_true",
                   help="original | one reference | reference bank (mesh warp), instead")
    p.add_argument("--background", action="store_true",
                   help="original | fixed background follow | fitted follow (mesh warp), "
                   "instead")
    p.add_argument("--out", type=Path, default=None,
                   help="picture file, .png or .jpg (default: sheet.png, or fit_sheet.jpg "
                   "with --before-after, in benchmarks/results/validation; "
                   "benchmarks/results/bank/sheet.jpg with --bank, "
                   "benchmarks/results/background/sheet.jpg with --background)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    folder = Path("benchmarks/results/validation")
    default = folder / ("fit_sheet.jpg" if args.before_after else "sheet.png")
    if args.bank or args.background:
        default = Path(f"benchmarks/results/{'bank' if args.bank else 'background'}/sheet.jpg")
    args.out = args.out or default
    if args.background:
        return _write(args.out, [_background_row(SourceClip(c.path, args.frames, None), c.name,
                                                 grid[args.setting])
                                 for c in _held_out(args.videos, args.clips)])  # fmt: skip
    if args.bank:
        rows = [r for c in _held_out(args.videos, args.clips)
                for r in _bank_rows(SourceClip(c.path, args.frames, None), c.name,
                                    grid[args.setting])]  # fmt: skip
        return _write(args.out, rows)
    if args.before_after:
        return _write(args.out, [_before_after_row(c, args.frames, grid[args.setting])
                                 for c in _held_out(args.videos, args.clips)])
    from models.renderer import default_checkpoint

    checkpoint = args.checkpoint or default_checkpoint()
    if checkpoint is None:
        print("facecodec bench sheet: no neural checkpoint", file=sys.stderr)
        return 2
    rows = []
    for clip in _held_out(args.videos, args.clips):
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
    return _write(args.out, rows)


def _held_out(videos: Path, count: int) -> list:
    from codec.prior.flame_io import load_prior
    from codec.video import list_clips

    held = set(load_prior().meta.get("held_out_clips", []))
    return [c for c in list_clips(videos) if c.name in held][:count]


def _write(out: Path, rows: list[np.ndarray]) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    print(f"wrote {out}")
    return 0


def _before_after_row(clip, frames: int, params: dict) -> np.ndarray:
    from dataclasses import replace

    from benchmarks.metrics import psnr
    from codec.config import EncoderConfig
    from codec.prior.reference_flow import FlowConfig
    from codec.video import read_frames, video_fps

    pictures = list(read_frames(clip.path, max_frames=frames))
    fps = video_fps(clip.path)
    after = EncoderConfig(**params)
    before = replace(after, landmark_looks=1, fit=replace(after.fit, fit_gaze=False),
                     flow=FlowConfig(weight=0.0))
    crops_b, shown_b = _mesh_warp_call(pictures, before, fps)
    crops_a, shown_a = _mesh_warp_call(pictures, after, fps)
    err = np.abs(shown_b.astype(np.float32) - crops_b.astype(np.float32)).mean((1, 2, 3))
    i = int(np.argmax(err))
    images = (crops_a[i], shown_b[i], shown_a[i])
    labels = (f"{clip.name} #{i}", f"before {psnr(crops_b[i], shown_b[i]):.1f} dB",
              f"after {psnr(crops_a[i], shown_a[i]):.1f} dB")
    print(f"{clip.name}: frame {i}, {labels[1]}, {labels[2]}", flush=True)
    return np.hstack([_label(im, t) for im, t in zip(images, labels, strict=True)])


def _background_row(source, name: str, params: dict) -> np.ndarray:
    """The frame where fitting the background's follow changed the picture most."""
    from benchmarks.metrics import psnr

    fixed, _, _ = source.facecodec({**params, "background": "fixed"})
    fitted, _, _ = source.facecodec({**params, "background": "fit"})
    i = int(np.argmax(np.abs(fitted.astype(np.float32) - fixed).mean((1, 2, 3))))
    images = (source.crops[i], fixed[i], fitted[i])
    labels = (f"{name} #{i}", f"fixed follow {psnr(images[0], images[1]):.1f} dB",
              f"fitted follow {psnr(images[0], images[2]):.1f} dB")
    print(f"{name}: frame {i}, {labels[1]}, {labels[2]}", flush=True)
    return np.hstack([_label(im, t) for im, t in zip(images, labels, strict=True)])


def _bank_rows(source, name: str, params: dict) -> list[np.ndarray]:
    """The frames where the bank changed the lower and the upper half of the crop most."""
    from benchmarks.metrics import psnr

    single, _, _ = source.facecodec({**params, "bank_slots": 0})
    bank, _, _ = source.facecodec(params)
    change = np.abs(bank.astype(np.float32) - single.astype(np.float32)).mean(-1)
    half = change.shape[1] // 2
    rows = []
    for part, where in (("mouth", change[:, half:]), ("eyes", change[:, :half])):
        i = int(np.argmax(where.mean((1, 2))))
        if where[i].mean() == 0:
            continue
        images = (source.crops[i], single[i], bank[i])
        labels = (f"{name} #{i} ({part})", f"one reference {psnr(images[0], images[1]):.1f} dB",
                  f"bank {psnr(images[0], images[2]):.1f} dB")
        rows.append(np.hstack([_label(im, t) for im, t in zip(images, labels, strict=True)]))
        print(f"{name}: {part} frame {i}, {labels[1]}, {labels[2]}", flush=True)
    return rows


def _mesh_warp_call(pictures: list, config, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """The crops the sender saw and what the mesh warp showed, one per picture."""
    from codec.config import without_refresh
    from codec.decoder import Decoder
    from codec.encoder import Encoder
    from codec.offline import transcode
    from codec.prior.flame_io import load_prior
    from codec.render.meshwarp import MeshWarpRenderer

    model = load_prior(None)
    crops: list[np.ndarray] = []
    enc = Encoder(model, without_refresh(config), fps)
    dec = Decoder(model, MeshWarpRenderer(model))
    shown = [s.image for s in transcode(pictures, enc, dec, None, lambda r: crops.append(r.crop))]
    return np.stack(crops), np.stack(shown)


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 18), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                cv2.LINE_AA)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
