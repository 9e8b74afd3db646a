"""A busy sender skips the second landmark look and takes it again with time to spare
(sender/looks.py), and the face track obeys (codec/prior/face_track.py)."""

from dataclasses import replace

from codec.prior.face_track import FaceTrack
from sender.config import SenderConfig
from sender.looks import Looks

CONFIG = SenderConfig()  # 25 fps: a 40 ms frame; busy over 24 ms, idle under 14 ms


def _feed(looks: Looks, ms: float, frames: int) -> list[int]:
    return [n for n in (looks.update(ms) for _ in range(frames)) if n is not None]


def test_one_look_while_busy_two_again_with_time_to_spare():
    looks = Looks(CONFIG, 25.0, most=2)
    assert _feed(looks, 20.0, 100) == []  # half the frame time: both looks stay
    assert _feed(looks, 30.0, CONFIG.load_window) == [1]
    assert _feed(looks, 20.0, 100) == []  # one look at half the frame: no flapping back
    assert _feed(looks, 10.0, CONFIG.load_window) == [2]
    assert looks.share == 0.25


def test_a_few_slow_frames_change_nothing():
    looks = Looks(CONFIG, 25.0, most=2)
    times = [15.0] * 20 + [80.0] * 5  # a hiccup: the median stays low
    assert [n for n in map(looks.update, times) if n is not None] == []


def test_never_more_looks_than_configured_and_off_when_asked():
    assert _feed(Looks(CONFIG, 25.0, most=1), 5.0, 100) == []
    assert _feed(Looks(replace(CONFIG, busy_share=None), 25.0, most=2), 90.0, 100) == []


def test_face_track_looks_follow_the_setting():
    both, one = FaceTrack(), FaceTrack(second_look=False)
    try:
        assert (both.looks, one.looks) == (2, 1)
        both.looks, one.looks = 1, 2
        assert (both.looks, one.looks) == (1, 1)  # built without a second look: stays one
        both.looks = 2
        assert both.looks == 2
    finally:
        both.close()
        one.close()
