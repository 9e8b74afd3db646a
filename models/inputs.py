"""What the generator is driven by, from the codec's decoded parameters (numpy, no torch).

One function for training and for the receiver, so the network sees at run time exactly the
kind of input it learned from: keypoints in the crop's normalized cube, the head's rotation
and scale in crop space (for the flows' Jacobian), and the expression code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codec.prior.keypoints import driving_keypoints
from codec.prior.params import FLIP, FaceParams


@dataclass(frozen=True)
class MotionInput:
    keypoints: np.ndarray  # (K, 3) normalized cube
    rotation: np.ndarray  # (3, 3) crop-space rotation of the head
    scale: float
    code: np.ndarray  # (expr_max + 3,): ψ zero-padded, then the jaw's axis-angle


def motion_input(model, reference: FaceParams, frame: FaceParams, k: int, expr_max: int,
                 sent_keypoints: np.ndarray | None = None) -> MotionInput:
    """Keypoints: the received ones when the stream sends at least K (presets are nested),
    else rebuilt from the parameters on the reference's identity."""
    if sent_keypoints is not None and len(sent_keypoints) >= k:
        kp = np.asarray(sent_keypoints[:k], np.float32)
    else:
        kp = driving_keypoints(model, reference, frame, k).astype(np.float32)
    return MotionInput(kp, (FLIP @ frame.rotation).astype(np.float32), float(frame.scale),
                       expression_code(frame, expr_max))


def expression_code(frame: FaceParams, expr_max: int) -> np.ndarray:
    """ψ[:N] zero-padded to expr_max, then the jaw's axis-angle: the generators' code."""
    code = np.zeros(expr_max + 3, np.float32)
    n = min(expr_max, len(frame.psi))
    code[:n] = frame.psi[:n]
    code[expr_max:] = frame.jaw
    return code


def pixel_map_to_grid(maps, size: int):
    """A backward map in reference pixels (cv2.remap's convention) -> grid_sample's [-1, 1]
    with align_corners=False; numpy arrays or torch tensors alike."""
    return (maps + 0.5) * (2.0 / size) - 1.0


def jacobian(source: MotionInput, driving: MotionInput) -> np.ndarray:
    """Driving -> source crop-space map of a rigid head: (s_s / s_d) R_s R_dᵀ."""
    return (source.scale / driving.scale) * source.rotation @ driving.rotation.T
