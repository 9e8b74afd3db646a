import numpy as np

from codec.prior.crop import CropConfig, CropTracker
from codec.prior.landmarks import LandmarkDetector


def test_no_face_gives_none():
    with LandmarkDetector(tracking=False) as detect:
        assert detect(np.full((256, 256, 3), 127, np.uint8)) is None


def _face(cx, cy, size=100.0):
    rng = np.random.default_rng(0)
    xy = rng.uniform(-size / 2, size / 2, (478, 2)) + np.array([cx, cy])
    return np.column_stack([xy, np.zeros(478)])


def test_crop_holds_still_for_small_motion_and_follows_large_motion():
    tracker = CropTracker(CropConfig(smoothing=0.0))
    first = tracker.update(_face(300, 200))
    assert tracker.update(_face(303, 201)) == first
    moved = tracker.update(_face(380, 200))
    assert moved.cx > first.cx + 50
    assert tracker.update(None) == moved


def test_crop_maps_points_both_ways():
    box = CropTracker().update(_face(300, 200))
    pts = _face(300, 200)
    back = box.to_frame(box.to_crop(pts, 256), 256)
    assert np.allclose(back, pts)


def test_the_second_look_averages_the_tracked_mesh_and_the_mesh_where_the_crop_puts_the_face(
    dev_dir,
):
    import pytest

    from codec.config import EncoderConfig
    from codec.prior.face_track import FaceTrack
    from codec.prior.facemesh.rect import Rect
    from codec.video import read_frames

    frames = list(read_frames(dev_dir / "dagan_driving.mp4", max_frames=12))
    two, one = FaceTrack(second_every=1), FaceTrack(second_look=False)
    for frame in frames:
        face, alone = two(frame), one(frame)
    assert face is not None and alone is not None and face.landmarks is not None
    rect = two._in_crop.region
    assert rect is not None
    # the crop holds the face's landmark box 1/1.9 of its side, centred 0.06 below the middle
    side = 1.5 / 1.9
    fixed = LandmarkDetector(tracking=False).in_region(face.crop, Rect(0.5, 0.56, side, side,
                                                                        rect.rotation))
    with LandmarkDetector(tracking=True) as tracked:
        tracked._rect = rect
        t = tracked(face.crop)
    assert t is not None and fixed is not None and np.abs(t - fixed).max() > 0.1  # two opinions
    assert np.allclose(two._look(face.crop, face.box), (t + fixed) / 2)
    with LandmarkDetector(tracking=True) as tracked_alone:  # one look: the tracked one alone
        tracked_alone._rect = one._in_crop.region
        t_alone = tracked_alone(alone.crop)
    assert t_alone is not None and np.allclose(one._look(alone.crop, alone.box), t_alone)
    # no face detection once the face is tracked: the second look costs one mesh run
    calls = []
    two._full._detect = lambda image: calls.append(image)  # type: ignore[method-assign]
    for frame in frames:
        two(frame)
    assert calls == []
    two.close()
    one.close()
    with pytest.raises(ValueError, match="landmark looks"):
        EncoderConfig(landmark_looks=3)


def test_the_two_looks_give_the_same_landmarks_every_run_with_opencv_on_several_threads():
    """OpenCV on several threads split the two looks' simultaneous region warps differently
    from run to run, and the tracked look carried the difference on; the cuts now take
    turns (codec/prior/facemesh/rect.py)."""
    import cv2

    from codec.prior.face_track import FaceTrack
    from codec.prior.flame_io import load_prior
    from codec.synthetic import SyntheticConfig, make_clip

    frames = make_clip(load_prior(), SyntheticConfig(seconds=2.0, seed=3)).frames
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        runs = []
        for _ in range(4):
            track = FaceTrack()
            runs.append(np.stack([face.landmarks for face in map(track, frames)]))
            track.close()
    finally:
        cv2.setNumThreads(before)
    assert all(np.array_equal(runs[0], run) for run in runs[1:])


def test_a_second_look_every_other_frame_carries_its_offset_between(dev_dir):
    """With second_every=2 the second look runs on every other frame of a still crop box; the
    frame between takes the tracked look plus the last offset, and a moved box looks anew."""
    import pytest

    from codec.prior.crop import CropBox
    from codec.prior.face_track import FaceTrack
    from codec.video import read_frames

    track = FaceTrack(second_every=2)
    try:
        for frame in read_frames(dev_dir / "dagan_driving.mp4", max_frames=8):
            face = track(frame)
        assert face is not None
        seconds, tracked = [], []
        second_look = track._second_look
        track._second_look = lambda *a: seconds.append(1) or second_look(*a)
        track._in_crop = _Recording(track._in_crop, tracked)
        track.looks = 2  # forgets any offset: the next frame looks twice
        first = track._look(face.crop, face.box)
        offset = track._offset
        assert len(seconds) == 1 and offset is not None
        assert np.allclose(first, tracked[0] + offset)
        carried = track._look(face.crop, face.box)
        assert len(seconds) == 1 and np.array_equal(carried, tracked[1] + offset)
        track._look(face.crop, face.box)
        assert len(seconds) == 2  # every other frame
        track._look(face.crop, CropBox(face.box.cx + 3, face.box.cy, face.box.side))
        assert len(seconds) == 3  # another crop: its own look, not the old crop's offset
        with pytest.raises(ValueError, match="period"):
            FaceTrack(second_every=0)
    finally:
        track.close()


def test_work_on_the_crop_can_start_before_it_is_looked_at(dev_dir):
    """`on_crop` gets the crop before the face mesh sees it (the Encoder starts the reference
    flow there), only on frames whose look leaves the other core free (no second look), and a
    box that held still returns that very array."""
    for second_look in (False, True):
        given, seconds, faces = _crops_given(dev_dir / "dagan_driving.mp4", second_look)
        # not on the first frame (no box yet: the whole frame is searched), nor beside a
        # second look; always before that frame's look
        assert [n for _, n, _ in given] == [n for n in range(1, 7) if n not in seconds]
        assert all(looks == n - 1 for _, n, looks in given)
        assert len(given) == 6 if not second_look else 0 < len(given) < 6
        held = [n for crop, n, _ in given if faces[n].crop is crop]
        assert len(held) >= len(given) - 2


def _crops_given(video, second_look: bool) -> tuple[list, list[int], list]:
    """Seven frames through a FaceTrack: what `on_crop` got (crop, frame, tracked looks so
    far), the frames that had a second look, and the tracked faces."""
    from codec.prior.face_track import FaceTrack
    from codec.video import read_frames

    track, given, order, seconds, now = FaceTrack(second_look=second_look), [], [], [], [0]
    track._in_crop = _Recording(track._in_crop, order)
    second = track._second_look
    track._second_look = lambda *a: seconds.append(now[0]) or second(*a)
    faces = []
    try:
        for n, frame in enumerate(read_frames(video, max_frames=7)):
            now[0] = n
            faces.append(track(frame, lambda c: given.append((c, now[0], len(order)))))
    finally:
        track.close()
    return given, seconds, faces


class _Recording:
    """A landmark detector that keeps what it answered."""

    def __init__(self, detector, answers: list):
        self.detector, self.answers = detector, answers

    def __call__(self, crop):
        self.answers.append(self.detector(crop))
        return self.answers[-1]

    def __getattr__(self, name):
        return getattr(self.detector, name)
