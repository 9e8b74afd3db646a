"""Per-region composition: which held picture each region of a frame comes from, and the soft
masks that blend it in.

A region is taken from the held picture (the base reference or a bank picture) whose state
for that region is nearest the frame's (`codec.bank.distance`): for the mouth, one opened
too little costs twice what one opened too much does (a dark hole is worse than teeth a
little squeezed); a head turned away from the picture's pose costs too. A choice is kept
until another is clearly better, so a region does not flicker between two pictures.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from bitstream import BankRegion
from codec.bank import BankPicture, FaceState, distance

UNDER_OPEN = 2.0  # mouth: how much worse too little opening is than too much
POSE_COST = 0.02  # per degree of yaw or pitch between the frame and the picture
KEEP = 0.3  # a new choice must beat the current one by this much
# The blended areas: the outer lip line scaled about its centre (x, y); an ellipse per eye
# (full axes as fractions of the eye's width: wide enough to take both lids and the fold
# above from the bank picture; on 10 dev clips, not the held-out ones, eye-region PSNR on
# blinks went +0.61 dB at 1.8 × 1.0 and +1.0 dB at 2.1 × 1.2 over 1.5 × 0.8); the
# feather, a fraction of the region's width.
MOUTH_GROW = (1.25, 1.5)
EYE_AXES = (2.1, 1.2)
FEATHER = 0.1


@dataclass(frozen=True)
class Candidate:
    picture: BankPicture | None  # None: the base reference
    state: FaceState
    euler: np.ndarray  # degrees (yaw, pitch, roll)


def cost(region: BankRegion, frame: FaceState, euler: np.ndarray, c: Candidate) -> float:
    pose = POSE_COST * float(np.abs(c.euler[:2] - euler[:2]).sum())
    return distance(region, frame, c.state, UNDER_OPEN) + pose


def choose(region: BankRegion, frame: FaceState, euler: np.ndarray,
           candidates: list[Candidate], current: BankPicture | None) -> Candidate:
    """The candidate for `region`, keeping `current` unless another is better by KEEP."""
    scored = [(cost(region, frame, euler, c), c) for c in candidates]
    best_cost, best = min(scored, key=lambda s: s[0])
    for score, c in scored:
        if c.picture is current and score <= best_cost + KEEP:
            return c
    return best


def region_mask(lm68: np.ndarray, region: BankRegion, size: int) -> np.ndarray:
    """A soft (0..1) float32 mask of the region around its landmarks in the output frame.

    The mouth's follows its outer lip line, grown. Each eye's is an ellipse sized by the eye's
    width alone, so it covers both lids however far they are apart (a closed eye's landmarks
    span almost no height)."""
    window, (x0, y0, x1, y1) = region_box_mask(lm68, region, size)
    mask = np.zeros((size, size), np.float32)
    mask[y0:y1, x0:x1] = window
    return mask


def region_box_mask(lm68: np.ndarray, region: BankRegion,
                    size: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The region's mask inside its box (x0, y0, x1, y1) only: what the renderer blends,
    drawn and feathered without touching the rest of the frame."""
    from codec.bank import REGION_POINTS

    pts = np.asarray(lm68)[:, :2]
    if region == BankRegion.MOUTH:
        p = pts[48:60]
        centre = p.mean(0)
        hull = cv2.convexHull((centre + (p - centre) * np.array(MOUTH_GROW)).astype(np.float32))
        lo, hi = hull[:, 0].min(0), hull[:, 0].max(0)
    else:
        ellipses, ends = [], []
        for inner, outer, idx in ((39, 36, slice(36, 42)), (42, 45, slice(42, 48))):
            span = pts[outer] - pts[inner]
            width = float(np.hypot(*span))
            centre = pts[idx].mean(0)
            axes = (EYE_AXES[0] * width, EYE_AXES[1] * width)
            angle = float(np.degrees(np.arctan2(span[1], span[0])))
            ellipses.append((centre, axes, angle))
            ends += [centre - axes[0] / 2, centre + axes[0] / 2]
        lo, hi = np.min(ends, 0), np.max(ends, 0)
    sigma = max(FEATHER * np.ptp(pts[REGION_POINTS[region], 0]), 1.0)
    # The shape's box grown by twice the kernel's reach: beyond it the mask is 0, and no
    # pixel inside sees past the box's edge anything but zeros.
    reach = 2 * int(np.ceil(4 * sigma)) + 2
    x0, y0 = (int(v) for v in np.clip(np.floor(lo).astype(int) - reach, 0, size))
    x1, y1 = (int(v) for v in np.clip(np.ceil(hi).astype(int) + reach + 1, 0, size))
    window = np.zeros((max(y1 - y0, 0), max(x1 - x0, 0)), np.float32)
    if not window.size:
        return window, (x0, y0, x1, y1)
    if region == BankRegion.MOUTH:
        corners = np.rint(hull * 16).astype(np.int32) - np.array([x0, y0], np.int32) * 16
        cv2.fillConvexPoly(window, corners, (1.0,), cv2.LINE_AA, 4)
    else:
        for centre, axes, angle in ellipses:
            cv2.ellipse(window, (centre - (x0, y0), axes, angle), (1.0,), -1, cv2.LINE_AA)
    return cv2.GaussianBlur(window, (0, 0), sigma), (x0, y0, x1, y1)


def box_mask(box: tuple[int, int, int, int], size: int, inset: int = 3) -> np.ndarray:
    """1 inside a bank picture's box (less `inset` px, where its codec's edges are), else 0."""
    x, y, w, h = box
    valid = np.zeros((size, size), np.float32)
    valid[y + inset : y + h - inset, x + inset : x + w - inset] = 1.0
    return valid
