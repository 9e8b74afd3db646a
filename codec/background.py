"""How far the background follows the head, chosen by the sender frame by frame.

The mesh warp moves what lies around the face with two rings (`render/meshwarp.py`); how much
of the head's motion they should follow depends on the shot: hair, shoulders and a hand-held
camera move with the head, a wall behind a camera on a desk does not. No fixed setting suits
every clip, and most of a frame's error lies there (on four validation clips, 68 % of the
squared error more than 20 px outside the face). The sender holds the true frame, so it
renders the background sheet alone at low resolution for the levels next to the current
ones, and moves to the one with the least error outside the face: analysis by synthesis,
for six bits a frame (`Motion.follow`).

It also chooses where the scenery behind goes when the crop itself moves (`Motion.view`): with
the crop (no view: a camera that pans and zooms with the face), nowhere (the box's view: a
camera that holds still while the sender re-centres its crop), or where its own pixels say
(`scenery.py`: a camera that moves, or a clip cut around the face before it reached us).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from bitstream.packets import DEFAULT_FOLLOW, FOLLOW_BITS
from codec.driving import STILL_VIEW, DrivingState, follow_shares, view_from_levels, view_levels
from codec.prior.flame import FlameModel
from codec.prior.params import FaceParams
from codec.render.base import reference_at_size
from codec.render.meshwarp import MeshWarpRenderer
from codec.scenery import SceneryMotion

WITH_CROP, BOX, MEASURED = "with crop", "box", "measured"  # where the scenery goes (the view)


@dataclass(frozen=True)
class BackgroundConfig:
    choose: bool = True  # False: the fixed levels every stream before version 4 rendered with
    size: int = 96  # crop px the candidates are rendered and compared at
    every: int = 4  # frames between searches; the levels hold in between
    gain: float = 0.01  # a move must cut the error by this share (no flicker on near ties)
    top: int = 6  # highest level tried (1.5 of the head's motion)
    measure: bool = True  # also try the scenery's motion measured from its pixels

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
        self.scenery = WITH_CROP  # where the sheet's border goes when the crop moves
        self.view = STILL_VIEW  # this frame's view under that choice, as sent
        self.every = config.every  # a busy sender searches less often
        self._measure = SceneryMotion() if config.measure else None
        self._seen: tuple | None = None  # the last measured view
        self._measured_now = False  # whether `_seen` was measured in this frame
        self._looked: int | None = None  # the frame `look` saw
        self._ready = False

    @property
    def moved(self) -> bool:
        """Whether the frame carries a view (the scenery does not simply go with the crop)."""
        return self.view != STILL_VIEW

    def set_reference(self, picture: np.ndarray, params: FaceParams) -> None:
        """`picture`: the reference as sent, its crop or the crop grown by a margin
        (`split_reference`), so the candidates reach past the crop's edge as the
        receiver's warp will."""
        if self.renderer is None:
            return
        s = self.config.size
        small, grown = reference_at_size(picture, params.crop_size, s)
        self.renderer.set_reference(grown, params.at_size(s))
        if self._measure is not None:
            self._measure.set_reference(small, self.renderer.src[self.renderer.outline])
            self._seen = None
        self._looked = None  # a frame measured against the reference before is measured again
        self._ready = True

    def look(self, seq: int, crop: np.ndarray, box_view: tuple, face: np.ndarray) -> None:
        """The part of a frame's work that needs no fit, done while a sender's core would wait
        for the reference flows: this frame's scenery measured where it is due (`box_view`:
        the crop box's view, where the measurement starts; `face`: this frame's landmarks in
        crop pixels, the part of the picture it leaves out). The search itself needs the
        fitted pose; judging it one frame later cost 0.05 dB on the held-out clips."""
        if self.renderer is None or not self._ready:
            return
        self._looked = seq
        self._measured_now = self._due(seq)
        if self._measured_now:
            self._seen = self._measured(crop, box_view, face)

    def __call__(self, seq: int, crop: np.ndarray, driving: DrivingState,
                 face: np.ndarray | None = None) -> tuple[int, int]:
        """The levels for this frame (`driving` as the receiver decodes it, with the box's
        view; `crop` as seen; `face`, its landmarks in crop pixels, spares posing the mesh
        for the scenery's measurement); `view` then holds the view to send with them. What
        `look` did not do for this frame is done here."""
        if self.renderer is None or not self._ready:
            self.view = STILL_VIEW
            return self.levels
        judge = self._judge(self._small(crop), driving) if seq % self.every == 0 else None
        if self._looked != seq:
            self._measured_now = self._due(seq)
            if self._measured_now:
                if face is None:
                    posed = judge or self._judge(self._small(crop), driving)
                    face = posed.outline * (crop.shape[0] / self.config.size)
                self._seen = self._measured(crop, driving.view, face)
        views = {WITH_CROP: STILL_VIEW}
        if driving.view != STILL_VIEW:
            views[BOX] = driving.view
        if self._seen is not None and (self._measured_now or self.scenery == MEASURED):
            views[MEASURED] = self._seen
        self.view = _fallback(views, self.scenery)
        if judge is not None:  # a search frame
            self._search(judge, views)
        return self.levels

    def _due(self, seq: int) -> bool:
        """Whether this frame's scenery is measured: on search frames, and while measured
        views are sent, every frame (every fourth while a busy sender searches a quarter as
        often, the last one held between)."""
        if self._measure is None:
            return False
        search = seq % self.every == 0
        return search or (self.scenery == MEASURED
                          and seq % max(1, self.every // self.config.every) == 0)

    def _search(self, judge: _Judge, views: dict[str, tuple]) -> None:
        """The levels step toward the best fit of this frame, and the scenery (and `view`)
        moves to its choice that fits it best."""
        c = self.config
        candidates = [self.levels, *self._neighbours(self.levels)]
        errors = judge(candidates, self.view)
        if len(views) > 1 and self._choose_scenery(judge, views, errors[0]):
            self.view = views[self.scenery]
            errors = judge(candidates, self.view)
        best = int(np.argmin(errors))
        if errors[best] >= errors[0] * (1 - c.gain):
            return
        # a move: keep going that way while it pays (a new shot converges in one search)
        level, error = candidates[best], errors[best]
        step = (level[0] - self.levels[0], level[1] - self.levels[1])
        while self._valid(further := (level[0] + step[0], level[1] + step[1])):
            e = judge([further], self.view)[0]
            if e >= error * (1 - c.gain):
                break
            level, error = further, e
        self.levels = level

    def _measured(self, crop, box_view: tuple, face: np.ndarray) -> tuple | None:
        """The scenery's view measured in this frame, as the receiver would get it (None when
        it cannot be measured or shows no motion); the faces are left out by their outlines."""
        assert self._measure is not None
        seen = self._measure(crop, face, box_view)
        if seen is None or (view := view_from_levels(view_levels(seen))) == STILL_VIEW:
            return None
        return view

    def _choose_scenery(self, judge, views: dict[str, tuple], error: float) -> bool:
        """Moves to the other choice of where the scenery goes whose sheet fits this frame
        best, when it beats the current one (`error`) by the search's margin."""
        others = [k for k in views if k != self.scenery]
        errors = [judge([self.levels], views[k])[0] for k in others]
        best = int(np.argmin(errors))
        if errors[best] < error * (1 - self.config.gain):
            self.scenery = others[best]
            return True
        return False

    def settle(self, crop: np.ndarray, driving: DrivingState,
               start: tuple[int, int] = DEFAULT_FOLLOW) -> tuple[int, int]:
        """Where the search comes to rest on this one frame, from `start`: the levels a
        sender would send for a frame with no history (training pairs of any two frames)."""
        self.levels, self.scenery, self._looked = start, WITH_CROP, None
        while self(0, crop, driving) != start:
            start = self.levels
        return start

    def _small(self, crop: np.ndarray) -> np.ndarray:
        s = self.config.size
        return cv2.resize(crop, (s, s), interpolation=cv2.INTER_AREA)

    def _judge(self, small: np.ndarray, driving: DrivingState) -> _Judge:
        """A function of candidate levels and a view: the squared error outside the face of
        the background sheet at each one's levels, at the analysis size (`small`: this
        frame's picture at that size). Its mesh and the mask outside its face are made once,
        for every step of a search."""
        renderer = self.renderer
        assert renderer is not None and self._ready
        s = self.config.size
        pose = renderer.background_pose(replace(driving, params=driving.params.at_size(s)))
        outline = pose[0][renderer.outline]
        return _Judge(renderer, pose, small, outline, self._outside(outline))

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


def _fallback(views: dict[str, tuple], scenery: str) -> tuple:
    """The view of `scenery`, or where it cannot be had this frame, the box's (measured: it
    failed) or none (the box: the crop is back where the reference's was)."""
    for choice in (scenery, BOX) if scenery == MEASURED else (scenery,):
        if choice in views:
            return views[choice]
    return STILL_VIEW


@dataclass(frozen=True)
class _Judge:
    """One frame at the analysis size, ready to score background candidates."""

    renderer: MeshWarpRenderer
    pose: tuple[np.ndarray, np.ndarray]
    frame: np.ndarray
    outline: np.ndarray
    outside: np.ndarray

    def __call__(self, candidates: list[tuple[int, int]], view: tuple) -> list[float]:
        shown = self.renderer.render_backgrounds(self.pose,
                                                 [follow_shares(x) for x in candidates], view)
        return [cv2.norm(self.frame, picture, cv2.NORM_L2SQR, self.outside) for picture in shown]
