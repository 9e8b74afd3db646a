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

from models.checkpoint import load_checkpoint, save_checkpoint
from models.generator import build_generator


def export(src: Path, dst: Path) -> str:
    config, data = load_checkpoint(src)
    net = build_generator(config)
    net.load_state_dict(data["generator"])
    dst.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(dst, config, net.half(), data["prior_id"], data["step"])
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
