"""Frames per message follow the path's round-trip time, with hysteresis."""

from __future__ import annotations

from sender.bundling import Bundling
from sender.config import SenderConfig


def test_a_slow_path_bundles_and_a_fast_one_goes_back_only_after_settling():
    b = Bundling(SenderConfig(slow_rtt_ms=150, fast_rtt_ms=60, slow_frames_per_message=4,
                              slow_for_s=1.5, settle_s=10))
    assert b.update([None], 0.0) is None and b.size == 1  # nothing measured yet
    assert b.update([20.0, 40.0], 1.0) is None and b.size == 1
    assert b.update([20.0, 400.0], 1.5) is None  # one high reading is a spike
    assert b.update([20.0], 1.6) is None and b.update([400.0], 1.7) is None
    assert b.update([20.0, 400.0], 2.0) is None and b.size == 1
    assert b.update([20.0, 400.0], 3.2) == 4  # high for 1.5 s: the worst link decides
    assert b.update([100.0], 3.0) is None and b.size == 4  # between the thresholds: stay
    assert b.update([30.0], 4.0) is None
    assert b.update([90.0], 9.0) is None  # not settled: the clock starts again
    assert b.update([30.0], 10.0) is None and b.update([30.0], 19.0) is None
    assert b.update([30.0], 20.0) == 1 and b.size == 1


def test_adaptation_can_be_turned_off():
    b = Bundling(SenderConfig(slow_rtt_ms=None))
    assert b.update([900.0], 0.0) is None and b.size == 1


def test_reference_pictures_are_coded_smaller_while_the_path_is_slow():
    b = Bundling(SenderConfig(slow_rtt_ms=150, slow_for_s=1.0, settle_s=2.0,
                              slow_picture_quality=30))
    assert b.picture_quality(50) == 50
    b.update([400.0], 0.0)
    assert b.update([400.0], 1.0) == 4 and b.picture_quality(50) == 30
    assert b.picture_quality(20) == 20  # never raised above what the user asked for
    b.update([30.0], 2.0)
    assert b.update([30.0], 4.0) == 1 and b.picture_quality(50) == 50
    off = Bundling(SenderConfig(slow_rtt_ms=150, slow_for_s=0.0, slow_picture_quality=None))
    off.update([400.0], 0.0)
    assert off.update([400.0], 0.1) == 4 and off.picture_quality(50) == 50


def test_a_lower_quality_makes_a_smaller_reference(dev_dir):
    from codec.encoder import Encoder
    from codec.prior.flame_io import load_prior
    from codec.video import read_frames

    frame = next(iter(read_frames(dev_dir / "dagan_driving.mp4", max_frames=1)))
    sizes = []
    for quality in (50, 30):
        encoder = Encoder(load_prior(None))
        encoder.picture_quality = quality
        encoder.start()
        sizes.append(encoder.encode(frame).reference_bytes)
    assert 0 < sizes[1] < 0.8 * sizes[0]
