"""The bed's delay line, without a network: delay, jitter bounds, order and the memory cap."""

import pytest

from benchmarks.delayline import MAX_HELD, DelayLine


def test_packets_leave_after_the_delay_within_the_jitter_and_in_order():
    line = DelayLine(50, 10, seed=1)
    for i in range(200):
        line.push(bytes([i % 256]), now=i * 0.001)
    assert line.due(0.039) == []  # nothing before delay - jitter
    out, t, leave = [], 0.0, []
    while line.held:
        t += 0.0005
        got = line.due(t)
        out += got
        leave += [t] * len(got)
    assert out == [bytes([i % 256]) for i in range(200)]  # no reordering
    assert all(0.040 <= t_out - i * 0.001 <= 0.0605 for i, t_out in enumerate(leave))


def test_the_line_holds_at_most_max_held_packets():
    line = DelayLine(1000)
    for _ in range(MAX_HELD + 10):
        line.push(b"x", now=0.0)
    assert len(line.held) == MAX_HELD and line.dropped == 10
    assert line.wait(0.5) == pytest.approx(0.5)


def test_jitter_cannot_exceed_the_delay():
    with pytest.raises(ValueError):
        DelayLine(10, 20)
