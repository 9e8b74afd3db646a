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
