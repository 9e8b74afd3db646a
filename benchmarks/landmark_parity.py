"""Landmarks of the converted models against the `mediapipe` package they were converted from.

    python -m benchmarks.landmark_parity [--videos DIR] [--frames 100] [--markdown F]

For every dev clip, the first frames are run through both in tracking mode (video) and as
single pictures; it prints the mean 2-D difference of the 478 points in px (clips are 256²)
and each path's median milliseconds per frame on this machine (both run interleaved, so
for the codec's own timing see `facecodec bench speed`). Needs the reference:
`pip install mediapipe==0.10.21` (Python 3.11 or 3.12, numpy < 2); without it, it says so.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.data import DEV_CLIPS


def parse(argv):
    p = argparse.ArgumentParser(prog="facecodec bench landmarks",
                                description=__doc__.split("\n")[0])
    p.add_argument("--videos", type=Path, default=DEV_CLIPS, help="folder of face videos")
    p.add_argument("--frames", type=int, default=100, help="first frames per clip (default 100)")
    p.add_argument("--limit", type=int, default=None, help="only the first N clips")
    p.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    return p.parse_args(argv)


class Reference:
    """MediaPipe 0.10.21's own face mesh, the way the codec used it before the conversion."""

    def __init__(self, tracking: bool):
        os.environ.setdefault("GLOG_minloglevel", "2")
        from mediapipe.python.solutions import face_mesh

        self._mesh = face_mesh.FaceMesh(static_image_mode=not tracking, max_num_faces=1,
                                        refine_landmarks=True, min_detection_confidence=0.5,
                                        min_tracking_confidence=0.5)

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        result = self._mesh.process(np.ascontiguousarray(image))
        if not result.multi_face_landmarks:
            return None
        h, w = image.shape[:2]
        pts = result.multi_face_landmarks[0].landmark
        return np.array([(p.x * w, p.y * h, p.z * w) for p in pts])


def _diff(a: np.ndarray, b: np.ndarray, scale: float) -> float:
    return float(np.linalg.norm(a[:, :2] - b[:, :2], axis=1).mean() * scale)


def compare(frames: list[np.ndarray], tracking: bool) -> tuple[float, int, float, float]:
    """Mean px difference (at 256²), frames where only one found a face, ms ours / reference."""
    from codec.prior.landmarks import LandmarkDetector

    ours, ref = LandmarkDetector(tracking=tracking), Reference(tracking)
    scale = 256 / max(frames[0].shape[:2])
    diffs, disagree, t_ours, t_ref = [], 0, [], []
    for frame in frames:
        t0 = time.perf_counter()
        a = ours(frame)
        t1 = time.perf_counter()
        b = ref(frame)
        t_ours.append(t1 - t0)
        t_ref.append(time.perf_counter() - t1)
        if (a is None) != (b is None):
            disagree += 1
        elif a is not None and b is not None:
            diffs.append(_diff(a, b, scale))
    mean = float(np.mean(diffs)) if diffs else float("nan")
    return mean, disagree, 1000 * float(np.median(t_ours)), 1000 * float(np.median(t_ref))


def self_noise(frames: list[np.ndarray]) -> float:
    """MediaPipe tracking against itself on the same frames with +1 on 1 % of the pixels.

    In tracking mode each frame's region comes from the last frame's answer, so a difference
    too small to see (a rounding in the crop) can walk; this is how far it walks in
    MediaPipe itself, the yardstick for the converted models' video column.
    """
    clean, noisy = Reference(True), Reference(True)
    rng = np.random.default_rng(0)
    scale = 256 / max(frames[0].shape[:2])
    diffs = []
    for frame in frames:
        nudged = frame.copy()
        mask = rng.random(frame.shape[:2]) < 0.01
        nudged[mask] = np.minimum(nudged[mask].astype(np.int16) + 1, 255).astype(np.uint8)
        a, b = clean(frame), noisy(nudged)
        if a is not None and b is not None:
            diffs.append(_diff(a, b, scale))
    return float(np.mean(diffs)) if diffs else float("nan")


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        print("bench landmarks: needs the reference, pip install mediapipe==0.10.21 "
              "(Python 3.11/3.12)", file=sys.stderr)
        return 2
    from tqdm import tqdm

    from codec.video import read_frames

    clips = sorted(p for p in args.videos.iterdir() if p.suffix in (".mp4", ".mov", ".mpg"))
    rows = []
    for clip in tqdm(clips[: args.limit], desc="clips", unit="clip"):
        frames = list(read_frames(clip, max_frames=args.frames))
        rows.append((clip.stem, len(frames), *compare(frames, True), *compare(frames, False),
                     self_noise(frames)))
    lines = [f"Command: `facecodec bench landmarks --frames {args.frames}`; "
             f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
             "Difference: mean 2-D distance over the 478 points, px at 256² (clips larger "
             "than 256² scaled), against "
             "mediapipe 0.10.21. ms: median per frame, ours / mediapipe. disagree: frames "
             "where only one of the two found a face.", "",
             "mediapipe vs itself: its video mode on the same frames with +1 on 1 % of the "
             "pixels (how far its tracking walks on an invisible change).", "",
             "| clip | frames | video px | mediapipe vs itself px | video ms | pictures px "
             "| pictures ms | disagree |",
             "|---|---|---|---|---|---|---|---|"]
    for name, n, vpx, vdis, vms, vref, spx, sdis, sms, sref, noise in rows:
        lines.append(f"| {name} | {n} | {vpx:.4f} | {noise:.4f} | {vms:.2f} / {vref:.2f} | "
                     f"{spx:.4f} | {sms:.2f} / {sref:.2f} | {vdis + sdis} |")
    cols = np.array([r[2:] for r in rows], dtype=float)
    lines.append(f"| **all {len(rows)} clips** | {sum(r[1] for r in rows)} | "
                 f"{np.nanmean(cols[:, 0]):.4f} | {np.nanmean(cols[:, 8]):.4f} | "
                 f"{np.median(cols[:, 2]):.2f} / "
                 f"{np.median(cols[:, 3]):.2f} | {np.nanmean(cols[:, 4]):.4f} | "
                 f"{np.median(cols[:, 6]):.2f} / {np.median(cols[:, 7]):.2f} | "
                 f"{int(cols[:, 1].sum() + cols[:, 5].sum())} |")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text("# Landmarks: converted models vs mediapipe 0.10.21\n\n"
                                 + text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
