"""The scenery's motion measured from its pixels (`codec/scenery.py`)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from codec.driving import STILL_VIEW, view_matrix
from codec.scenery import SceneryMotion

SIZE = 96


def _wall(seed: int = 0) -> np.ndarray:
    tiles = np.random.default_rng(seed).integers(0, 255, (SIZE // 6, SIZE // 6, 3), np.uint8)
    return cv2.GaussianBlur(cv2.resize(tiles, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST),
                            (0, 0), 1.0)  # fmt: skip


def _face(cx: float, cy: float, r: float = 18.0) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    return np.stack([cx + r * np.cos(a), cy + 1.3 * r * np.sin(a)], axis=1)


@pytest.mark.parametrize("view", [(1.0, 0.04, -0.02), (1.06, -0.03, 0.01), (0.95, 0.0, 0.05)])
def test_a_wall_moved_by_a_view_is_measured_as_that_view(view):
    """The reference's wall, moved and zoomed as a camera would, with a face drawn over a
    different place in each picture: the measured view is the one applied (to 0.2 px)."""
    wall = _wall()
    ref_face, face = _face(48, 50), _face(40, 46)
    moved = cv2.warpAffine(wall, view_matrix(view, SIZE), (SIZE, SIZE),
                           borderMode=cv2.BORDER_REFLECT101)  # fmt: skip
    reference, now = wall.copy(), moved.copy()
    for picture, outline in ((reference, ref_face), (now, face)):
        cv2.fillConvexPoly(picture, np.rint(outline).astype(np.int32), (200, 160, 140))
    scenery = SceneryMotion()
    scenery.set_reference(reference, ref_face)
    seen = scenery(now, face, STILL_VIEW)
    assert seen is not None
    corners = np.array([[10.0, 10.0, 1.0], [86.0, 80.0, 1.0]])
    error = corners @ view_matrix(seen, SIZE).T - corners @ view_matrix(view, SIZE).T
    assert np.abs(error).max() < 0.2
    again = scenery(now, face, STILL_VIEW)  # warm-started from the last answer
    assert again is not None and np.allclose(again, seen, atol=1e-3)


def test_no_view_where_the_scenery_cannot_be_measured():
    """A face that fills the picture leaves too little scenery; a blank wall has nothing to
    align; before a reference there is nothing to align to."""
    scenery = SceneryMotion()
    assert scenery(_wall(), _face(48, 48), STILL_VIEW) is None  # no reference yet
    big = _face(48, 48, r=45.0)
    scenery.set_reference(_wall(), big)
    assert scenery(_wall(), big, STILL_VIEW) is None
    flat = np.full((SIZE, SIZE, 3), 128, np.uint8)
    scenery.set_reference(flat, _face(48, 48))
    assert scenery(flat, _face(48, 48), STILL_VIEW) is None
