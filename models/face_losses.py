"""Face-aware training losses from the frozen MediaPipe face mesh (`models/face_mesh.py`).

- landmark consistency: the mesh's 468 points on the generated frame against its points on
  the true frame, in pixels of its 192² input, the lips and eyes weighted up as the bytes are
  spent there. This trains on what AKD measures, with another network than the dlib judge.
- face feature matching: L1 between the mesh network's activations before each max-pool
  (96² ... 6²) on the two frames, each normalized by the true frame's mean magnitude, so a
  shallow high-resolution tap counts as much as a deep one: a perceptual loss for faces.

The mesh sees the central three quarters of the crop, where the crop tracker keeps the face;
for the usual 256² crop that is 192² at its own pixels, so nothing is resampled.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.face_mesh import SIZE, FaceMeshNet


def point_weights(lips: float = 3.0, eyes: float = 3.0) -> torch.Tensor:
    """(468,) 1 everywhere, more on the points MediaPipe refines for the lips and eyes."""
    from codec.prior.facemesh.mesh import refined_points

    w = np.ones(468, np.float32)
    w[refined_points("lips")] = lips
    for eye in ("left_eye", "right_eye"):
        w[refined_points(eye)] = eyes
    return torch.from_numpy(w / w.mean())


class FaceAwareLoss(nn.Module):
    """(out, target) (N, 3, S, S) in [0, 1] -> {"landmarks": px, "face_features": ratio}."""

    def __init__(self, mesh: FaceMeshNet | None = None):
        super().__init__()
        self.mesh = mesh or FaceMeshNet()
        self.register_buffer("weights", point_weights(), persistent=False)

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            true_points, true_feats = self.mesh(framing(target))
        points, feats = self.mesh(framing(out))
        shift = (points[..., :2] - true_points[..., :2]).abs().sum(-1)
        landmarks = (shift * self.weights).mean()
        features = sum((f - t).abs().mean() / (t.abs().mean() + 1e-6)
                       for f, t in zip(feats, true_feats, strict=True)) / len(feats)
        return {"landmarks": landmarks, "face_features": features}


def framing(image: torch.Tensor) -> torch.Tensor:
    """The central 3/4 of a crop at the mesh's 192² input."""
    s = image.shape[-1]
    lo, hi = s // 8, s - s // 8
    middle = image[..., lo:hi, lo:hi]
    if middle.shape[-1] == SIZE:
        return middle
    return F.interpolate(middle, size=(SIZE, SIZE), mode="bilinear", align_corners=False,
                         antialias=middle.shape[-1] > SIZE)
