"""The reference bank: a few pictures of the mouth and eyes held beside the base reference.

One base picture can only be bent into shape: a mouth that opens wider than in it shows a
dark hole where the person shows teeth, eyes that close further stay half open. So the
sender adds a bank picture (one region of the crop, a few hundred bytes) when a frame shows
what no held picture covers: the mouth open wider, the eyes closed further. The receiver
takes each region from the held picture whose state is nearest the decoded frame's, chosen
from the decoded parameters alone, so the choice costs no bits per frame.

Both sides measure a region's state the same way (`face_state`, on iBUG-68 landmarks), and
the sender names the slot each picture fills, so both always agree on what is held.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from bitstream import BankRegion
from bitstream.limits import MAX_BANK_SLOTS
from codec.prior.keypoints import LOWER_LIDS, UPPER_LIDS
from codec.prior.params import FaceParams

REGION_POINTS = {
    BankRegion.MOUTH: np.arange(48, 68),
    BankRegion.EYES: np.arange(36, 48),
}
INNER_GAPS = ((61, 67), (62, 66), (63, 65))  # upper and lower inner lip, left to right
# How far two states must differ to look different, per measure: distances between states
# are in these units, so one threshold serves the mouth's two measures and the eyes' one.
SCALES = {"mouth": 0.1, "width": 0.06, "eyes": 0.08}


@dataclass(frozen=True)
class BankConfig:
    slots: int = 4  # bank pictures held at once; 0 turns the bank off
    # A mouth picture when the mouth is open (gap over width at least `mouth_min`) and its
    # shape is at least `novelty` (in SCALES units) from every held picture's: open wider,
    # or as wide but stretched (a grin shows teeth), or rounded.
    mouth_min: float = 0.08
    novelty: float = 1.0
    # An eyes picture when the eyes are open under this fraction of every held picture's
    # (as fitted: the fit reads a blink as about 0.75 of open, dlib as 0.5):
    eyes_ratio: float = 0.8
    peak_frames: int = 4  # the widest (most closed) frame within this many is the one sent
    min_spacing_s: float = 0.8  # between two bank pictures of one region
    margin: float = 0.2  # the box around a region's landmarks, as a fraction of its size
    # The bank's bytes are budgeted like a token bucket: `burst_bytes` at the start (a few
    # pictures for the first moments that need them), then `bytes_per_s` (0.64 kbit/s, a
    # twelfth of a params-mode call's rate). A region's first picture may overdraw it; a
    # later one waits until it holds as much as the pictures sent so far took on average.
    burst_bytes: int = 1200
    bytes_per_s: float = 80.0
    # Bank pictures' quality relative to the reference's (which follows the path): at -15 a
    # mouth picture is ~35 % smaller, and on the held-out clips more of them in the same
    # budget beat fewer sharper ones (mouth-region PSNR +2.4 against +0.7 dB on lp_driving_d5).
    quality_offset: int = -15

    def __post_init__(self) -> None:
        if not 0 <= self.slots <= MAX_BANK_SLOTS:
            raise ValueError(f"bank slots must be 0..{MAX_BANK_SLOTS}, got {self.slots}")
        if self.peak_frames < 1 or self.min_spacing_s < 0 or self.margin < 0:
            raise ValueError("bank peak_frames must be >= 1, spacing and margin >= 0")
        if self.burst_bytes < 0 or self.bytes_per_s < 0:
            raise ValueError("bank burst_bytes and bytes_per_s must be >= 0")


@dataclass(frozen=True)
class FaceState:
    """The shape of the mouth and how far the eyes are open, as ratios that do not change
    with the face's size in the crop."""

    mouth: float  # inner-lip gap over mouth width
    width: float  # mouth width over the outer eye corners' distance
    eyes: float  # lid gap over eye width, both eyes


def face_state(lm68: np.ndarray) -> FaceState:
    lm = np.asarray(lm68)[:, :2]
    gaps = np.linalg.norm(lm[[a for a, _ in INNER_GAPS]] - lm[[b for _, b in INNER_GAPS]], axis=1)
    mouth_width = float(np.linalg.norm(lm[54] - lm[48]))
    lids = np.linalg.norm(lm[list(UPPER_LIDS)] - lm[list(LOWER_LIDS)], axis=1).sum()
    eye_width = np.linalg.norm(lm[[39, 45]] - lm[[36, 42]], axis=1).sum()
    corners = max(float(np.linalg.norm(lm[45] - lm[36])), 1e-6)
    return FaceState(float(gaps.mean() / max(mouth_width, 1e-6)), mouth_width / corners,
                     float(lids / max(eye_width, 1e-6)))  # fmt: skip


def distance(region: BankRegion, frame: FaceState, held: FaceState,
             under_open: float = 1.0) -> float:
    """How different a region looks in two states, in SCALES units. With `under_open` > 1, a
    held mouth open less than the frame's counts that much more (it would show a dark hole
    where the frame shows teeth)."""
    if region == BankRegion.EYES:
        return abs(held.eyes - frame.eyes) / SCALES["eyes"]
    gap = (held.mouth - frame.mouth) / SCALES["mouth"]
    gap *= under_open if gap < 0 else 1.0
    return float(np.hypot(gap, (held.width - frame.width) / SCALES["width"]))


def region_box(lm68: np.ndarray, region: BankRegion, size: int,
               margin: float) -> tuple[int, int, int, int]:
    """The crop box (x, y, w, h) a region's picture covers: its landmarks' bounds grown by
    `margin` (more upward for the eyes, where the lids move), on an 8 px grid, in the crop."""
    pts = np.asarray(lm68)[REGION_POINTS[region], :2]
    lo, hi = pts.min(0), pts.max(0)
    span = hi - lo
    grow = np.array([margin * span[0], margin * span[0]])
    if region == BankRegion.EYES:  # eye landmarks hug the lids: reach up to the brows
        grow[1] = 0.5 * span[0] / 2
    x0, y0 = np.floor((lo - grow) / 8) * 8
    x1, y1 = np.ceil((hi + grow) / 8) * 8
    x0, y0 = max(int(x0), 0), max(int(y0), 0)
    x1, y1 = min(int(x1), size), min(int(y1), size)
    if x1 - x0 < 16 or y1 - y0 < 16:
        raise ValueError("region box outside the crop")
    return x0, y0, x1 - x0, y1 - y0


@dataclass(frozen=True)
class BankShot:
    """A frame chosen for the bank: the slot it fills, its region and box, its crop."""

    slot: int
    region: BankRegion
    box: tuple[int, int, int, int]
    crop: np.ndarray
    lm68: np.ndarray
    params: FaceParams  # the frame's fit
    state: FaceState


@dataclass(frozen=True)
class BankPicture:
    """A bank picture as the receiver holds it: its patch on a crop-size canvas at its box,
    that frame's fit (with the stream's identity) and the state it shows."""

    slot: int
    region: BankRegion
    box: tuple[int, int, int, int]
    canvas: np.ndarray  # RGB uint8, crop size; black outside the box
    params: FaceParams
    state: FaceState

    @staticmethod
    def place(patch: np.ndarray, box: tuple[int, int, int, int], size: int) -> np.ndarray:
        x, y, w, h = box
        canvas = np.zeros((size, size, 3), np.uint8)
        canvas[y : y + h, x : x + w] = patch
        return canvas


@dataclass
class _Held:
    region: BankRegion
    state: FaceState
    seq: int


@dataclass
class BankPlanner:
    """The sender's side: which frames become bank pictures, and into which slot.

    `update` sees every fitted frame. When one shows a region beyond every held picture's
    state (the base's included), the planner waits up to `peak_frames` for the widest
    (most closed) frame of that moment and returns it; a full bank gives up the oldest
    picture of the same region, else the oldest."""

    config: BankConfig
    fps: float
    base: FaceState | None = None
    held: dict[int, _Held] = field(default_factory=dict)
    _pending: dict[BankRegion, tuple[float, int, BankShot]] = field(default_factory=dict)
    _last_seq: dict[BankRegion, int] = field(default_factory=dict)
    _tokens: float | None = None  # bytes the budget allows now
    _token_seq: int = 0
    _sizes: list[int] = field(default_factory=list)  # bytes of the pictures sent

    def set_base(self, state: FaceState) -> None:
        self.base = state

    def update(self, seq: int, state: FaceState, crop: np.ndarray, lm68: np.ndarray,
               params) -> list[BankShot]:
        if not self.config.slots or self.base is None:
            return []
        affordable = self._refill(seq)
        out = []
        for region in BankRegion:
            score = self._novelty(region, state)
            pending = self._pending.get(region)
            first = all(h.region != region for h in self.held.values())
            if pending is None and score is not None and (affordable or first) and (
                    self._spaced(region, seq)):  # fmt: skip
                pending = (score, seq, self._shot(region, state, crop, lm68, params))
            elif pending is not None and score is not None and score > pending[0]:
                pending = (score, pending[1], self._shot(region, state, crop, lm68, params))
            if pending is None:
                continue
            self._pending[region] = pending
            if seq - pending[1] + 1 >= self.config.peak_frames:
                out.append(self._commit(pending[2], seq))
        return out

    def spent(self, nbytes: int) -> None:
        """The encoder sent a bank picture of this many bytes."""
        self._tokens = (self._tokens or 0.0) - nbytes
        self._sizes.append(nbytes)

    def _refill(self, seq: int) -> bool:
        """Tokens earned since the last frame; whether a typical picture is affordable."""
        c = self.config
        if self._tokens is None:
            self._tokens = float(c.burst_bytes)
        earned = (seq - self._token_seq) * c.bytes_per_s / self.fps
        self._tokens = min(self._tokens + earned, float(c.burst_bytes))
        self._token_seq = seq
        typical = float(np.mean(self._sizes[-8:])) if self._sizes else 500.0
        return self._tokens >= typical

    def _novelty(self, region: BankRegion, state: FaceState) -> float | None:
        """How far the region is from every held picture's, when that is far enough to send
        (None otherwise); larger is further."""
        c = self.config
        assert self.base is not None
        known = [self.base] + [h.state for h in self.held.values() if h.region == region]
        if region == BankRegion.EYES:
            least = min(k.eyes for k in known)
            return least - state.eyes if state.eyes < c.eyes_ratio * least else None
        if state.mouth < c.mouth_min:
            return None
        score = min(distance(region, state, k) for k in known)
        return score if score >= c.novelty else None

    def _spaced(self, region: BankRegion, seq: int) -> bool:
        last = self._last_seq.get(region, -(10**9))
        return seq - last >= self.config.min_spacing_s * self.fps

    def _shot(self, region: BankRegion, state: FaceState, crop, lm68, params) -> BankShot:
        box = region_box(lm68, region, crop.shape[0], self.config.margin)
        return BankShot(-1, region, box, crop, lm68, params, state)

    def _commit(self, shot: BankShot, seq: int) -> BankShot:
        del self._pending[shot.region]
        slot = self._free_slot(shot.region)
        self.held[slot] = _Held(shot.region, shot.state, seq)
        self._last_seq[shot.region] = seq
        return replace(shot, slot=slot)

    def _free_slot(self, region: BankRegion) -> int:
        free = [s for s in range(self.config.slots) if s not in self.held]
        if free:
            return free[0]
        same = [s for s, h in self.held.items() if h.region == region] or list(self.held)
        return min(same, key=lambda s: self.held[s].seq)

