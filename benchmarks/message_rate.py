"""`facecodec bench message-rate`: would sending motion for every second frame, with the
receiver filling in the others, beat bundling two frames per message?

On the wire most of a motion message is headers (IP, UDP, DTLS, SCTP: `bench live` and
`bench network`), so half the messages is most of the saving; bundling halves them
exactly, at one frame interval of added latency. A receiver could instead be sent every
second frame and make the missing ones up: interpolated between its neighbours (the same
added latency, since it must wait for the next), extrapolated from the two before (no
added latency), or the previous one held (12.5 fps). This measures what each costs in
accuracy, before anything is built: on held-out clips, every odd frame's decoded state is
replaced by the made-up one and its iBUG-68 landmarks (2D, crop px) compared with those of
the state actually decoded. The rendered frame follows these landmarks, so this is the
error the choice would add to the call's AKD (which `bench rd` measures against dlib).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.data import DEV_CLIPS

GROUPS = {"all": slice(0, 68), "eyes": slice(36, 48), "mouth": slice(48, 68)}
FILL = ("interpolate", "extrapolate", "hold")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="facecodec bench message-rate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=16, help="held-out clips to use (default: 16)")
    p.add_argument("--frames", type=int, default=250, help="frames per clip (default: 250)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    from codec.prior.flame_io import load_prior

    args = parse(sys.argv[1:] if argv is None else argv)
    model = load_prior()
    clips = [DEV_CLIPS / f"{name}.mp4" for name in model.meta.get("held_out_clips", [])]
    clips = [c for c in clips if c.exists()][: args.clips]
    if not clips:
        print(f"facecodec bench message-rate: no held-out clips under {DEV_CLIPS}", file=sys.stderr)
        return 2
    errors: dict[str, dict[str, list[float]]] = {f: {g: [] for g in GROUPS} for f in FILL}
    for clip in tqdm(clips, desc="clips", unit="clip"):
        for fill, per_group in clip_errors(model, clip, args.frames).items():
            for group, values in per_group.items():
                errors[fill][group] += values
    summary = {fill: {g: round(float(np.mean(v)), 3) for g, v in groups.items()}
               for fill, groups in errors.items()}  # fmt: skip
    print(table(summary, len(clips), args.frames))
    if args.json is not None:
        args.json.write_text(json.dumps({"clips": [c.name for c in clips], "frames": args.frames,
                                         "mean_px": summary}, indent=1))  # fmt: skip
    return 0


def clip_errors(model, clip: Path, frames: int) -> dict[str, dict[str, list[float]]]:
    """Per fill, per landmark group: the mean landmark error (px) of each odd frame."""
    from codec.config import EncoderConfig
    from codec.encoder import Encoder
    from codec.video import read_frames

    encoder = Encoder(model, EncoderConfig(), 25.0)
    states = []
    for frame in read_frames(clip, frames):
        decoded = encoder.encode(frame).decoded
        states.append(None if decoded is None else decoded.params)
    encoder.close()
    out: dict[str, dict[str, list[float]]] = {f: {g: [] for g in GROUPS} for f in FILL}
    for t in range(2, len(states) - 1, 2):
        window = states[t - 2 : t + 2]
        if any(s is None for s in window):
            continue
        before2, before, truth, after = window
        exact = _landmarks(model, truth)
        made = {"interpolate": _blend(before, after, 0.5),
                "extrapolate": _blend(before2, before, 2.0), "hold": before}  # fmt: skip
        for fill, params in made.items():
            gap = np.linalg.norm(_landmarks(model, params) - exact, axis=1)
            for group, rows in GROUPS.items():
                out[fill][group].append(float(gap[rows].mean()))
    return out


def _blend(a, b, w: float):
    """The parameters at `w` along a → b (0.5: halfway; 2: one step past b), per field."""
    mix = lambda x, y: (1 - w) * np.asarray(x) + w * np.asarray(y)  # noqa: E731
    n = max(len(a.psi), len(b.psi))
    psi = mix(np.pad(a.psi, (0, n - len(a.psi))), np.pad(b.psi, (0, n - len(b.psi))))
    scale = float(np.exp(mix(np.log(a.scale), np.log(b.scale))))
    return replace(b, psi=psi, pose=mix(a.pose, b.pose), scale=scale, trans=mix(a.trans, b.trans))


def _landmarks(model, params) -> np.ndarray:
    from codec.prior.params import landmarks_in_crop

    return landmarks_in_crop(model, params)[:, :2]


def table(summary: dict, clips: int, frames: int) -> str:
    lines = [f"`facecodec bench message-rate` ({clips} held-out clips × {frames} frames, "
             "params N=20; every odd frame made up from the decoded even ones)", "",
             "| the receiver's missing frame | landmark error px (all 68) | eyes | mouth "
             "| added latency |",
             "|---|---|---|---|---|"]  # fmt: skip
    latency = {"interpolate": "1 frame (40 ms), as bundling 2", "extrapolate": "none",
               "hold": "none (12.5 fps shown)"}  # fmt: skip
    for fill, groups in summary.items():
        lines.append(f"| {fill} | {groups['all']} | {groups['eyes']} | {groups['mouth']} | "
                     f"{latency[fill]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
