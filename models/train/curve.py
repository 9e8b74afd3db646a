"""Plot a run's training curve from its log.csv: L1 of the output and, for mesh-guided
runs, of the mesh warp it started from, smoothed over a window.

    python -m models.train.curve RUN_DIR OUT.png [--window 20]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np


def read_log(run: Path) -> dict[str, np.ndarray]:
    with (run / "log.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("step")]
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.train.curve",
                                description=__doc__.split("\n")[0])
    p.add_argument("run", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--window", type=int, default=20, help="log rows per smoothing window")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = read_log(args.run)
    steps = log["step"][args.window - 1:] if len(log["step"]) >= args.window else log["step"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, smooth(log["l1"], args.window), label="output L1")
    if "meshwarp_l1" in log:
        ax.plot(steps, smooth(log["meshwarp_l1"], args.window), label="mesh warp L1 (start)")
        ratio = log["l1"].sum() / log["meshwarp_l1"].sum()
        last = min(len(log["l1"]), args.window * 5)
        recent = log["l1"][-last:].sum() / log["meshwarp_l1"][-last:].sum()
        print(f"output / mesh warp L1: whole run {ratio:.3f}, last {last} rows {recent:.3f}")
    ax.set_xlabel("step")
    ax.set_ylabel(f"L1 (mean of {args.window} logged batches)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
