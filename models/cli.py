"""`facecodec train`: train the warping generator on a folder of face videos."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from models.config import CONFIGS, MODES


def parse(argv: list[str]) -> argparse.Namespace:
    from models.train.config import TrainConfig

    d = TrainConfig()
    configs = "; ".join(f"{n} ({c.size}², {c.generator})" for n, c in CONFIGS.items())
    p = argparse.ArgumentParser(
        prog="facecodec train",
        description="Train the warping generator on face videos: mesh-guided (mesh-cpu, "
        "mesh-gpu: starts as the mesh warp, the one our compute can train), or face-vid2vid's "
        "with FLAME keypoints, or its learned-keypoint baseline. The prior's held-out "
        f"validation clips are skipped. Configs: {configs}. Single process on CPU or one "
        "GPU; several GPUs: torchrun --nproc-per-node=G -m models --config ...",
    )
    p.add_argument("--config", choices=CONFIGS, default="mesh-cpu",
                   help="network (default: %(default)s)")
    p.add_argument("--mode", choices=MODES, default="flame",
                   help="flame: FLAME keypoints + expression (the paper); baseline: learned "
                   "keypoints, no expression (default: %(default)s)")
    p.add_argument("--keypoints", type=int, default=None, help="K (default: the config's)")
    p.add_argument("--data", type=Path, required=True, help="folder of face videos")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, logs)")
    p.add_argument("--steps", type=int, default=d.steps, help="total steps (default: %(default)s)")
    p.add_argument("--minutes", type=float, default=None,
                   help="stop after this much wall-clock time, saving OUT/last.pt (default: "
                   "run all --steps)")
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--vgg", default=None, metavar="PATH",
                   help="torchvision VGG-19 state dict for the perceptual loss (never "
                   "downloaded); without it: multi-scale L1 + SSIM")
    p.add_argument("--init", type=Path, default=None, metavar="CKPT",
                   help="fine-tune: start the generator from this checkpoint (same config)")
    p.add_argument("--no-gan", action="store_true", help="train without the discriminator")
    p.add_argument("--gan-weight", type=float, default=d.gan_weight,
                   help="weight of the hinge GAN term (default: %(default)s)")
    p.add_argument("--fm-weight", type=float, default=d.fm_weight,
                   help="weight of discriminator feature matching (default: %(default)s)")
    p.add_argument("--disc-width", type=int, default=d.disc_width,
                   help="discriminator channels, first layer (default: %(default)s)")
    p.add_argument("--disc-lr", type=float, default=None,
                   help="discriminator learning rate (default: --lr)")
    p.add_argument("--region-weight", type=float, default=d.region_weight,
                   help="mesh-guided: extra L1 weight on mouth and eyes (default: %(default)s)")
    p.add_argument("--landmark-weight", type=float, default=d.landmark_weight,
                   help="face-mesh landmark consistency, px at 192² (0: off; default: "
                   "%(default)s)")
    p.add_argument("--face-feature-weight", type=float, default=d.face_feature_weight,
                   help="face-mesh feature matching (0: off; default: %(default)s)")
    p.add_argument("--mask-weight", type=float, default=d.mask_weight,
                   help="mesh-guided: cost on the blend mask's area (default: %(default)s)")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default=d.precision,
                   help="bf16 autocast (auto: where the device computes it natively, CUDA or "
                   "an AVX512-BF16/AMX CPU; default: %(default)s)")
    p.add_argument("--mask-away", type=float, default=d.mask_away,
                   help="mesh-guided: the mask's area cost off the face and inside the lips, "
                   "relative to on the face, where AKD is read (default: %(default)s)")
    p.add_argument("--mask-power", type=float, default=d.mask_power,
                   help="mesh-guided: each pixel of the mask costs m**power (under 1: a mask "
                   "spread thin costs more than one gathered; default: %(default)s)")
    p.add_argument("--mask-init", type=float, default=None,
                   help="mesh-guided: the blend mask's starting logit (default: the config's, "
                   "0 = half of each correction; -2 starts near the mesh warp)")
    p.add_argument("--mask-floor", type=float, default=None,
                   help="mesh-guided: the blend mask is exactly 0 where its sigmoid is below "
                   "this, so those pixels are the mesh warp's and a receiver skips them "
                   "(default: the config's)")
    p.add_argument("--reference-codec", choices=("av1", "webp", "jpeg", "none"), default="av1",
                   help="mesh-guided: code each reference picture as the sender does before "
                   "training on it (none: the raw crop; default: %(default)s)")
    p.add_argument("--loader-workers", type=int, default=0,
                   help="mesh-guided: processes preparing pairs (a GPU needs several; default: "
                   "one background thread)")
    p.add_argument("--clips", type=int, default=None, help="use the first N videos only")
    p.add_argument("--include-held-out", action="store_true",
                   help="also train on the clips the prior held out for validation "
                   "(by default they are skipped)")
    p.add_argument("--frames-per-clip", type=int, default=200)
    p.add_argument("--stride", type=int, default=2, help="take every n-th frame")
    p.add_argument("--cache", type=Path, default=None, help="prepared data (default: OUT/data)")
    p.add_argument("--save-every", type=int, default=d.save_every)
    p.add_argument("--sample-every", type=int, default=d.sample_every)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if any)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    p.add_argument("--flame", default=None, help="FLAME file (else the built-in prior)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print('facecodec train: needs torch; pip install -e ".[train]"', file=sys.stderr)
        return 2
    from codec.prior.safe_pickle import PriorFileError
    from models.checkpoint import CheckpointError

    try:
        history = run(args)
    except (FileNotFoundError, PriorFileError, CheckpointError, ValueError) as exc:
        print(f"facecodec train: {exc}", file=sys.stderr)
        return 2
    if history and os.environ.get("RANK", "0") == "0":
        print(f"trained {len(history)} steps: l1 {history[0]['l1']:.4f} -> "
              f"{history[-1]['l1']:.4f}; checkpoint {args.out / 'last.pt'}")
    return 0


def run(args: argparse.Namespace) -> list[dict]:
    from codec.prior.flame_io import load_prior
    from models.config import get_config
    from models.train.config import TrainConfig
    from models.train.data import PairSampler, list_videos, prepare_clip
    from models.train.loop import Trainer
    from models.train.mesh_data import MeshPairSampler, held_out, prepare_param_clip

    net = get_config(args.config, args.mode, args.keypoints)
    if args.mask_init is not None:
        net = replace(net, mask_init=args.mask_init)
    if args.mask_floor is not None:
        net = replace(net, mask_floor=args.mask_floor)
    model = load_prior(args.flame)
    videos = list_videos(args.data)
    if not args.include_held_out:
        videos = [v for v in videos if v.stem not in held_out(model)]
    videos = videos[: args.clips]
    cache = args.cache or args.out / "data"

    def prepare(video: Path) -> Any:
        if net.generator == "mesh":
            return prepare_param_clip(model, video, net.expr_max, cache, args.frames_per_clip,
                                      args.stride)
        return prepare_clip(model, video, net, cache, args.frames_per_clip, args.stride)

    clips = _prepared(videos, prepare)
    if not clips:
        raise ValueError(f"{args.data}: no clip with a face in it")
    last = args.out / "last.pt"
    if last.exists() and not args.resume:
        raise ValueError(f"{last} exists: pass --resume to continue, or another --out")
    train = TrainConfig(steps=args.steps, minutes=args.minutes, batch=args.batch, lr=args.lr,
                        vgg=args.vgg,
                        gan_weight=0.0 if args.no_gan else args.gan_weight,
                        fm_weight=args.fm_weight, disc_width=args.disc_width, disc_lr=args.disc_lr,
                        region_weight=args.region_weight, landmark_weight=args.landmark_weight,
                        face_feature_weight=args.face_feature_weight,
                        mask_weight=args.mask_weight, mask_away=args.mask_away,
                        mask_power=args.mask_power,
                        precision=args.precision,
                        save_every=args.save_every, sample_every=args.sample_every)
    import torch

    # codec/__init__ limits BLAS/OpenMP to one thread for the live services; training on a
    # CPU wants them all.
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    codec = None if args.reference_codec == "none" else args.reference_codec
    sampler = (MeshPairSampler(model, clips, net.expr_max, codec=codec,
                               workers=args.loader_workers)
               if net.generator == "mesh" else PairSampler(clips))
    trainer = Trainer(net, train, sampler, args.out, model.prior_id, args.device)
    if args.resume:
        trainer.resume(last)
    elif args.init:
        trainer.init_from(args.init)
    return trainer.fit()


def _prepared(videos: list[Path], prepare) -> list:
    """Every clip through the codec once, into the cache. Under torchrun each rank prepares
    its share, waits for the others, then reads them all from the shared cache."""
    from tqdm import tqdm

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        import torch.distributed as dist

        from models.train.loop import dist_setup

        dist_setup()
        for video in tqdm(videos[rank::world], desc=f"preparing clips (rank {rank})",
                          unit="clip", disable=rank != 0):
            prepare(video)
        dist.barrier()
    return [c for v in tqdm(videos, desc="loading clips" if world > 1 else "preparing clips",
                            unit="clip", disable=rank != 0) if (c := prepare(v))]
