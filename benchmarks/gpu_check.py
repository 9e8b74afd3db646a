"""`facecodec gpu-check`: everything the neural receiver needs to know from a GPU, in one run.

A GPU is lent to this project now and then, for minutes, with nothing installed but torch;
this is the one command to run when it is. Within ten minutes it:

1. checks the renderer on the GPU against the CPU (the shipped checkpoint, a synthetic
   talking head, bf16 autocast on the GPU with fp32 grids; PSNR and max difference);
2. times the network at batch 1 and batched (frames of many calls in one forward pass:
   frames/s, calls held at 25 fps), and the whole renderer (mesh warp included) for several
   calls sharing one network;
3. trains a leg from the committed checkpoint for at most `--train-minutes`, and exports
   it in fp16 beside the figures.

Everything lands under `--out` (`gpu_check.json`, `train_log.csv`, `exported.pt`; each
file well under 16 MiB; the data cache and optimizer state stay in a temporary folder).
`--dry-run` does the same steps on the CPU in seconds (tiny sizes, two training steps on
a synthetic clip): CI runs it, so the day a GPU is lent the command only has to be called.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# the shipped checkpoint's loss weights (models/zoo/README.md), so the leg continues its run
RECIPE = ["--landmark-weight", "4", "--face-feature-weight", "2", "--mask-weight", "2",
          "--mask-away", "0.25"]


def parity(checkpoint: str | None, device: str, frames: int) -> dict:
    """The same frames rendered on `device` (bf16 autocast on CUDA) and on the CPU in fp32;
    on a CPU-only dry run, CPU bf16 autocast stands in for the GPU."""
    from benchmarks.metrics import psnr
    from codec.driving import DrivingState
    from codec.prior.flame_io import load_prior
    from codec.synthetic import SyntheticConfig, make_clip
    from models.renderer import NeuralRenderer

    model = load_prior()
    clip = make_clip(model, SyntheticConfig(size=256, seconds=frames / 25, seed=5))
    cpu = NeuralRenderer(model, checkpoint, device="cpu", precision="fp32")
    other = NeuralRenderer(model, checkpoint, device=device, precision="bf16")
    for r in (cpu, other):
        r.set_reference(clip.frames[0], clip.params[0])
    states = [DrivingState(i, 40.0 * i, 0, p, None) for i, p in enumerate(clip.params)]
    a = [cpu.render(s) for s in states]
    b = [other.render(s) for s in states]
    diffs = [np.abs(x.astype(int) - y.astype(int)).max() for x, y in zip(a, b, strict=True)]
    scores = [psnr(x, y) for x, y in zip(a, b, strict=True)]
    return {"device": device, "frames": len(states), "psnr_db_min": round(min(scores), 2),
            "psnr_db_median": round(float(np.median(scores)), 2), "max_abs_diff": int(max(diffs)),
            "pass": bool(min(scores) >= 35.0)}


def shared_renderers(checkpoint: str | None, device: str, calls: list[int], runs: int) -> list:
    """The whole renderer for N calls on one network: N mesh warps (CPU) then one batched
    forward (`render_batch`), per round of frames due."""
    from codec.driving import DrivingState
    from codec.prior.flame_io import load_prior
    from codec.synthetic import SyntheticConfig, make_clip
    from models.renderer import NeuralRenderer, render_batch

    model = load_prior()
    clip = make_clip(model, SyntheticConfig(size=256, seconds=0.4, seed=6))
    first = NeuralRenderer(model, checkpoint, device=device)
    rows = []
    for n in calls:
        renderers = [first] + [first.for_another_call() for _ in range(n - 1)]
        for r in renderers:
            r.set_reference(clip.frames[0], clip.params[0])
        times = []
        for i in range(runs + 1):
            states = [DrivingState(i, 40.0 * i, 0, clip.params[1 + i % (len(clip.params) - 1)],
                                   None)] * n
            t = time.perf_counter()
            render_batch(renderers, states)
            if i:
                times.append(time.perf_counter() - t)
        ms = 1000 * float(np.median(times))
        rows.append({"calls": n, "ms_per_round": round(ms, 1),
                     "frames_per_s": round(1000 * n / ms, 1),
                     "calls_at_25fps": int(1000 * n / ms // 25)})
        print(f"  {n} calls on one network: {ms:.1f} ms per round of frames "
              f"({rows[-1]['frames_per_s']} frames/s)", flush=True)
    return rows


def train_leg(out: Path, checkpoint: str, data: Path, minutes: float, dry: bool,
              device: str) -> dict:
    """`facecodec train` from the committed checkpoint for at most `minutes`, then export."""
    from models.checkpoint import load_checkpoint
    from models.export import export

    config, _ = load_checkpoint(checkpoint)
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))  # data cache and optimizer state:
    run = work / "run"  # larger than what comes back
    cmd = [sys.executable, "-m", "models", "--config", config.name, "--data", str(data),
           "--out", str(run), "--cache", str(work / "data"), "--init", checkpoint,
           "--no-gan", "--device", device, *RECIPE,
           "--minutes", str(minutes), "--save-every", "100000", "--sample-every", "100000",
           "--include-held-out" if dry else "--clips=8"]
    cmd += (["--steps", "2", "--batch", "2", "--frames-per-clip", "12", "--threads", "2"]
            if dry else ["--steps", "100000", "--batch", "32", "--frames-per-clip", "120",
                         "--loader-workers", "12"])
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"training leg failed: {done.stderr.strip().splitlines()[-1:]}")
    digest = export(run / "last.pt", out / "exported.pt")
    shutil.copy(run / "log.csv", out / "train_log.csv")
    log = (run / "log.csv").read_text().splitlines()
    shutil.rmtree(work, ignore_errors=True)
    return {"seconds": round(time.perf_counter() - t, 1), "log_rows": len(log) - 1,
            "last_log": log[-1], "exported": "exported.pt", "sha256": digest,
            "exported_mib": round((out / "exported.pt").stat().st_size / 2**20, 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="facecodec gpu-check", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True, help="folder for figures and weights")
    p.add_argument("--dry-run", action="store_true",
                   help="the same steps on the CPU in seconds (what CI runs)")
    p.add_argument("--checkpoint", default=None,
                   help="generator checkpoint (default: the shipped models/zoo/mesh-cpu.pt)")
    p.add_argument("--data", type=Path, default=None,
                   help="face videos for the training leg (default: ../shared/data/dev when "
                   "present, else a synthetic talking head written under --out)")
    p.add_argument("--train-minutes", type=float, default=7.0,
                   help="wall-clock cap on the training leg (default: %(default)s)")
    p.add_argument("--device", default="cuda", help="the GPU to check (default: cuda)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        report = run(args)
    except (RuntimeError, ValueError, FileNotFoundError) as exc:
        print(f"facecodec gpu-check: {exc}", file=sys.stderr)
        return 1
    print(f"gpu-check: {args.out / 'gpu_check.json'}"
          f" (parity {'ok' if report['parity']['pass'] else 'FAILED'})")
    return 0 if report["parity"]["pass"] else 1


def run(args: argparse.Namespace) -> dict:
    import torch

    from benchmarks.generator_speed import run_all
    from models.checkpoint import load_checkpoint
    from models.renderer import default_checkpoint

    dry = args.dry_run
    device = "cpu" if dry else args.device
    if not dry and not torch.cuda.is_available():
        raise RuntimeError("this torch sees no CUDA device; --dry-run checks the steps on CPU")
    checkpoint = str(args.checkpoint or default_checkpoint() or "")
    if not checkpoint:
        raise FileNotFoundError("no --checkpoint and no shipped models/zoo/mesh-cpu.pt")
    config, _ = load_checkpoint(checkpoint)
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict = {"machine": _machine(device), "checkpoint": checkpoint, "dry_run": dry,
                    "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    steps = [
        ("parity", lambda: parity(checkpoint, device, 4 if dry else 25)),
        ("network", lambda: run_all([config.name], [device], [2], [1, 2] if dry
                                    else [1, 8, 32, 64, 128, 256], 2 if dry else 20)),
        ("renderer", lambda: shared_renderers(checkpoint, device, [1, 2] if dry
                                              else [1, 16, 64], 2 if dry else 10)),
        ("train", lambda: train_leg(args.out, checkpoint, _data(args), 0.5 if dry
                                    else args.train_minutes, dry, device)),
    ]
    for name, step in steps:
        t = time.perf_counter()
        print(f"gpu-check: {name} ...", flush=True)
        report[name] = step()
        report[f"{name}_seconds"] = round(time.perf_counter() - t, 1)
        (args.out / "gpu_check.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def _data(args: argparse.Namespace) -> Path:
    """The training leg's videos: --data, the dev clips beside the checkout, or a synthetic
    talking head written under --out."""
    if args.data:
        return args.data
    dev = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev"
    if dev.is_dir() and not args.dry_run:
        return dev
    from codec.prior.flame_io import load_prior
    from codec.synthetic import SyntheticConfig, make_clip, save_clip

    folder = args.out / "synthetic"
    folder.mkdir(parents=True, exist_ok=True)
    clip = make_clip(load_prior(), SyntheticConfig(size=320, seconds=1.0, seed=7))
    save_clip(clip, folder / "head.mp4", 25.0)
    (folder / "head.npz").unlink()
    return folder


def _machine(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name()} (torch {torch.__version__})"
    return f"{platform.machine()} CPU (torch {torch.__version__})"


if __name__ == "__main__":
    raise SystemExit(main())
