"""Training losses: perceptual (VGG-19, weights from the user's file), its fallback,
hinge GAN with feature matching, and the baseline's keypoint priors."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# torchvision's vgg19().features layout: (channels out, or "M" for a max-pool).
_VGG19 = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
          512, 512, 512, 512, "M", 512, 512, 512, 512, "M")  # fmt: skip
_TAPS = (1, 6, 11, 20, 29)  # relu1_1 .. relu5_1
_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.0)
_MEAN, _STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class VGGFeatures(nn.Module):
    """VGG-19 up to relu5_1, named as torchvision names it so its state dict loads as is."""

    def __init__(self):
        super().__init__()
        layers, cin = [], 3
        for v in _VGG19:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU()]
                cin = v
        self.features = nn.Sequential(*layers[: _TAPS[-1] + 1])
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1))

    @classmethod
    def load(cls, path: str | Path) -> VGGFeatures:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state)
        net = cls()
        wanted = net.features.state_dict()
        found = {k[len("features."):]: v for k, v in state.items()
                 if k.startswith("features.") and k[len("features."):] in wanted}
        if set(found) != set(wanted):
            raise ValueError(f"{path}: not a torchvision VGG-19 state dict (features.* keys)")
        net.features.load_state_dict(found)
        return net.eval().requires_grad_(False)

    def forward(self, x):
        x = (x - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in _TAPS:
                out.append(x)
        return out


class ReconstructionLoss(nn.Module):
    """Multi-scale perceptual loss with VGG-19 weights; without them, multi-scale L1 plus
    (1 - SSIM), which trains slower and blurrier but needs no licensed file."""

    def __init__(self, vgg_path: str | Path | None, scales: int = 3):
        super().__init__()
        self.scales = scales
        self.vgg = VGGFeatures.load(vgg_path) if vgg_path else None
        if self.vgg is None:
            warnings.warn("no --vgg weights: training with multi-scale L1 + SSIM instead of "
                          "the perceptual loss", stacklevel=2)

    def forward(self, out, target):
        total = out.new_zeros(())
        for s in range(self.scales):
            a = out if s == 0 else F.avg_pool2d(out, 2**s)
            b = target if s == 0 else F.avg_pool2d(target, 2**s)
            if self.vgg is not None:
                for w, fa, fb in zip(_WEIGHTS, self.vgg(a), self.vgg(b), strict=True):
                    total = total + w * (fa - fb.detach()).abs().mean()
            else:
                total = total + (a - b).abs().mean() + (1 - ssim(a, b)) * 0.5
        return total


def ssim(a, b, c1: float = 0.01**2, c2: float = 0.03**2):
    mu_a, mu_b = F.avg_pool2d(a, 3, 1, 1), F.avg_pool2d(b, 3, 1, 1)
    va = F.avg_pool2d(a * a, 3, 1, 1) - mu_a**2
    vb = F.avg_pool2d(b * b, 3, 1, 1) - mu_b**2
    cov = F.avg_pool2d(a * b, 3, 1, 1) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (va + vb + c2)
    return (num / den).mean()


def hinge_d(real_outs, fake_outs):
    return sum(F.relu(1 - r[0]).mean() + F.relu(1 + f[0]).mean()
               for r, f in zip(real_outs, fake_outs, strict=True))


def hinge_g(fake_outs):
    return sum(-f[0].mean() for f in fake_outs)


def feature_matching(real_outs, fake_outs):
    return sum((fr.detach() - ff).abs().mean()
               for r, f in zip(real_outs, fake_outs, strict=True)
               for fr, ff in zip(r[1], f[1], strict=True))


def keypoint_prior(kp, min_dist: float = 0.1, depth: float = 0.33):
    """face-vid2vid's prior: keypoints spread apart, mean depth near a constant."""
    d = torch.cdist(kp, kp)
    eye = torch.eye(kp.shape[1], device=kp.device, dtype=torch.bool)
    spread = F.relu(min_dist - d).masked_fill(eye, 0).sum((1, 2)).mean()
    return spread + (kp[..., 2].mean(-1) - depth).abs().mean()


def equivariance(detector, image, kp, angle: float = 0.3, shift: float = 0.1):
    """Keypoints of a randomly rotated and shifted image should be the keypoints, moved."""
    n = image.shape[0]
    theta = (torch.rand(n, device=image.device) * 2 - 1) * angle
    t = (torch.rand(n, 2, device=image.device) * 2 - 1) * shift
    c, s = theta.cos(), theta.sin()
    mat = torch.stack([torch.stack([c, -s, t[:, 0]], -1), torch.stack([s, c, t[:, 1]], -1)], 1)
    grid = F.affine_grid(mat, image.shape, align_corners=False)
    warped_kp = detector(F.grid_sample(image, grid, align_corners=False))[0]
    # a point p of the warped image shows the original at A p + t
    moved = torch.einsum("nij,nkj->nki", mat[:, :, :2], warped_kp[..., :2]) + t[:, None]
    return (moved - kp[..., :2]).abs().mean()
