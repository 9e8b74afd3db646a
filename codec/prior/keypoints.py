"""Keypoint presets and the driving keypoints the codec sends in `keypoints` mode.

Presets take K of the 68 iBUG landmarks, mouth and eyes first: with few points the mouth
matters most (the paper's appendix B.3), then the eyelids (blinks), then the face outline.
"""

from __future__ import annotations

import numpy as np

from codec.prior.flame import FlameModel
from codec.prior.params import FaceParams, landmarks_in_crop

# iBUG indices in the order they join the presets.
PRIORITY = (
    48, 54, 62, 66, 30,  # mouth corners, inner lip centres, nose tip
    37, 41, 44, 46, 8,  # upper and lower eyelids, chin
    51, 57, 36, 39, 42, 45,  # outer lip centres, eye corners
    19, 24, 60, 64,  # brow centres, inner mouth corners
    50, 52, 56, 58, 61, 63, 65, 67, 38, 40, 43, 47,  # rest of the lips and lids
    17, 21, 22, 26, 27, 31, 35, 0, 16, 4, 12, 2, 14, 6, 10,  # brows, nose, outline
    49, 53, 55, 59, 18, 20, 23, 25, 28, 29, 32, 33, 34, 1, 3, 5, 7, 9, 11, 13, 15,
)  # fmt: skip
PRESETS = (5, 10, 16, 20, 32, 68)
# iBUG-68 eyelid points, each upper one above its lower one (subject's right eye, then left)
UPPER_LIDS, LOWER_LIDS = (37, 38, 43, 44), (41, 40, 47, 46)


def preset_indices(k: int) -> np.ndarray:
    """The iBUG-68 indices of preset K."""
    if k not in PRESETS:
        raise ValueError(f"keypoint preset must be one of {PRESETS}, got {k}")
    return np.array(PRIORITY[:k])


def to_normalized(points: np.ndarray, crop_size: int) -> np.ndarray:
    """Crop pixels -> the crop's normalized cube: x, y in [-1, 1], z in the same scale."""
    half = crop_size / 2.0
    out = points / half
    out[:, :2] -= 1.0
    return out


def driving_keypoints(
    model: FlameModel, reference: FaceParams, frame: FaceParams, preset: int
) -> np.ndarray:
    """K×3 keypoints of the frame's motion on the reference's identity (β), normalized cube.

    Using the reference's β for every frame is the paper's identity swap: the receiver sees
    motion, never a drift of the face's shape.
    """
    posed = frame.with_identity(reference.beta)
    pts = landmarks_in_crop(model, posed, "ibug68")[preset_indices(preset)]
    return to_normalized(pts, frame.crop_size)
