"""`facecodec bench generator`: the neural renderer's ms/frame and peak memory per config.

Per config, in a fresh process so peak memory is its own: build the generator (random
weights: speed does not depend on them), compute the appearance features once, then time
`render` at batch 1 (volume configs: motion field + generator; mesh-guided configs: the
network on a given mesh map — the map itself is the mesh warp's, timed by `bench speed`).
CPU in float32 at each `--threads`; on CUDA in bf16 with channels-last, where peak memory
is `torch.cuda.max_memory_allocated`.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path


def measure(name: str, device: str, runs: int, threads: int = 0) -> dict:
    import os

    import numpy as np
    import torch

    from models.config import CONFIGS
    from models.generator import build_generator

    c = CONFIGS[name]
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    if not cuda:  # the codec limits OpenMP to one thread for its services
        torch.set_num_threads(threads or len(os.sched_getaffinity(0)))
    net = build_generator(c).eval().to(dev)
    if cuda:
        net = net.to(memory_format=torch.channels_last)
        torch.cuda.reset_peak_memory_stats()
    src = torch.rand(1, 3, c.size, c.size, device=dev)
    inputs = _frame_inputs(c, src, dev)
    times = []
    with torch.inference_mode(), torch.autocast(dev.type, torch.bfloat16, enabled=cuda):
        features = net.appearance(src)
        for i in range(runs + 3):
            t = time.perf_counter()
            net.render(features, *inputs)
            if cuda:
                torch.cuda.synchronize()
            if i >= 3:  # warm-up
                times.append((time.perf_counter() - t) * 1000)
    peak = (torch.cuda.max_memory_allocated() / 2**20 if cuda
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {
        "config": name, "device": device, "dtype": "bf16" if cuda else "fp32",
        "params_m": round(sum(p.numel() for p in net.parameters()) / 1e6, 1),
        "ms_p50": round(float(np.median(times)), 1),
        "ms_p10": round(float(np.percentile(times, 10)), 1),
        "ms_p90": round(float(np.percentile(times, 90)), 1),
        "peak_mib": round(peak), "peak_is": "cuda allocated" if cuda else "process RSS",
        "machine": (torch.cuda.get_device_name() if cuda else
                    f"{platform.machine()} CPU, {torch.get_num_threads()} threads"),
    }  # fmt: skip


def _frame_inputs(c, src, dev) -> tuple:
    """One frame's per-frame inputs after the appearance features, for either generator."""
    import torch

    code = torch.zeros(1, c.code_dims, device=dev)
    if c.generator == "mesh":
        ys, xs = torch.meshgrid(torch.arange(c.size, device=dev),
                                torch.arange(c.size, device=dev), indexing="ij")
        grid = (torch.stack([xs, ys], -1)[None].float() + 2.5) * (2.0 / c.size) - 1.0
        return src, src, grid, code
    kp = torch.rand(1, c.keypoints, 3, device=dev) * 1.6 - 0.8
    return kp, kp + 0.02, torch.eye(3, device=dev)[None], code


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="facecodec bench generator",
                                description=__doc__.split("\n")[0])
    p.add_argument("--configs", nargs="+",
                   default=["mesh-cpu", "mesh-gpu", "tiny-64", "small-256", "paper-256"])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2],
                   help="CPU thread counts to time (default: 1 2)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: both when CUDA)")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--one", nargs=3, metavar=("CONFIG", "DEVICE", "THREADS"),
                   help=argparse.SUPPRESS)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.one:
        name, device, threads = args.one
        print(json.dumps(measure(name, device, args.runs, int(threads))))
        return 0
    import torch

    devices = [args.device] if args.device else ["cpu"] + (["cuda"] if
                                                          torch.cuda.is_available() else [])
    rows = []
    runs = [(d, n, t) for d in devices for n in args.configs
            for t in (args.threads if d == "cpu" else [0])]
    for device, name, threads in runs:
        out = subprocess.run([sys.executable, "-m", "benchmarks.generator_speed", "--one",
                              name, device, str(threads), "--runs", str(args.runs)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"{r['config']:<10} {r['device']:<5} {r['dtype']}  {r['params_m']:>5}M params"
              f"  {r['ms_p50']:>7} ms/frame (p10 {r['ms_p10']}, p90 {r['ms_p90']})  "
              f"peak {r['peak_mib']} MiB ({r['peak_is']})  [{r['machine']}]", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
