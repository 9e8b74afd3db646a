"""Training settings, torch-free so `facecodec train --help` works without torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 100_000
    minutes: float | None = None  # stop (and save) after this much wall-clock time
    batch: int = 8
    lr: float = 2e-4
    recon_weight: float = 10.0
    gan_weight: float = 1.0  # 0 turns the discriminator off
    fm_weight: float = 1.0
    disc_width: int = 64  # the patch discriminator's first-layer channels
    disc_lr: float | None = None  # the discriminator's learning rate (default: lr)
    truncate: bool = True  # random truncation of ψ, so every N works at inference
    save_every: int = 1000
    sample_every: int = 500
    log_every: int = 10
    seed: int = 0
    vgg: str | None = None
    region_weight: float = 1.0  # mesh-guided: extra L1 on the mouth and eyes
    landmark_weight: float = 1.0  # face mesh points on output vs truth, px at 192² (0: off)
    face_feature_weight: float = 1.0  # face mesh activations, normalized L1 (0: off)
    mask_weight: float = 0.5  # mesh-guided blend mask: cost on its mean area
    precision: str = "auto"  # bf16 autocast where native (CUDA, AVX512-BF16/AMX CPUs), or fp32
    mask_away: float = 1.0  # its cost off the face and inside the lips, relative to on the face
    mask_power: float = 1.0  # each pixel's cost is m**power: under 1 a little mask everywhere
    # costs more than a full one in few places (with a mask floor, the rest is exactly 0)
