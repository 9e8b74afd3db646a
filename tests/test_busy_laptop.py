"""The README's demo on a laptop that is never idle: one busy process per core of this machine
while `facecodec demo --frames 150` runs, sender and receiver in that one process.

The aim is 90 % of the frames rendered with capture-to-render latency p95 at most 150 ms;
on this 2-core machine runs reach it about half the time (README, "On a busy laptop"), so
the test holds the floor every run clears with room: three frames in four, p95 under 300 ms.
Before the lighter sender, one look under load and the synthetic head drawn once, runs
here rendered 96-120 of 150 at p95 200-230 ms. The demo runs as a user runs it, in its own
process, and the test waits on it with a deadline."""

import json
import os
import subprocess
import sys

import pytest

FRAMES = 150


@pytest.fixture
def busy_cores():
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(len(os.sched_getaffinity(0)))]  # fmt: skip
    try:
        yield len(spinners)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def test_the_demo_stays_live_with_every_core_busy(busy_cores):
    demo = subprocess.run(
        [sys.executable, "-m", "codec", "demo", "--frames", str(FRAMES), "--synthetic", "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-2000:]
    summary = json.loads(demo.stdout.strip().splitlines()[-1])
    keys = ("frames_rendered", "latency_ms_p50", "latency_ms_p95", "render_ms_p50",
            "encode_ms_p50", "landmark_looks_changes")  # fmt: skip
    figures = {k: summary.get(k) for k in keys}
    print(f"demo with {busy_cores} busy cores:", figures)
    assert summary["frames_rendered"] >= 0.75 * FRAMES, figures
    assert summary["latency_ms_p95"] <= 300, figures
