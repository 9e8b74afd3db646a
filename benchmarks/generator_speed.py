"""`facecodec bench generator`: the neural renderer's ms/frame and peak memory per config.

Per config, in a fresh process so peak memory is its own: build the generator (random
weights: speed does not depend on them), compute the appearance features once, then time
`render` at each `--batch` (volume configs: motion field + generator; mesh-guided configs:
the network on a given mesh map — the map itself is the mesh warp's, timed by `bench
speed`). A batch is that many frames (of as many calls) in one forward pass: frames/s and
the 25-fps calls it would hold are printed beside ms per pass. CPU in float32 at each
`--threads`; on CUDA under bf16 autocast with channels-last (sampling grids in fp32), where
peak memory is `torch.cuda.max_memory_allocated`.
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


def measure(name: str, device: str, runs: int, threads: int = 0, batch: int = 1) -> dict:
    import os

    import numpy as np
    import torch

    from models.config import CONFIGS
    from models.generator import build_generator
    from models.precision import channels_last, native_bf16

    c = CONFIGS[name]
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    if not cuda:  # the codec limits OpenMP to one thread for its services
        torch.set_num_threads(threads or len(os.sched_getaffinity(0)))
    net = channels_last(build_generator(c).eval().to(dev))  # as the renderer runs it
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    src = torch.rand(batch, 3, c.size, c.size, device=dev)
    src = src.contiguous(memory_format=torch.channels_last)
    inputs = _frame_inputs(c, src, dev)
    times = []
    bf16 = native_bf16(dev)  # as the renderer chooses
    with torch.inference_mode(), torch.autocast(dev.type, torch.bfloat16, enabled=bf16):
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
    fps = 1000 * batch / float(np.median(times))
    return {
        "config": name, "device": device, "dtype": "bf16" if bf16 else "fp32", "batch": batch,
        "frames_per_s": round(fps, 1), "calls_at_25fps": int(fps // 25),
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

    n = src.shape[0]
    code = torch.zeros(n, c.code_dims, device=dev)
    if c.generator == "mesh":
        ys, xs = torch.meshgrid(torch.arange(c.size, device=dev),
                                torch.arange(c.size, device=dev), indexing="ij")
        grid = (torch.stack([xs, ys], -1)[None].float() + 2.5) * (2.0 / c.size) - 1.0
        return src, src, grid.expand(n, -1, -1, -1), code
    kp = torch.rand(n, c.keypoints, 3, device=dev) * 1.6 - 0.8
    return kp, kp + 0.02, torch.eye(3, device=dev)[None].expand(n, -1, -1), code


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="facecodec bench generator",
                                description=__doc__.split("\n")[0])
    p.add_argument("--configs", nargs="+",
                   default=["mesh-cpu", "mesh-gpu", "tiny-64", "small-256", "paper-256"])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2],
                   help="CPU thread counts to time (default: 1 2)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: both when CUDA)")
    p.add_argument("--batch", nargs="+", type=int, default=[1],
                   help="frames per forward pass to time (default: 1)")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--one", nargs=4, metavar=("CONFIG", "DEVICE", "THREADS", "BATCH"),
                   help=argparse.SUPPRESS)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.one:
        name, device, threads, batch = args.one
        print(json.dumps(measure(name, device, args.runs, int(threads), int(batch))))
        return 0
    import torch

    devices = [args.device] if args.device else ["cpu"] + (["cuda"] if
                                                          torch.cuda.is_available() else [])
    rows = run_all(args.configs, devices, args.threads, args.batch, args.runs)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


def run_all(configs, devices, threads, batches, runs: int) -> list[dict]:
    """Each (device, config, threads, batch) in its own process; prints a line per row."""
    rows = []
    plan = [(d, n, t, b) for d in devices for n in configs
            for t in (threads if d == "cpu" else [0]) for b in batches]
    for device, name, t, batch in plan:
        out = subprocess.run([sys.executable, "-m", "benchmarks.generator_speed", "--one",
                              name, device, str(t), str(batch), "--runs", str(runs)],
                             capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"bench generator {name} on {device}: "
                               f"{(out.stderr.strip().splitlines() or ['failed'])[-1]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"{r['config']:<10} {r['device']:<5} {r['dtype']} batch {r['batch']:<3} "
              f"{r['params_m']:>5}M params  {r['ms_p50']:>7} ms/pass (p10 {r['ms_p10']}, "
              f"p90 {r['ms_p90']})  {r['frames_per_s']} frames/s = {r['calls_at_25fps']} calls"
              f" at 25 fps  peak {r['peak_mib']} MiB ({r['peak_is']})  [{r['machine']}]",
              flush=True)
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
