"""`facecodec fit`: track and fit the face prior on a video, report how well it explains it."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from codec.cli_common import add_prior_and_json, report
from codec.prior.crop import CropConfig
from codec.prior.evaluate import reprojection_error
from codec.prior.fitting import FaceFitter, FitConfig
from codec.prior.flame_io import load_prior
from codec.prior.safe_pickle import PriorFileError
from codec.video import VideoError, read_frames


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="facecodec fit",
        description="Track the face in a video, fit the prior (FLAME or the built-in one) "
        "frame by frame with the first frame as reference, and print the fit's figures.",
    )
    p.add_argument("video", type=Path, help="input video file")
    p.add_argument("--frames", type=int, default=None, help="stop after N frames")
    p.add_argument("--expr-dims", type=int, default=50, help="expression dims N (default: 50)")
    p.add_argument("--crop-size", type=int, default=256, help="face crop side (default: 256)")
    p.add_argument(
        "--overlay",
        type=Path,
        default=None,
        help="write the crop with fitted landmarks to this video",
    )
    add_prior_and_json(p)
    return p.parse_args(argv)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        summary = run(args)
    except (VideoError, PriorFileError) as exc:
        print(f"facecodec fit: {exc}", file=sys.stderr)
        return 2
    if summary["fitted_frames"] == 0:
        print(f"facecodec fit: no face found in {args.video}", file=sys.stderr)
        return 1
    report(summary, args.json)
    return 0


def run(args: argparse.Namespace) -> dict:
    from tqdm import tqdm

    from codec.prior.face_track import FaceTrack
    from codec.prior.params import landmarks_in_crop

    model = load_prior(args.flame)
    track = FaceTrack(CropConfig(size=args.crop_size))
    fitter = FaceFitter(model, FitConfig(n_expr=args.expr_dims))
    writer = _Overlay(args.overlay, args.crop_size) if args.overlay else None
    errors, times, eulers, misses, n = [], [], [], 0, 0
    frames = read_frames(args.video, max_frames=args.frames)
    for frame in tqdm(frames, desc="fitting", unit="frame", disable=args.json):
        n += 1
        face = track(frame)
        if face is None or face.landmarks is None:
            misses += 1
            continue
        t = time.perf_counter()
        params = fitter.fit(face.landmarks, args.crop_size)
        times.append((time.perf_counter() - t) * 1000)
        errors.append(reprojection_error(model, params, face.landmarks))
        eulers.append(params.euler)
        if writer:
            writer.add(face.crop, landmarks_in_crop(model, params, "ibug68"))
    track.close()
    if writer:
        writer.close()
    eul = np.array(eulers).reshape(-1, 3)
    span = [[round(float(eul[:, i].min()), 1), round(float(eul[:, i].max()), 1)] for i in (0, 1)]
    return {
        "prior": model.name,
        "frames": n,
        "fitted_frames": len(errors),
        "frames_without_face": misses,
        "expr_dims": fitter.n_expr,
        "reprojection_px_mean": round(float(np.mean(errors)), 4) if errors else None,
        "fit_ms_median": round(float(np.median(times[1:] or times)), 3) if times else None,
        "yaw_range_deg": span[0] if len(eul) else None,
        "pitch_range_deg": span[1] if len(eul) else None,
    }


class _Overlay:
    """The crop with the fitted iBUG-68 points drawn on it, as an H.264 video."""

    def __init__(self, path: Path, size: int):
        import av

        self.container = av.open(str(path), "w")
        self.stream = self.container.add_stream("libx264", rate=25)
        self.stream.width = self.stream.height = size
        self.stream.pix_fmt = "yuv420p"

    def add(self, crop: np.ndarray, points: np.ndarray) -> None:
        import av
        import cv2

        img = crop.copy()
        for x, y, _ in points:
            cv2.circle(img, (round(x), round(y)), 1, (0, 255, 0), -1)
        for packet in self.stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


if __name__ == "__main__":
    raise SystemExit(main())
