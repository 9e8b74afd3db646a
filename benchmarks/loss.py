"""`facecodec bench loss`: AKD and PSNR against packet loss, facecodec and classical codecs.

Loss hits facecodec's Motion packets (its unordered, no-retransmit channel); Hello and the
reference picture ride the reliable channel, as do the classical codecs' key frames, so both
sides start from one good picture. A lost classical packet is removed before decoding and
nothing asks for a new key frame, so damage spreads until the end of the clip — what a call
without feedback sees. facecodec holds the last frame for a lost packet; the next one
decodes on its own. The classical codecs run at a matched rate (default 16 kbps: 80 B/frame
at 25 fps, between facecodec's payload and wire bytes).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks.rd import DEFAULT_VIDEOS


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="facecodec bench loss", description=__doc__.split("\n")[0])
    p.add_argument("--videos", type=Path, default=DEFAULT_VIDEOS)
    p.add_argument("--frames", type=int, default=50, help="frames per clip (default: 50)")
    p.add_argument("--limit", type=int, default=3, help="clips (default: the first 3)")
    p.add_argument("--rates", type=float, nargs="+", default=[0, 1, 5, 10, 20, 30],
                   help="loss rates in percent")
    p.add_argument("--kbps", type=float, default=16.0, help="classical codecs' target rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)  # fmt: skip
    from tqdm import tqdm

    from benchmarks.classical import CODECS, encode_decode
    from benchmarks.metrics import DlibLandmarks
    from benchmarks.rd import SourceClip
    from codec.video import list_clips

    judge = DlibLandmarks.available()
    rows = []
    for clip in tqdm(list_clips(args.videos)[: args.limit], desc="clips", unit="clip"):
        src = SourceClip(clip.path, args.frames, judge)
        n = len(src.crops)
        for rate in args.rates:
            loss = rate / 100
            images, *_ = src.facecodec({}, loss, args.seed)
            rows.append({"clip": clip.name, "system": "facecodec", "loss_percent": rate}
                        | src.score(images))  # fmt: skip
            lost = np.random.default_rng(args.seed).random(n) < loss
            lost[0] = False  # the key frame is delivered reliably, like facecodec's reference
            for codec in CODECS:
                coded = encode_decode(src.crops, codec, args.kbps, src.fps,
                                      frozenset(np.flatnonzero(lost).tolist()))  # fmt: skip
                rows.append({"clip": clip.name, "system": codec, "loss_percent": rate}
                            | src.score(coded.frames))  # fmt: skip
    print(table(rows, args.rates))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


def table(rows: list[dict], rates: list[float]) -> str:
    systems = list(dict.fromkeys(r["system"] for r in rows))
    head = "| system | " + " | ".join(f"{r:g}% AKD / PSNR" for r in rates) + " |"
    lines = [head, "|---" * (len(rates) + 1) + "|"]
    for system in systems:
        cells = []
        for rate in rates:
            sel = [r for r in rows if r["system"] == system and r["loss_percent"] == rate]
            akd = [r["akd"] for r in sel if r["akd"] is not None]
            akd_text = f"{np.mean(akd):.2f}" if akd else "-"
            cells.append(f"{akd_text} / {np.mean([r['psnr'] for r in sel]):.1f}")
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
