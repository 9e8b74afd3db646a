"""Export a training checkpoint for shipping: generator weights only, in fp16.

    python -m models.export RUN_DIR/last.pt models/zoo/mesh-cpu.pt

The optimizer and discriminator states are dropped and float tensors are stored as fp16
(half the bytes; the renderer loads them back as float32 on CPU, bf16 on CUDA). Prints the
file's size and sha256 for the model card.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import torch

from models.checkpoint import FORMAT, VERSION, load_checkpoint


def export(src: Path, dst: Path) -> str:
    config, data = load_checkpoint(src)
    weights = {k: v.half() if v.is_floating_point() else v for k, v in data["generator"].items()}
    out = {"format": FORMAT, "version": VERSION, "config": config.to_dict(),
           "prior_id": data["prior_id"], "step": data["step"], "generator": weights}
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp")
    torch.save(out, tmp)
    tmp.replace(dst)
    return hashlib.sha256(dst.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.export", description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", type=Path, help="a training checkpoint (RUN_DIR/last.pt)")
    p.add_argument("out", type=Path, help="where to write the shipped file")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    digest = export(args.checkpoint, args.out)
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.2f} MB, sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
