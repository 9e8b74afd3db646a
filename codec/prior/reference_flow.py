"""Landmarks moved onto the pixels' own motion since the reference picture.

The receiver warps the reference picture along the mesh, so the frame it shows matches the
sender's crop where every mesh point moved as the pixels under it moved. MediaPipe's
landmarks are a fresh learned guess on every frame: on the held-out clips its nose moved
1.3 px away from where dlib saw the nose move, and on a pursed "oo" its chin dropped half as
far as the jaw did (benchmarks/results/fit_experiments.md). Dense optical flow (DIS) from the
reference crop to this crop measures that motion directly, always from the picture the
receiver warps (as the sender saw it, before compression), so its error does not pile up
over time.

Each landmark's reference position, moved by the flow, replaces MediaPipe's where the flow
can be trusted: where the forward and backward flows agree. A point whose neighbourhood
changed (a cheek turning out of sight, a hand) fails that check and keeps MediaPipe's
position, and a flow that disagrees with the landmarks as a whole (another face, a lost
track) is not used at all. The lips and irises always keep MediaPipe's points: lips part,
stretch and show teeth, so the flow errs most there, and MediaPipe refines both with heads
of their own (on the held-out clips, 250 frames, the mouth's error was 1.36 px with the lips
on the flow and 1.22 without); the gaze fit reads the irises, and flow there follows the
lids. A lid that closes over the eye hides the pixels the flow would follow, so while an
eye is closing (MediaPipe reads it under `closing` of its opening in the reference) its
points keep MediaPipe's too: with the flow alone a blink was fitted half as deep as dlib
sees it. Depth (z) stays MediaPipe's.

The two flows are independent, so the backward one runs on a helper thread while the forward
one runs here (OpenCV lets go of the GIL): on two cores the check costs little wall time. A
sender whose other core is idle while the face mesh looks at the crop (no second look this
frame) can `begin` both there as soon as the crop is cut, one after the other, around where
the last frame's landmarks were: they then run beside the look instead of after it, on one
helper, so no more threads run than there are cores.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from codec.prior.facemesh.mesh import refined_points

IRISES = np.arange(468, 478)  # MediaPipe's refined iris points
# Per eye, MediaPipe mesh points: the lids' middles (upper, lower) and the corners.
EYE_LIDS = {"left_eye": (386, 374, 362, 263), "right_eye": (159, 145, 33, 133)}
PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
           "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
           "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}  # fmt: skip


@dataclass(frozen=True)
class FlowConfig:
    weight: float = 1.0  # 0: MediaPipe's landmarks as they are; 1: the flow's where trusted
    consistency_px: float = 1.0  # forward-backward disagreement at which trust falls to 1/e
    max_disagreement_px: float = 8.0  # median flow-vs-landmark gap beyond which flow is unused
    preset: str = "medium"  # DIS preset: "ultrafast", "fast" or "medium"
    # DIS iterations (None: the preset's; medium's are 25 and 5). 12 and 2 cost a fifth less
    # with the same AKD on the held-out clips (benchmarks/results/lighter_sender)
    descent_iterations: int | None = 12
    refinement_iterations: int | None = 2
    closing: float = 0.8  # an eye open under this fraction of the reference's keeps its points
    scale: float = 1.0  # the flow runs on the crop resized by this (0.5: a quarter of the work)
    margin_px: float | None = 24.0  # flow only inside the landmarks' box grown by this; None: all
    # Frames per backward check; between them the last check's trust holds. 2 saves a fifth
    # of the flow's CPU but cost AKD +0.005 px on the held-out clips (every landmark group).
    check_every: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"flow weight must be in [0, 1], got {self.weight}")
        if self.preset not in PRESETS:
            raise ValueError(f"flow preset must be one of {sorted(PRESETS)}, got {self.preset!r}")
        if not 0.25 <= self.scale <= 1.0:
            raise ValueError(f"flow scale must be in [0.25, 1], got {self.scale}")
        descent, refinement = self.descent_iterations, self.refinement_iterations
        if (descent is not None and descent < 1) or (refinement is not None and refinement < 0):
            raise ValueError("flow iterations must be >= 1 (descent) and >= 0 (refinement)")
        if self.check_every < 1:
            raise ValueError(f"flow check period must be >= 1 frame, got {self.check_every}")


class ReferenceFlow:
    """Call `set_reference` with the reference crop and its landmarks, then call the object
    with every later crop and its landmarks to get them moved onto the measured motion."""

    def __init__(self, config: FlowConfig = FlowConfig()):
        self.config = config
        create = cv2.DISOpticalFlow_create  # type: ignore[attr-defined]
        preset = PRESETS[config.preset]
        self._forward, self._backward = create(preset), create(preset)
        for dis in (self._forward, self._backward):
            if config.descent_iterations is not None:
                dis.setGradientDescentIterations(config.descent_iterations)
            if config.refinement_iterations is not None:
                dis.setVariationalRefinementIterations(config.refinement_iterations)
        self._pool: ThreadPoolExecutor | None = None
        self._early: tuple[np.ndarray, _Flows] | None = None  # flows begun on a crop
        self.kept = np.concatenate([refined_points("lips"), IRISES])  # MediaPipe's, always
        self.eyes = {name: refined_points(name) for name in EYE_LIDS}
        self._reference: tuple[np.ndarray, np.ndarray] | None = None
        self._trust: np.ndarray | None = None  # the last backward check's, and its age
        self._trust_age = 0

    @property
    def enabled(self) -> bool:
        return self.config.weight > 0

    def set_reference(self, crop: np.ndarray, landmarks: np.ndarray) -> None:
        if self.enabled:
            gray = _gray(crop, self.config.scale)
            self._reference = (gray, np.asarray(landmarks, np.float64)[:, :2].copy())
            self._ref_open = {name: _opening(landmarks, name) for name in EYE_LIDS}
            self._trust = None
            self._drop_early()

    def __call__(self, crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """`landmarks` (L, 2 or 3) in crop pixels, moved where the flow is trusted."""
        if self._reference is None:  # none yet, or the flow is off (weight 0)
            return landmarks
        moved, trust = self.track(crop, landmarks)
        gap = np.linalg.norm(moved - landmarks[:, :2], axis=1)
        if np.median(gap) > self.config.max_disagreement_px:
            return landmarks
        for name, points in self.eyes.items():
            if _opening(landmarks, name) < self.config.closing * self._ref_open[name]:
                trust[points[points < len(trust)]] = 0.0
        w = (self.config.weight * trust)[:, None]
        out = np.array(landmarks, np.float64, copy=True)
        out[:, :2] = (1.0 - w) * out[:, :2] + w * moved
        return out

    def begin(self, crop: np.ndarray, near: np.ndarray | None) -> None:
        """Starts both flows into `crop` on the helper thread, one after the other, measured
        around the reference's landmarks and `near` (where this crop's should lie: the last
        frame's), so they run while this crop's landmarks are looked for. The next call with
        this very crop takes them."""
        if self._reference is None:
            return
        self._drop_early()
        self._early = crop, self._start(crop, near, here=False)

    def track(
        self, crop: np.ndarray, landmarks: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The reference landmarks moved by the flow into `crop`, and each one's trust in
        [0, 1] from the forward-backward check (lips and irises: 0). With `landmarks` (this
        crop's), the flow is measured only around the face, where both sets of points lie."""
        assert self._reference is not None
        early, self._early = self._early, None
        if early is not None and early[0] is crop:
            flows = early[1]
        else:
            if early is not None:
                early[1].wait()
            flows = self._start(crop, landmarks, here=True)
        ref_points, k = self._reference[1], self.config.scale
        forward = flows.forward.result()
        moved = ref_points + _sample(forward, _scaled(ref_points, k) - flows.origin) / k
        if flows.backward is None:  # between checks: the last one's trust holds
            assert self._trust is not None
            self._trust_age += 1
            return moved, self._trust.copy()
        backward, origin = flows.backward.result(), flows.origin
        back = moved + _sample(backward, _scaled(moved, k) - origin) / k
        miss = np.linalg.norm(back - ref_points, axis=1)
        trust = np.exp(-((miss / self.config.consistency_px) ** 2))
        trust[self.kept[self.kept < len(trust)]] = 0.0
        self._trust, self._trust_age = trust, 0
        return moved, trust.copy()

    def _start(self, crop: np.ndarray, near: np.ndarray | None, here: bool) -> _Flows:
        """Both flows (the backward one only when a check is due): the backward one on the
        helper, the forward one on this thread (`here`) or queued on the helper before it."""
        assert self._reference is not None
        ref_gray, ref_points = self._reference
        gray, k = _gray(crop, self.config.scale), self.config.scale
        points = ref_points if near is None else np.vstack([ref_points, near[:, :2]])
        rows, cols = self._window(_scaled(points, k), gray.shape)
        ref_gray, gray = (np.ascontiguousarray(g[rows, cols]) for g in (ref_gray, gray))
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, "flow")
        forward: Future = Future()
        if not here:
            forward = self._pool.submit(self._forward.calc, ref_gray, gray, None)
        backward = None
        if self._trust is None or self._trust_age >= self.config.check_every - 1:
            backward = self._pool.submit(self._backward.calc, gray, ref_gray, None)
        if here:
            forward.set_result(self._forward.calc(ref_gray, gray, None))
        return _Flows(np.array([cols.start, rows.start], np.float64), forward, backward)

    def _drop_early(self) -> None:
        """Flows begun on a crop that was not used: let them finish (each DIS object runs
        one flow at a time) and forget them."""
        if self._early is not None:
            self._early[1].wait()
            self._early = None

    def _window(self, points: np.ndarray, shape: tuple[int, ...]) -> tuple[slice, slice]:
        """Rows and columns of the (scaled) crop the flow is measured in: the points' box grown
        by the margin (the pixels outside move nothing the receiver is told about)."""
        h, w = shape[:2]
        if self.config.margin_px is None:
            return slice(0, h), slice(0, w)
        m = self.config.margin_px * self.config.scale
        lo = np.floor(points.min(axis=0) - m).astype(int)
        hi = np.ceil(points.max(axis=0) + m).astype(int) + 1
        x0, y0 = max(0, min(lo[0], w - 16)), max(0, min(lo[1], h - 16))
        x1, y1 = min(w, max(hi[0], x0 + 16)), min(h, max(hi[1], y0 + 16))
        return slice(y0, y1), slice(x0, x1)

    def close(self) -> None:
        """Ends the helper threads (after any flow in flight); the object stays usable."""
        self._drop_early()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


@dataclass(frozen=True)
class _Flows:
    """Both flows of one crop in flight: the window's corner in the crop, and the futures."""

    origin: np.ndarray
    forward: Future
    backward: Future | None

    def wait(self) -> None:
        for f in (self.forward, self.backward):
            if f is not None:
                f.result()


def _opening(landmarks: np.ndarray, eye: str) -> float:
    """An eye's lid gap over its width, from MediaPipe's points."""
    upper, lower, inner, outer = (np.asarray(landmarks)[i, :2] for i in EYE_LIDS[eye])
    width = float(np.linalg.norm(outer - inner))
    return float(np.linalg.norm(upper - lower)) / max(width, 1e-6)


def _scaled(points: np.ndarray, k: float) -> np.ndarray:
    """Crop pixel positions in the crop resized by k (pixel centres kept aligned)."""
    return (points + 0.5) * k - 0.5


def _gray(rgb: np.ndarray, scale: float = 1.0) -> np.ndarray:
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    if scale == 1.0:
        return gray
    size = (round(gray.shape[1] * scale), round(gray.shape[0] * scale))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def _sample(flow: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear flow (dx, dy) at sub-pixel points (P, 2)."""
    at = points.astype(np.float32).reshape(-1, 1, 2)
    out = cv2.remap(flow, at[..., 0], at[..., 1], cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return out.reshape(-1, 2).astype(np.float64)
