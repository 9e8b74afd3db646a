"""Encoder settings; each field maps onto a `facecodec encode` flag."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bitstream import Steps
from codec.background import BackgroundConfig
from codec.bank import BankConfig
from codec.prior.crop import CropConfig
from codec.prior.fitting import FitConfig
from codec.prior.reference_flow import FlowConfig


@dataclass(frozen=True)
class EncoderConfig:
    mode: str = "keypoints"  # "keypoints" (K×3 keypoints + ψ[:N] + jaw) or "params"
    keypoints: int = 16  # K, a preset of codec.prior.keypoints.PRESETS
    expr_dims: int = 20  # N: ψ dims sent; the rest keep the reference's values
    expression_step: float = 0.1  # ψ step of the strongest dim (unit-variance coefficients)
    # Pose, jaw and keypoint steps (the expression field is ignored). Pose, jaw and ψ steps
    # are for N <= 20 and shrink as 20 / N above it: a longer code leaves less truncation
    # error, so quantization must add less for the same relative cost.
    steps: Steps = field(default_factory=Steps)
    precision: float = 1.0  # multiplies every step but the keypoints'; < 1 is finer
    picture_codec: str = "av1"  # reference pictures: "av1", "webp" or "jpeg"
    picture_quality: int = 50  # 0..100
    # The reference picture shows this much more of the camera frame on every side of the
    # crop (a fraction of its side; 0: the crop alone), where the receiver's warp reaches
    # past the crop's edge, at a quarter of the crop's resolution (`soften_margin`).
    reference_margin: float = 0.125
    refresh_yaw_deg: float = 30.0  # new reference when the head turns further than this...
    refresh_pitch_deg: float = 20.0
    refresh_scale: float = 0.35  # ...or the face grows or shrinks by this log-ratio...
    refresh_eyes: float = 0.5  # ...or the reference's eyes are under half as open as now
    min_refresh_s: float = 2.0  # and the last reference is at least this old
    # Landmark looks per crop: 2 = tracked + one where the crop puts the face, averaged (the
    # tracked look alone carries its error from frame to frame; the second runs on its own
    # thread, one frame in three, its offset carried between); 1 = tracked only, for a slow
    # laptop.
    landmark_looks: int = 2
    crop: CropConfig = field(default_factory=CropConfig)
    # Landmarks moved onto the optical flow from the reference crop before the fit, so the
    # mesh moves as the pixels the receiver warps did (weight 0 turns it off, for a slow CPU).
    flow: FlowConfig = field(default_factory=FlowConfig)
    fit: FitConfig = field(default_factory=FitConfig)
    # Bank pictures of the mouth and eyes when a frame shows what no held picture covers
    # (codec/bank.py); slots=0 turns the bank off.
    bank: BankConfig = field(default_factory=BankConfig)
    # How far the background follows the head, fitted per frame against the crop
    # (codec/background.py); choose=False sends the fixed levels older streams used.
    background: BackgroundConfig = field(default_factory=BackgroundConfig)

    def __post_init__(self) -> None:
        from codec.picture import CODECS
        from codec.prior.keypoints import PRESETS

        if self.mode not in ("keypoints", "params"):
            raise ValueError(f"mode must be 'keypoints' or 'params', got {self.mode!r}")
        if self.mode == "keypoints" and self.keypoints not in PRESETS:
            raise ValueError(f"--keypoints must be one of {PRESETS}, got {self.keypoints}")
        if not 0 <= self.expr_dims <= 400:
            raise ValueError(f"--expr-dims must be 0..400, got {self.expr_dims}")
        if self.picture_codec not in CODECS:
            raise ValueError(f"picture codec must be one of {CODECS}, got {self.picture_codec!r}")
        if not 0.05 <= self.precision <= 20:
            raise ValueError(f"precision must be 0.05..20, got {self.precision}")
        if self.landmark_looks not in (1, 2):
            raise ValueError(f"landmark looks must be 1 or 2, got {self.landmark_looks}")
        if not 0 <= self.reference_margin <= 0.5:
            raise ValueError(f"reference margin must be 0..0.5 of the crop, got "
                             f"{self.reference_margin}")
        if not 0 <= self.picture_quality <= 100:
            raise ValueError(f"picture quality must be 0..100, got {self.picture_quality}")


def without_refresh(config: EncoderConfig) -> EncoderConfig:
    """The same settings with the first reference kept for the whole stream (benchmarks)."""
    inf = float("inf")
    return replace(config, refresh_yaw_deg=inf, refresh_pitch_deg=inf, refresh_scale=inf,
                   refresh_eyes=0.0)  # fmt: skip
