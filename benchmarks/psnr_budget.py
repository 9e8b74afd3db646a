"""`facecodec bench psnr-budget`: where the receiver's squared error lies, and how much PSNR
a perfect face could buy.

The neural receiver is asked for +1 dB of whole-frame PSNR over the mesh warp, and it corrects
the face. This splits each decoded frame's squared error into the face (the convex hull of the
sender's 478 landmarks), a ring around it (the hull grown by a fifth of the face's size: hair
line, ears, jaw shadow) and the rest (hair, neck, shoulders, background), and reports the PSNR
each frame would reach with those regions exact. A renderer that made the face perfect could
gain no more than the 'face exact' column, whatever it learns. An oracle colour fit (gain and
offset per channel, by least squares against the true crop) bounds what any global colour or
contrast change could buy; the face's mean colour change since the reference is what a sender
could measure and send. Same bitstreams as `bench rd` (no reference refresh, the encoder's
defaults otherwise).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.rd import DEFAULT_VIDEOS

RING = 0.2  # the ring around the face, as a fraction of the face's size


@dataclass(frozen=True)
class FrameBudget:
    psnr: float
    face_exact: float  # PSNR with the face region replaced by the truth
    ring_exact: float  # ... the face and the ring around it
    colour_fit: float  # PSNR after the oracle per-channel gain and offset
    colour_gain: float  # that fit's gain, mean of the channels (< 1: it cut contrast)
    sender_offset: float  # PSNR after the face's mean colour change since the reference
    shares: tuple[float, float, float]  # squared error in face, ring, rest (sums to 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="facecodec bench psnr-budget",
                                description=__doc__.split("\n")[0])  # fmt: skip
    p.add_argument("--videos", type=Path, default=DEFAULT_VIDEOS)
    p.add_argument("--frames", type=int, default=100, help="frames per clip (default: 100)")
    p.add_argument("--limit", type=int, default=None, help="only the first N clips")
    p.add_argument("--expr-dims", type=int, default=20, help="params mode, this N (default: 20)")
    p.add_argument("--checkpoint", default=None, help="also the neural renderer with this file")
    p.add_argument("--all-clips", action="store_true",
                   help="every clip, not only the prior's held-out validation clips")
    p.add_argument("--json", type=Path, default=None, help="also write per-clip figures here")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)  # fmt: skip
    from tqdm import tqdm

    from codec.prior.flame_io import load_prior
    from codec.video import list_clips

    if not args.videos.is_dir():
        print(f"no such folder: {args.videos}", file=sys.stderr)
        return 2
    clips = list_clips(args.videos)
    if not args.all_clips:
        held = set(load_prior().meta.get("held_out_clips", []))
        clips = [c for c in clips if c.name in held]
    clips = clips[: args.limit]
    if not clips:
        print(f"no clips in {args.videos}", file=sys.stderr)
        return 2
    renderers = ["meshwarp"] + (["neural"] if args.checkpoint else [])
    rows = []
    for clip in tqdm(clips, desc="clips", unit="clip"):
        for renderer in renderers:
            frames = clip_budget(clip.path, args.frames, args.expr_dims, renderer, args.checkpoint)
            if frames:
                rows.append({"clip": clip.name, "renderer": renderer, **_summary(frames)})
    _print(rows, renderers)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


def clip_budget(path: Path, frames: int, expr_dims: int, renderer: str,
                checkpoint: str | None = None) -> list[FrameBudget]:
    """Every decoded frame's budget but the first (the reference itself), frames with a face."""
    from codec.config import EncoderConfig, without_refresh
    from codec.decoder import Decoder
    from codec.encoder import Encoder
    from codec.offline import transcode
    from codec.prior.flame_io import load_prior
    from codec.render import make_renderer
    from codec.video import read_frames, video_fps

    model = load_prior(None)
    config = without_refresh(EncoderConfig(mode="params", expr_dims=expr_dims))
    encoder = Encoder(model, config, video_fps(path))
    decoder = Decoder(model, make_renderer(renderer, model, checkpoint))
    sent: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
    shown = transcode(read_frames(path, max_frames=frames), encoder, decoder, None,
                      lambda r: sent.__setitem__(r.seq, (r.crop, r.landmarks)))  # fmt: skip
    out, reference = [], None
    for s in shown:
        crop, landmarks = sent.get(s.seq, (None, None))
        if crop is None or landmarks is None:
            continue
        if reference is None:
            reference = face_colour(crop, landmarks)
        elif s.decoded:
            out.append(frame_budget(crop, s.image, landmarks, reference))
    return out


def frame_budget(truth: np.ndarray, shown: np.ndarray, landmarks: np.ndarray,
                 reference_colour: np.ndarray | None = None) -> FrameBudget:
    """`reference_colour`: the reference picture's `face_colour`; the face's mean colour change
    since then is what a sender could measure and send (none: no change)."""
    from benchmarks.metrics import psnr

    face, ring = regions(landmarks, truth.shape[:2])
    fitted, gain = colour_fit(shown, truth)
    offset = 0.0 if reference_colour is None else _mean_colour(truth, face) - reference_colour
    moved = np.clip(np.rint(shown + offset), 0, 255).astype(np.uint8)
    err = ((truth.astype(np.float64) - shown) ** 2).sum(-1)
    total = max(float(err.sum()), 1e-9)
    parts = (float(err[face].sum()), float(err[ring].sum()))
    return FrameBudget(
        psnr=psnr(truth, shown),
        face_exact=psnr(truth, np.where(face[..., None], truth, shown)),
        ring_exact=psnr(truth, np.where((face | ring)[..., None], truth, shown)),
        colour_fit=psnr(truth, fitted),
        colour_gain=gain,
        sender_offset=psnr(truth, moved),
        shares=(parts[0] / total, parts[1] / total, 1 - sum(parts) / total),
    )


def regions(landmarks: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks: the landmarks' convex hull, and a ring around it a fifth of the face's
    size wide."""
    import cv2

    face = _hull(landmarks, shape)
    size = float(np.ptp(landmarks[:, :2], axis=0).max())
    r = max(1, round(RING * size))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    grown = cv2.dilate(face.astype(np.uint8), disc) > 0
    return face, grown & ~face


def _hull(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    hull = cv2.convexHull(np.asarray(landmarks)[:, :2].astype(np.float32)).astype(np.int32)
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    return mask > 0


def colour_fit(shown: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, float]:
    """`shown` with the per-channel gain and offset that bring it closest to `truth`, and the
    mean gain. Where `shown` is misaligned the best gain is below 1: fading toward the mean
    lowers the squared error, as blur does."""
    x = shown.reshape(-1, 3).astype(np.float64)
    y = truth.reshape(-1, 3).astype(np.float64)
    out, gains = np.empty_like(x), []
    for c in range(3):
        design = np.stack([x[:, c], np.ones(len(x))], axis=1)
        gain, offset = np.linalg.lstsq(design, y[:, c], rcond=None)[0]
        out[:, c] = gain * x[:, c] + offset
        gains.append(float(gain))
    image = np.clip(np.rint(out), 0, 255).astype(np.uint8).reshape(shown.shape)
    return image, float(np.mean(gains))


def face_colour(crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The mean RGB inside the landmarks' hull."""
    return _mean_colour(crop, _hull(landmarks, crop.shape[:2]))


def _mean_colour(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return image[mask].astype(np.float64).mean(axis=0)


def _summary(frames: list[FrameBudget]) -> dict:
    shares = np.array([f.shares for f in frames])
    return {"frames": len(frames),
            "psnr": float(np.mean([f.psnr for f in frames])),
            "face_exact": float(np.mean([f.face_exact for f in frames])),
            "ring_exact": float(np.mean([f.ring_exact for f in frames])),
            "colour_fit": float(np.mean([f.colour_fit for f in frames])),
            "colour_gain": float(np.median([f.colour_gain for f in frames])),
            "sender_offset": float(np.mean([f.sender_offset for f in frames])),
            "share_face": float(shares[:, 0].mean()), "share_ring": float(shares[:, 1].mean()),
            "share_rest": float(shares[:, 2].mean())}  # fmt: skip


def _print(rows: list[dict], renderers: list[str]) -> None:
    print("| clip | renderer | PSNR dB | face exact | face + ring exact | colour fit (its gain) | "
          "sender's offset | error in face / ring / rest |\n"
          "|---|---|---|---|---|---|---|---|")  # fmt: skip
    for r in rows:
        print(_row(r["clip"], r))
    for name in renderers:
        mine = [r for r in rows if r["renderer"] == name]
        keys = [k for k in mine[0] if k not in ("clip", "renderer")]
        mean = {k: float(np.mean([r[k] for r in mine])) for k in keys}
        print(_row(f"**mean of {len(mine)} clips**", {**mean, "renderer": name}))


def _row(label: str, r: dict) -> str:
    face, ring, fit, sent = (f"{r[k] - r['psnr']:+.2f}" for k in (
        "face_exact", "ring_exact", "colour_fit", "sender_offset"))  # fmt: skip
    shares = " / ".join(f"{r[k]:.2f}" for k in ("share_face", "share_ring", "share_rest"))
    return (f"| {label} | {r['renderer']} | {r['psnr']:.2f} | {face} | {ring} | "
            f"{fit} ({r['colour_gain']:.2f}) | {sent} | {shares} |")


if __name__ == "__main__":
    sys.exit(main())
