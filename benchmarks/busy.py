"""`facecodec bench busy`: the README's demo on a laptop that is never idle.

Runs `facecodec demo --frames N --synthetic` (signaling, receiver and sender in one process,
as a user runs it) while 0, 1, 2 ... other processes spin on the cores, several times each,
and prints the frames rendered and the capture-to-render latency per run, with medians.
The busy processes are plain Python loops, a stand-in for a browser or a build.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from tqdm import tqdm

KEYS = ("frames_rendered", "latency_ms_p50", "latency_ms_p95", "render_ms_p50",
        "encode_ms_p50", "landmark_looks_changes")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="facecodec bench busy", description=__doc__.split("\n")[0])
    p.add_argument("--busy", type=int, nargs="+", default=[0, 1, 2],
                   help="busy processes beside the demo, one setting per value (default: 0 1 2)")
    p.add_argument("--runs", type=int, default=4, help="demo runs per setting (default: 4)")
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--json", type=Path, default=None, help="also write every run here")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    runs = []
    settings = [(n, r) for n in args.busy for r in range(args.runs)]
    for busy, _ in tqdm(settings, desc="demo runs", unit="run"):
        runs.append({"busy": busy, **demo_beside(busy, args.frames)})
    print(f"`facecodec demo --frames {args.frames} --synthetic` beside busy processes")
    print("| busy processes | frames rendered | latency p50 ms | latency p95 ms | "
          "render ms p50 | encode ms p50 |\n|---|---|---|---|---|---|")
    for busy in args.busy:
        mine = [r for r in runs if r["busy"] == busy]
        cols = [", ".join(str(r.get(k)) for r in mine) for k in KEYS[:3]]
        mids = [statistics.median(r[k] for r in mine if r.get(k) is not None) for k in KEYS[3:5]]
        print(f"| {busy} | {cols[0]} | {cols[1]} | {cols[2]} | {mids[0]:.1f} | {mids[1]:.1f} |")
    if args.json:
        args.json.write_text("".join(json.dumps(r) + "\n" for r in runs))
    return 0


def demo_beside(busy: int, frames: int) -> dict:
    """One demo run with `busy` spinning processes; its figures (KEYS)."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        demo = subprocess.run(
            [sys.executable, "-m", "codec", "demo", "--frames", str(frames), "--synthetic",
             "--json"], capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    finally:
        for s in spinners:
            s.kill()
            s.wait()
    if demo.returncode != 0:
        raise SystemExit(f"facecodec bench busy: the demo failed: {demo.stderr.strip()[-500:]}")
    summary = json.loads(demo.stdout.strip().splitlines()[-1])
    return {k: summary.get(k) for k in KEYS}


if __name__ == "__main__":
    raise SystemExit(main())
