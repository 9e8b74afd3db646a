"""The receiver's web page in headless Chromium shows moving video during a live call."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from codec.prior.flame_io import load_prior
from codec.render.meshwarp import MeshWarpRenderer
from receiver.config import ReceiverConfig
from receiver.demo import loopback_call
from sender.capture import SyntheticSource
from sender.config import SenderConfig

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=500,520", "--virtual-time-budget=1500"]


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt install chromium)")
def test_page_shows_moving_video(tmp_path):
    model = load_prior()
    shots: list[np.ndarray] = []

    async def screenshot(port: int, i: int) -> None:
        path = tmp_path / f"shot{i}.png"
        cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / f'profile{i}'}",
               f"--screenshot={path}", f"http://127.0.0.1:{port}/"]
        await asyncio.to_thread(subprocess.run, cmd, capture_output=True, timeout=60,
                                cwd=tmp_path)
        shots.append(cv2.imread(str(path)))

    async def scenario():
        ports: list[int] = []
        call = asyncio.create_task(loopback_call(
            model, SyntheticSource(model), SenderConfig(max_frames=200), ReceiverConfig(),
            MeshWarpRenderer(model), say=lambda _m: None, http_port=0, on_page=ports.append,
        ))  # fmt: skip
        while not ports:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)  # the first frames are rendered
        for i in range(2):
            await screenshot(ports[0], i)
            await asyncio.sleep(0.5)
        return await call

    summary = asyncio.run(scenario())
    assert summary["frames_rendered"] > 150
    a, b = shots
    assert a is not None and b is not None, "chromium wrote no screenshot"
    video_a, video_b = a[60:440, 24:408].astype(float), b[60:440, 24:408].astype(float)
    assert video_a.std() > 20  # a picture, not the empty grey box
    assert np.abs(video_a - video_b).mean() > 1.0  # and it moved between the two shots
