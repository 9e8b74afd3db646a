"""`facecodec send --replay`: a recorded stream sent over a real call as if encoded now."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.loopback import loopback_call
from codec.config import EncoderConfig
from codec.prior.flame_io import load_prior
from receiver.config import ReceiverConfig
from sender.config import SenderConfig
from sender.replay import Recording, ReplayEncoder, ReplayError, ReplaySource
from tests.recording import Recording as RecordingRenderer


@pytest.fixture(scope="module")
def recorded(tiny_head_fcs) -> Path:
    return tiny_head_fcs


def test_replay_loops_one_stream_over_a_real_call(recorded):
    """Two passes of the recording over WebRTC on loopback: the receiver decodes the same
    face on both passes, frame numbers keep counting, nothing is refused."""
    model = load_prior()
    recording = Recording.load(recorded)
    n = len(recording.frames)
    renderer = RecordingRenderer(model)
    summary = asyncio.run(loopback_call(
        model, ReplaySource(recording, recorded.name), SenderConfig(EncoderConfig(),
                                                                    max_frames=2 * n),
        ReceiverConfig(), renderer, say=lambda _m: None,
        encoders=lambda: ReplayEncoder(recording),
    ))  # fmt: skip
    assert summary["frames_sent"] == 2 * n and summary["bad_packets"] == 0
    assert summary["frames_rendered"] >= 0.8 * 2 * n
    states = renderer.states
    assert max(states) >= n  # the second pass kept counting
    twice = [s for s in states if s < n and s + n in states]
    assert twice
    for s in twice:
        a, b = states[s].params, states[s + n].params
        assert np.allclose(a.pose, b.pose) and np.allclose(a.psi, b.psi)


def test_replay_refuses_what_is_not_a_stream(tmp_path):
    bad = tmp_path / "x.fcs"
    bad.write_bytes(b"not a stream at all")
    with pytest.raises(ReplayError, match=r"x\.fcs"):
        Recording.load(bad)
    done = subprocess.run([sys.executable, "-m", "sender", "--replay", str(bad), "--room", "r",
                           "--token", "t"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "x.fcs" in done.stderr
    assert "Traceback" not in done.stderr
