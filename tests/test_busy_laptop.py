"""The README's demo on a laptop that is never idle: one busy process per core of this machine
while `facecodec demo --frames 150` runs, sender and receiver in that one process.

The aim is 90 % of the frames rendered with capture-to-render latency p95 at most 150 ms;
on this 2-core machine runs reach it about half the time (README, "On a busy laptop"), so
the test holds the floor every run clears with room: three frames in four, p95 under 300 ms.
Before the lighter sender, one look under load and the synthetic head drawn once, runs
here rendered 96-120 of 150 at p95 200-230 ms. The demo runs as a user runs it, in its own
process, and the test waits on it with a deadline."""

import os

from benchmarks.busy import demo_beside

FRAMES = 150


def test_the_demo_stays_live_with_every_core_busy():
    busy = len(os.sched_getaffinity(0))
    figures = demo_beside(busy, FRAMES)
    print(f"demo with {busy} busy processes:", figures)
    assert figures["frames_rendered"] >= 0.75 * FRAMES, figures
    assert figures["latency_ms_p95"] <= 300, figures
