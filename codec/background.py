"""How far the background follows the head, chosen by the sender frame by frame.

The mesh warp moves what lies around the face with two rings (`render/meshwarp.py`); how much
of the head's motion they should follow depends on the shot: hair, shoulders and a hand-held
camera move with the head, a wall behind a camera on a desk does not. No fixed setting suits
every clip, and most of a frame's error lies there (on four validation clips, 68 % of the
squared error more than 20 px outside the face). The sender holds the true frame, so it
renders the background sheet alone at low resolution for the levels next to the current
ones, and moves to the one with the least error outside the face: analysis by synthesis,
for six bits a frame (`Motion.follow`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from bitstream.packets import DEFAULT_FOLLOW, FOLLOW_BITS
from codec.driving import STILL_VIEW, DrivingState, follow_shares
from codec.prior.flame import FlameModel
from codec.prior.params import FaceParams
from codec.render.meshwarp import MeshWarpRenderer


@dataclass(frozen=True)
class BackgroundConfig:
    choose: bool = True  # False: the fixed levels every stream before version 4 rendered with
    size: int = 96  # crop px the candidates are rendered and compared at
    every: int = 4  # frames between searches; the levels hold in between
    gain: float = 0.01  # a move must cut the error by this share (no flicker on near ties)
    top: int = 6  # highest level tried (1.5 of the head's motion)

    def __post_init__(self) -> None:
        if not 32 <= self.size <= 512 or self.every < 1:
            raise ValueError("background analysis size must be 32..512 and every >= 1")
        if not 0 < self.top < 1 << FOLLOW_BITS:
            raise ValueError(f"background top level must be 1..{(1 << FOLLOW_BITS) - 1}")


class BackgroundChooser:
    """Keeps the current levels and moves them one step at a time toward a better fit."""

    def __init__(self, model: FlameModel, config: BackgroundConfig = BackgroundConfig()):
        self.config = config
        # only a sender that chooses needs the renderer, and the reference at its size
        self.renderer = MeshWarpRenderer(model) if config.choose else None
        self.levels: tuple[int, int] = DEFAULT_FOLLOW
        self.moved = False  # whether the sheet's border follows the crop's own motion (view)
        self.every = config.every  # a busy sender searches less often
        self._ready = False

    def set_reference(self, crop: np.ndarray, params: FaceParams) -> None:
        if self.renderer is None:
            return
        s = self.config.size
        small = cv2.resize(crop, (s, s), interpolation=cv2.INTER_AREA)
        self.renderer.set_reference(small, params.at_size(s))
        self._ready = True

    def __call__(self, seq: int, crop: np.ndarray, driving: DrivingState) -> tuple[int, int]:
        """The levels for this frame (`driving` as the receiver decodes it, `crop` as seen)."""
        c = self.config
        if self.renderer is None or not self._ready or seq % self.every:
            return self.levels
        candidates = [self.levels, *self._neighbours(self.levels)]
        judge = self._judge(crop, driving)
        errors = judge(candidates)
        if driving.view != STILL_VIEW and self._flip_view(judge, errors[0]):
            errors = judge(candidates)
        best = int(np.argmin(errors))
        if errors[best] >= errors[0] * (1 - c.gain):
            return self.levels
        # a move: keep going that way while it pays (a new shot converges in one search)
        level, error = candidates[best], errors[best]
        step = (level[0] - self.levels[0], level[1] - self.levels[1])
        while self._valid(further := (level[0] + step[0], level[1] + step[1])):
            e = judge([further])[0]
            if e >= error * (1 - c.gain):
                break
            level, error = further, e
        self.levels = level
        return level

    def _flip_view(self, judge, error: float) -> bool:
        """Whether the scenery behind is better taken as still (where the sender's crop moved
        from, as under a camera that holds still) or as moving with the crop (a camera that
        pans and zooms with the face, a cut): flips `moved` when the other fits this frame
        better by the search's margin (`error`: the current choice's)."""
        other = judge([self.levels], not self.moved)[0]
        if other < error * (1 - self.config.gain):
            self.moved = not self.moved
            return True
        return False

    def settle(self, crop: np.ndarray, driving: DrivingState,
               start: tuple[int, int] = DEFAULT_FOLLOW) -> tuple[int, int]:
        """Where the search comes to rest on this one frame, from `start`: the levels a
        sender would send for a frame with no history (training pairs of any two frames)."""
        self.levels, self.moved = start, False
        while self(0, crop, driving) != start:
            start = self.levels
        return start

    def _judge(self, crop: np.ndarray, driving: DrivingState):
        """A function of candidate levels: the squared error outside the face of the
        background sheet at each one's levels, at the analysis size. This frame's picture at
        that size, its mesh and the mask outside its face are made once, for every step of a
        search."""
        renderer = self.renderer
        assert renderer is not None and self._ready
        s = self.config.size
        pose = renderer.background_pose(replace(driving, params=driving.params.at_size(s)))
        frame = cv2.resize(crop, (s, s), interpolation=cv2.INTER_AREA)
        outside = self._outside(pose[0][renderer.outline])

        def errors(candidates: list[tuple[int, int]], moved: bool | None = None) -> list[float]:
            view = driving.view if (self.moved if moved is None else moved) else STILL_VIEW
            shown = renderer.render_backgrounds(pose, [follow_shares(x) for x in candidates],
                                                view)  # fmt: skip
            return [cv2.norm(frame, picture, cv2.NORM_L2SQR, outside) for picture in shown]

        return errors

    def _neighbours(self, levels: tuple[int, int]) -> list[tuple[int, int]]:
        a, b = levels
        return [x for x in [(a - 1, b), (a + 1, b), (a, b - 1), (a, b + 1)] if self._valid(x)]

    def _valid(self, levels: tuple[int, int]) -> bool:
        return all(0 <= x <= self.config.top for x in levels)

    def _outside(self, outline: np.ndarray) -> np.ndarray:
        """A mask of the pixels clear of the face (its outline's hull, grown by two pixels)."""
        s = self.config.size
        hull = cv2.convexHull(outline.astype(np.float32))
        face = np.zeros((s, s), np.uint8)
        cv2.fillConvexPoly(face, np.rint(hull[:, 0] * 16).astype(np.int32), 1, cv2.LINE_8, 4)
        return (cv2.dilate(face, np.ones((5, 5), np.uint8)) == 0).astype(np.uint8)
