"""Motion bytes per frame against landmark accuracy, over every clip of a folder.

    python -m benchmarks.bitstream_rate [--videos DIR] [--frames 150] [--cache DIR] [--json F]

Per clip: MediaPipe landmarks on the codec's 256² crop for the first F consecutive frames,
the prior fitted with the first frame as reference (50 ψ dims, as the encoder fits), then
every motion configuration quantized and packed by the codec's own `MotionCodec` and
`encode_packet`, so the bytes are the bytes `facecodec encode` writes. Reported per config,
as means over clips: payload bytes/frame, wire bytes/frame (+93 B), landmark reprojection
error of the unquantized fit truncated the same way and of the decoded parameters, and an
estimate of what a predictive (frame-to-frame delta) mode would cost.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.data import DEV_CLIPS as DEFAULT_VIDEOS

KEYPOINT_CONFIGS = [(k, n) for k in (5, 16, 68) for n in (0, 10, 20, 50)]
PARAM_CONFIGS = [0, 10, 20, 50]
INTRA_PERIOD = 25  # frames between intra packets in the predictive estimate


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.bitstream_rate",
                                description=__doc__.split("\n")[0])
    p.add_argument("--videos", type=Path, default=DEFAULT_VIDEOS,
                   help="folder of face videos (default: %(default)s)")
    p.add_argument("--frames", type=int, default=150, help="consecutive frames per clip")
    p.add_argument("--cache", type=Path, default=None, help="folder to cache landmarks in")
    p.add_argument("--limit", type=int, default=None, help="only the first N clips")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    return p.parse_args(argv)  # fmt: skip


def consecutive_landmarks(path: Path, frames: int, cache: Path | None) -> np.ndarray:
    from codec.prior.face_track import FaceTrack
    from codec.video import read_frames

    cached = cache / f"{path.stem}-consecutive-{frames}.npy" if cache else None
    if cached is not None and cached.is_file():
        return np.load(cached)
    track, out = FaceTrack(), []
    for frame in read_frames(path, max_frames=frames):
        face = track(frame)
        if face is not None and face.landmarks is not None:
            out.append(face.landmarks)
    track.close()
    arr = np.array(out).reshape(-1, 478, 3)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.save(cached, arr)
    return arr


def measure(model, params, landmarks, config) -> dict:
    from bitstream import encode_packet
    from codec.encoder import stream_hello
    from codec.motion import MotionCodec, reference_params, to_wire
    from codec.prior.evaluate import reprojection_error

    hello = stream_hello(model, config, 25.0)
    codec, n = MotionCodec(model, hello), hello.expr_dims
    ref = reference_params(to_wire(params[0]), 256)
    sizes, e_fit, e_dec, ints = [], [], [], []
    for seq, (p, lm) in enumerate(zip(params, landmarks, strict=True)):
        motion, state = codec.encode(p, ref, 0, seq)
        sizes.append(len(encode_packet(motion, hello)))
        psi = ref.psi.copy()
        psi[:n] = p.psi[:n]
        e_fit.append(reprojection_error(model, replace(p, beta=ref.beta, psi=psi), lm))
        e_dec.append(reprojection_error(model, state.params, lm))
        ints.append([*motion.rotation, motion.scale, *motion.translation, motion.depth,
                     *motion.jaw, *motion.expression, *motion.keypoints])  # fmt: skip
    return {
        "payload": float(np.mean(sizes)),
        "predictive": predictive_estimate(np.array(ints), np.array(sizes)),
        "error_fit_px": float(np.mean(e_fit)),
        "error_decoded_px": float(np.mean(e_dec)),
    }


def predictive_estimate(ints: np.ndarray, sizes: np.ndarray) -> float:
    """Bytes/frame if fields were sent as deltas from the previous frame, intra every second.

    Exp-Golomb with the best order per field over the clip (slightly optimistic), plus the
    same 2.5 bytes of header, sequence number and flags an intra packet carries.
    """
    deltas = np.diff(ints, axis=0)
    bits = np.zeros(len(deltas))
    for col in deltas.T:
        u = np.where(col >= 0, 2 * col, -2 * col - 1)
        bits += min((_eg_bits(u, k) for k in range(8)), key=np.sum)
    inter = bits / 8 + 2.5
    per_frame = np.where(np.arange(1, len(sizes)) % INTRA_PERIOD == 0, sizes[1:], inter)
    return float(np.mean(np.concatenate([sizes[:1], per_frame])))


def _eg_bits(u: np.ndarray, k: int) -> np.ndarray:
    return 2 * np.floor(np.log2(u + (1 << k))) + 1 - k


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    from tqdm import tqdm

    from codec.config import EncoderConfig
    from codec.prior.evaluate import fit_track
    from codec.prior.flame_io import load_prior
    from codec.video import list_clips

    if not args.videos.is_dir():
        print(f"bitstream_rate: no such folder: {args.videos}", file=sys.stderr)
        return 2
    model = load_prior(None)
    configs = {f"keypoints K={k} N={n}": EncoderConfig(keypoints=k, expr_dims=n)
               for k, n in KEYPOINT_CONFIGS}  # fmt: skip
    configs |= {f"params N={n}": EncoderConfig(mode="params", expr_dims=n) for n in PARAM_CONFIGS}
    rows = []
    for clip in tqdm(list_clips(args.videos)[: args.limit], desc="clips", unit="clip"):
        lm = consecutive_landmarks(clip.path, args.frames, args.cache)
        if len(lm) < 2:
            continue
        params = fit_track(model, lm, 50).params
        rows.append({"clip": clip.name, "frames": len(lm),
                     "configs": {name: measure(model, params, lm, c)
                                 for name, c in configs.items()}})  # fmt: skip
    table = summarize(rows, list(configs))
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    if args.json:
        args.json.write_text(json.dumps({"prior": model.name, "rows": rows}, indent=1) + "\n")
    return 0


def summarize(rows: list[dict], names: list[str]) -> str:
    lines = [
        f"{len(rows)} clips, {sum(r['frames'] for r in rows)} frames; machine: "
        f"{platform.machine()}, Python {platform.python_version()}",
        "",
        "| config | payload B/frame | wire B/frame | predictive B/frame (est.) | "
        "fit error px | decoded error px | decoded / fit |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        vals = [r["configs"][name] for r in rows]
        pay = np.mean([v["payload"] for v in vals])
        pred = np.mean([v["predictive"] for v in vals])
        fit = np.mean([v["error_fit_px"] for v in vals])
        dec = np.mean([v["error_decoded_px"] for v in vals])
        lines.append(f"| {name} | {pay:.1f} | {pay + 93:.1f} | {pred:.1f} | {fit:.3f} | "
                     f"{dec:.3f} | {dec / fit:.3f} |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
