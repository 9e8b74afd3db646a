"""Same-identity reconstruction with the mesh-warp renderer, over every clip of a folder.

    python -m benchmarks.reconstruction [--videos DIR] [--frames 100] [--json F] [--markdown F]

Per clip: `Encoder` with its default settings (keypoints mode, K = 16, N = 20) but no
reference refresh, so the reference is the first frame, then `Decoder` + `meshwarp`; each
output frame is compared with the input crop the sender saw. Reported: AKD and AKD-M (the
20 mouth points) in pixels at 256² from dlib's 68-point predictor (detected independently
on input and output; the input's face box is reused when dlib finds no face in the output,
and that rate is reported), PSNR, SSIM, and the renderer's frames per second (median
per-frame render time, single process, OpenCV on one thread).
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
    p = argparse.ArgumentParser(prog="python -m benchmarks.reconstruction",
                                description=__doc__.split("\n")[0])
    p.add_argument("--videos", type=Path, default=DEFAULT_VIDEOS,
                   help="folder of face videos (default: %(default)s)")
    p.add_argument("--frames", type=int, default=100, help="frames per clip from the start")
    p.add_argument("--limit", type=int, default=None, help="only the first N clips")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    return p.parse_args(argv)  # fmt: skip


def reconstruct(model, path: Path, frames: int, dlib_lm) -> dict:
    from benchmarks.metrics import MOUTH, keypoint_distance, psnr, ssim
    from codec.config import EncoderConfig, without_refresh
    from codec.decoder import Decoder
    from codec.encoder import Encoder
    from codec.offline import TimedRenderer, transcode
    from codec.render.meshwarp import MeshWarpRenderer
    from codec.video import read_frames, video_fps

    first_frame_only = without_refresh(EncoderConfig())
    enc = Encoder(model, first_frame_only, fps=video_fps(path))
    renderer = TimedRenderer(MeshWarpRenderer(model))
    dec = Decoder(model, renderer)
    rows = {"psnr": [], "ssim": [], "akd": [], "akd_m": [], "render_ms": []}
    fallback = missing = 0
    crops: list[np.ndarray] = []
    frames = read_frames(path, max_frames=frames)
    for shown in transcode(frames, enc, dec, on_result=lambda r: crops.append(r.crop)):
        if not shown.decoded:
            continue
        crop = crops[shown.seq]
        rows["psnr"].append(psnr(crop, shown.image))
        rows["ssim"].append(ssim(crop, shown.image))
        if dlib_lm is None:
            continue
        box = dlib_lm.box(crop)
        truth = dlib_lm(crop, box)
        if truth is None:
            missing += 1
            continue
        pred = dlib_lm(shown.image)
        if pred is None:
            fallback += 1
            pred = dlib_lm(shown.image, box)
        rows["akd"].append(keypoint_distance(truth, pred))
        rows["akd_m"].append(keypoint_distance(truth, pred, MOUTH))
    rows["render_ms"] = renderer.ms
    summary = {k: float(np.mean(v)) if v else None for k, v in rows.items() if k != "render_ms"}
    ms = float(np.median(rows["render_ms"])) if rows["render_ms"] else None
    summary |= {"frames": len(rows["psnr"]), "render_ms": ms,
                "fps": 1000 / ms if ms else None, "dlib_missing_input": missing,
                "dlib_box_reused": fallback}  # fmt: skip
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    from tqdm import tqdm

    from benchmarks.metrics import DlibLandmarks
    from codec.prior.flame_io import load_prior
    from codec.video import list_clips

    if not args.videos.is_dir():
        print(f"reconstruction: no such folder: {args.videos}", file=sys.stderr)
        return 2
    import cv2

    cv2.setNumThreads(1)  # the speed target is single-threaded
    dlib_lm = DlibLandmarks.available()
    if dlib_lm is None:
        print("reconstruction: dlib / face_recognition_models not installed; AKD skipped "
              "(pip install dlib face_recognition_models)", file=sys.stderr)  # fmt: skip
    model = load_prior(None)
    rows = []
    for clip in tqdm(list_clips(args.videos)[: args.limit], desc="clips", unit="clip"):
        rows.append({"clip": clip.name} | reconstruct(model, clip.path, args.frames, dlib_lm))
    table = summarize(rows)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


def _f(v, fmt="{:.2f}"):
    return "-" if v is None else fmt.format(v)


def summarize(rows: list[dict]) -> str:
    lines = [f"machine: {platform.machine()}, Python {platform.python_version()}, 1 process",
             "", "| clip | frames | AKD px | AKD-M px | PSNR dB | SSIM | render fps |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lines.append(
            f"| {r['clip']} | {r['frames']} | {_f(r['akd'])} | {_f(r['akd_m'])} | "
            f"{_f(r['psnr'])} | {_f(r['ssim'], '{:.3f}')} | {_f(r['fps'], '{:.0f}')} |"
        )
    ok = [r for r in rows if r["frames"]]

    def mean(key):
        vals = [r[key] for r in ok if r[key] is not None]
        return float(np.mean(vals)) if vals else None

    fps = float(np.median([r["fps"] for r in ok])) if ok else None
    lines.append(f"| **mean of {len(ok)} clips** | {sum(r['frames'] for r in ok)} | "
                 f"{_f(mean('akd'))} | {_f(mean('akd_m'))} | {_f(mean('psnr'))} | "
                 f"{_f(mean('ssim'), '{:.3f}')} | {_f(fps, '{:.0f}')} (median) |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
