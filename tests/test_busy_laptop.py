"""The README's demo on a laptop that is never idle: `facecodec demo --frames 150` (signaling,
sender and receiver in one process) while two other processes keep both cores of this 2-core
machine busy, as a browser and the rest of a desktop would.

The aim (issue 24): at least 90 % of the frames rendered, capture-to-render latency p95 at most
150 ms. With the detector-free second landmark look, eight runs here on 2026-12-03 rendered 150
of 150 frames at p95 74-96 ms (`facecodec bench busy --busy 2`, README, "On a busy laptop"),
the sender's threads at ordinary priority (`tests/test_scheduling.py` says why that needs
saying).
This VM's speed swings by up to 2.5x from hour to hour, so the test holds the median of three
runs to the aim rather than one run. Each demo runs as a user runs it, in its own process,
and the test waits on it with a deadline."""

import statistics

from benchmarks.busy import demo_beside

FRAMES = 150
RUNS = 3


def test_the_demo_stays_live_with_both_cores_busy():
    runs = [demo_beside(2, FRAMES) for _ in range(RUNS)]
    print("demo beside two busy processes:", runs)
    assert statistics.median(r["frames_rendered"] for r in runs) >= 0.9 * FRAMES, runs
    assert statistics.median(r["latency_ms_p95"] for r in runs) <= 150, runs
