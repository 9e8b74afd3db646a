"""The training loop: one entry point for CPU, one GPU, and `torchrun` (DDP) on several.

Rank 0 logs (CSV always, TensorBoard when installed), saves sample grids and checkpoints;
`RUN_DIR/last.pt` is always the newest, written atomically (also on Ctrl-C), and `--resume`
continues it.
On CUDA the forward passes run under bf16 autocast.
"""

from __future__ import annotations

import csv
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from models.baseline import LearnedKeypoints
from models.checkpoint import load_checkpoint, save_checkpoint
from models.config import NetConfig
from models.discriminator import MultiScaleDiscriminator
from models.face_losses import FaceAwareLoss
from models.generator import build_generator
from models.losses import (
    ReconstructionLoss,
    equivariance,
    feature_matching,
    hinge_d,
    hinge_g,
    keypoint_prior,
)
from models.precision import channels_last, use_bf16
from models.train.config import TrainConfig


class Trainer:
    def __init__(self, net: NetConfig, train: TrainConfig, sampler, run_dir: Path,
                 prior_id: str, device: str | None = None, progress: bool = True):
        self.net, self.cfg, self.sampler, self.run = net, train, sampler, Path(run_dir)
        self.prior_id, self.progress = prior_id, progress
        self.rank, self.world = dist_setup()
        self.device = torch.device(device or _default_device(self.rank))
        torch.manual_seed(train.seed + self.rank)
        self.g = build_generator(net).to(self.device)
        self.kp = LearnedKeypoints(net).to(self.device) if net.mode == "baseline" else None
        self.d = (MultiScaleDiscriminator(width=train.disc_width).to(self.device)
                  if train.gan_weight else None)
        g_params = list(self.g.parameters()) + (list(self.kp.parameters()) if self.kp else [])
        self.opt_g = torch.optim.Adam(g_params, train.lr, betas=(0.5, 0.999))
        d_lr = train.disc_lr or train.lr
        self.opt_d: Any = (torch.optim.Adam(self.d.parameters(), d_lr, betas=(0.5, 0.999))
                           if self.d else None)
        self.recon = ReconstructionLoss(train.vgg).to(self.device)
        self.face = (FaceAwareLoss().to(self.device)
                     if train.landmark_weight or train.face_feature_weight else None)
        self.step = 0
        self.amp = use_bf16(self.device, train.precision)
        for module in (self.g, self.face):
            if module is not None:
                channels_last(module)
        self.g_run, self.d_run = self._wrap(self.g), self._wrap(self.d)
        self.kp_run = self._wrap(self.kp)  # every trained module, so DDP syncs them all
        self.history: list[dict] = []

    def _wrap(self, module):
        """Under torchrun, DDP averages the gradients across processes."""
        if module is None or self.world == 1:
            return module
        cuda = self.device.type == "cuda"
        return DistributedDataParallel(module, [self.device] if cuda else None)

    # -- checkpoints -------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        extra = {"opt_g": self.opt_g.state_dict(), "train_seed": self.cfg.seed}
        if self.d is not None:
            extra |= {"discriminator": self.d.state_dict(), "opt_d": self.opt_d.state_dict()}
        if self.kp is not None:
            extra["keypoint_net"] = self.kp.state_dict()
        save_checkpoint(path, self.net, self.g, self.prior_id, self.step, extra)

    def init_from(self, path: Path) -> None:
        """Fine-tuning: the generator's weights from a checkpoint of the same network (a
        shipped fp16 one too; one without the blend mask gets a fresh mask head);
        optimizer, discriminator and step start fresh."""
        config, data = load_checkpoint(path, self.prior_id)
        same = replace(config, blend_mask=self.net.blend_mask, mask_init=self.net.mask_init,
                       mask_floor=self.net.mask_floor)
        if same != self.net:
            raise ValueError(f"{path}: a {config.name} checkpoint; this run trains {self.net.name}")
        missing, _ = self.g.load_state_dict({k: v.float() for k, v in data["generator"].items()},
                                            strict=False)
        if any(not k.startswith("mask.") for k in missing):
            raise ValueError(f"{path}: lacks generator weights {missing[:3]}")

    def resume(self, path: Path) -> None:
        config, data = load_checkpoint(path, self.prior_id)
        if config != self.net:
            raise ValueError(f"{path}: trained with config {config.name} ({config.mode}); "
                             f"this run uses {self.net.name} ({self.net.mode})")
        self.g.load_state_dict(data["generator"])
        self.opt_g.load_state_dict(data["opt_g"])
        if self.d is not None and "discriminator" in data:
            self.d.load_state_dict(data["discriminator"])
            self.opt_d.load_state_dict(data["opt_d"])
        if self.kp is not None:
            self.kp.load_state_dict(data["keypoint_net"])
        self.step = int(data["step"])

    # -- training ----------------------------------------------------------------------------
    def fit(self) -> list[dict]:
        from tqdm import tqdm

        self.run.mkdir(parents=True, exist_ok=True)
        log = _Log(self.run) if self.rank == 0 else None
        bar = tqdm(total=self.cfg.steps, initial=self.step, unit="step", desc="training",
                   disable=not self.progress or self.rank != 0)
        deadline = (time.monotonic() + 60 * self.cfg.minutes) if self.cfg.minutes else None
        while self.step < self.cfg.steps:
            if deadline is not None and time.monotonic() > deadline:
                if log is not None:
                    self.save(self.run / "last.pt")
                break
            t = time.perf_counter()
            try:
                scalars, images = self.train_step()
            except KeyboardInterrupt:  # Ctrl-C: keep the steps done since the last save
                if log is not None:
                    self.save(self.run / "last.pt")
                    bar.write(f"interrupted at step {self.step}: saved {self.run / 'last.pt'} "
                              "(--resume continues it)")
                break
            self.step += 1
            scalars["sec_per_step"] = time.perf_counter() - t
            self.history.append(scalars)
            bar.update(1)
            bar.set_postfix(l1=f"{scalars['l1']:.4f}")
            if log is not None:
                if self.step % self.cfg.log_every == 0 or self.step == 1:
                    log.write(self.step, scalars)
                if self.step % self.cfg.sample_every == 0 or self.step == self.cfg.steps:
                    _save_grid(self.run / "samples" / f"step_{self.step:07d}.png", images)
                if self.step % self.cfg.save_every == 0 or self.step == self.cfg.steps:
                    self.save(self.run / "last.pt")
                    if self.step % self.cfg.save_every == 0:
                        self.save(self.run / f"step_{self.step:07d}.pt")
        bar.close()
        if log is not None:
            log.close()
        return self.history

    def train_step(self) -> tuple[dict, tuple]:
        b = {k: torch.from_numpy(v).to(self.device)
             for k, v in self.sampler.sample(self.cfg.batch).items()}
        if self.net.generator == "mesh":
            return self._mesh_step(b)
        if self.cfg.truncate and self.net.mode == "flame":
            b["code"] = _truncate(b["code"], self.net.expr_max)
        g = self.g_run
        with torch.autocast(self.device.type, torch.bfloat16, enabled=self.amp):
            extra = {}
            if self.kp is not None:
                kp_s, rot_s, _ = self.kp_run(b["source"])
                kp_d, rot_d, off_d = self.kp_run(b["driving"])
                jac = rot_s @ rot_d.transpose(1, 2)
                out = g(b["source"], kp_s, kp_d, jac)
                extra["equivariance"] = equivariance(self.kp, b["driving"], kp_d)
                extra["kp_prior"] = keypoint_prior(self.kp.detector(b["driving"]))
                extra["offsets"] = off_d.abs().mean()
            else:
                out = g(b["source"], b["kp_s"], b["kp_d"], b["jac"], b["code"])
            recon = self.recon(out.float(), b["driving"])
            loss = self.cfg.recon_weight * recon + sum(10 * v for v in extra.values())
            loss = self._adversarial(loss, b["driving"], out, extra)
        self._update(loss, b["driving"], out, extra)
        l1 = (out.detach().float() - b["driving"]).abs().mean()
        scalars = {"loss": loss.item(), "recon": recon.item(), "l1": l1.item(),
                   **{k: v.item() for k, v in extra.items()}}
        return scalars, (b["source"], b["driving"], out.detach().float())

    def _adversarial(self, loss, real_images, out, extra: dict):
        """The generator's hinge and feature-matching terms added to its loss (no-op
        without a discriminator)."""
        if self.d is None:
            return loss
        real, fake = self.d_run(real_images), self.d_run(out)
        extra["gan_g"] = hinge_g(fake)
        extra["feature_matching"] = feature_matching(real, fake)
        return (loss + self.cfg.gan_weight * extra["gan_g"]
                + self.cfg.fm_weight * extra["feature_matching"])

    def _update(self, loss, real_images, out, extra: dict) -> None:
        """One generator step, then one discriminator step when there is one."""
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        if self.d is None:
            return
        with torch.autocast(self.device.type, torch.bfloat16, enabled=self.amp):
            d_loss = hinge_d(self.d_run(real_images), self.d_run(out.detach()))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        extra["gan_d"] = d_loss

    def _mesh_step(self, b: dict) -> tuple[dict, tuple]:
        """Mesh-guided: ψ was truncated by the sampler (the mesh saw the same N)."""
        cfg = self.cfg
        with torch.autocast(self.device.type, torch.bfloat16, enabled=self.amp):
            out, mask = self.g_run(b["source"], b["warped"], b["grid"], b["code"])
            recon = self.recon(out, b["driving"])
            region = _region_l1(out, b["driving"], b["weight"])
            loss = cfg.recon_weight * (recon + cfg.region_weight * region)
            extra = {"region": region}
            if self.face is not None:
                extra |= self.face(out, b["driving"])
                loss = (loss + cfg.landmark_weight * extra["landmarks"]
                        + cfg.face_feature_weight * extra["face_features"])
            if mask is not None:
                extra["mask_area"] = mask.mean()
                loss = loss + cfg.mask_weight * mask_price(mask, b["face"], cfg.mask_away,
                                                          cfg.mask_power)
            loss = self._adversarial(loss, b["driving"], out, extra)
        self._update(loss, b["driving"], out, extra)
        with torch.no_grad():
            l1 = (out.clamp(0, 1) - b["driving"]).abs().mean()
            warp_l1 = (b["warped"] - b["driving"]).abs().mean()
            if self.face is not None and (self.step == 0 or (self.step + 1) % cfg.log_every == 0):
                extra["meshwarp_landmarks"] = self.face(b["warped"], b["driving"])["landmarks"]
        scalars = {"loss": loss.item(), "recon": recon.item(), "l1": l1.item(),
                   "meshwarp_l1": warp_l1.item(), **{k: v.item() for k, v in extra.items()}}
        return scalars, (b["source"], b["warped"], b["driving"], out.detach().clamp(0, 1))


def mask_price(mask, face, away: float, power: float = 1.0):
    """The blend mask's mean area, each pixel at 1 on the face (the sampler's map) and at
    `away` elsewhere (1: every pixel alike); with `power` under 1, each pixel counts
    m**power, so a mask spread thin costs more than the same area gathered."""
    if power != 1.0:
        mask = (mask + MASK_EPS) ** power - MASK_EPS**power  # a finite slope at 0
    return (mask * (away + (1 - away) * face[:, None])).mean()


MASK_EPS = 1e-4


def _region_l1(out, target, weight):
    """L1 weighted by the map (mouth and eyes count more), normalized by the weight."""
    w = weight[:, None]
    return ((out - target).abs() * w).sum() / (w.sum() * 3)


def _truncate(code: torch.Tensor, expr_max: int) -> torch.Tensor:
    """Zero ψ past a random N per sample (the jaw stays): the paper's dropout of late dims."""
    n = torch.randint(0, expr_max + 1, (code.shape[0], 1), device=code.device)
    dims = torch.arange(code.shape[1], device=code.device)[None]
    keep = (dims < n) | (dims >= expr_max)
    return code * keep


def _default_device(rank: int) -> str:
    if torch.cuda.is_available():
        return f"cuda:{rank % torch.cuda.device_count()}"
    return "cpu"


def dist_setup() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


class _Log:
    """Scalars to log.csv, and to TensorBoard event files when tensorboard is installed."""

    def __init__(self, run: Path):
        self.path = run / "log.csv"
        self.file = self.path.open("a", newline="")
        self.writer: csv.DictWriter | None = None
        self.fields: list[str] | None = None
        self.tb: Any
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(run / "tensorboard"))
        except (ImportError, ModuleNotFoundError):
            self.tb = None

    def write(self, step: int, scalars: dict) -> None:
        if self.writer is None:
            self.fields = ["step", *scalars]
            self.writer = csv.DictWriter(self.file, self.fields, extrasaction="ignore")
            if self.path.stat().st_size == 0:
                self.writer.writeheader()
        self.writer.writerow({"step": step, **{k: f"{v:.6g}" for k, v in scalars.items()}})
        self.file.flush()
        if self.tb is not None:
            for k, v in scalars.items():
                self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        self.file.close()
        if self.tb is not None:
            self.tb.close()


def _save_grid(path: Path, images: tuple) -> None:
    """Rows of source | (mesh warp |) driving | output for the first four samples."""
    import cv2

    rows = []
    for i in range(min(4, images[0].shape[0])):
        row = [t[i].clamp(0, 1).permute(1, 2, 0).cpu().numpy() for t in images]
        rows.append(np.hstack(row))
    grid = (np.vstack(rows) * 255).round().astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
