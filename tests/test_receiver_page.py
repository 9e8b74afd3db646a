"""The receiver's web page in headless Chromium shows moving video during a live call.

Chromium is driven over the DevTools protocol: the test waits, with deadlines, until the
page has drawn a frame and then more frames, so a busy machine only makes it slower.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import numpy as np
import pytest

from benchmarks.loopback import loopback_call
from codec.prior.flame_io import load_prior
from codec.render.meshwarp import MeshWarpRenderer
from receiver.config import ReceiverConfig
from sender.capture import SyntheticSource
from sender.config import SenderConfig
from tests.cdp import CHROMIUM, Browser

FRAMES = "Number(document.getElementById('video').dataset.frames || 0)"


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt install chromium)")
def test_page_shows_moving_video(tmp_path):
    model = load_prior()

    async def scenario():
        ports: list[int] = []
        page_ready, stop = asyncio.Event(), asyncio.Event()
        call = asyncio.create_task(loopback_call(
            model, SyntheticSource(model), SenderConfig(max_frames=100_000), ReceiverConfig(),
            MeshWarpRenderer(model), say=lambda _m: None, http_port=0,
            on_page=lambda p: (ports.append(p), page_ready.set()), stop=stop,
        ))  # fmt: skip
        try:
            await asyncio.wait_for(page_ready.wait(), 60)
            async with Browser(f"http://127.0.0.1:{ports[0]}/?mode=jpeg",
                               tmp_path / "profile") as page:
                first = await page.wait_for(FRAMES, timeout=90)
                box = await page.element_box("#video")
                shot_a = await page.screenshot()
                await page.wait_for(f"{FRAMES} >= {first + 10}", timeout=90)
                shot_b = await page.screenshot()
                figures = await page.wait_for(
                    "document.getElementById('stats').textContent.includes('fps')", timeout=30
                )
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                summary = await asyncio.wait_for(call, 60)
        return shot_a, shot_b, box, figures, summary

    a, b, (x, y, w, h), figures, summary = asyncio.run(scenario())
    assert figures
    # the page counts pictures drawn, the same one again when it polls faster than frames
    # come (a busy machine), so only "more than one" is certain of the frames rendered
    assert summary["frames_rendered"] > 1
    video_a = a[y + 4 : y + h - 4, x + 4 : x + w - 4].astype(float)
    video_b = b[y + 4 : y + h - 4, x + 4 : x + w - 4].astype(float)
    assert video_a.std() > 20  # a picture, not the empty grey box
    assert np.abs(video_a - video_b).mean() > 1.0  # and it moved between the two shots


DECODED = ("(() => { const v = document.getElementById('live'); return v.hidden ? 0 : "
           "v.getVideoPlaybackQuality().totalVideoFrames; })()")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt install chromium)")
def test_page_shows_the_call_as_webrtc_video(tmp_path):
    """By default the page asks for the stream as WebRTC video: the browser decodes frames
    of a video track (not polled pictures), and they move."""
    model = load_prior()

    async def scenario():
        ports: list[int] = []
        page_ready, stop = asyncio.Event(), asyncio.Event()
        call = asyncio.create_task(loopback_call(
            model, SyntheticSource(model), SenderConfig(max_frames=100_000), ReceiverConfig(),
            MeshWarpRenderer(model), say=lambda _m: None, http_port=0,
            on_page=lambda p: (ports.append(p), page_ready.set()), stop=stop,
        ))  # fmt: skip
        try:
            await asyncio.wait_for(page_ready.wait(), 60)
            async with Browser(f"http://127.0.0.1:{ports[0]}/", tmp_path / "profile") as page:
                first = await page.wait_for(DECODED, timeout=90)
                box = await page.element_box("#live")
                shot_a = await page.screenshot()
                await page.wait_for(f"{DECODED} >= {first + 25}", timeout=90)
                shot_b = await page.screenshot()
                polled = await page.evaluate("Number(document.getElementById('video')"
                                             ".dataset.frames || 0)")
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(call, 60)
        return shot_a, shot_b, box, polled

    a, b, (x, y, w, h), polled = asyncio.run(scenario())
    assert polled == 0  # the video came over WebRTC, not as pictures
    video_a = a[y + 4 : y + h - 4, x + 4 : x + w - 4].astype(float)
    video_b = b[y + 4 : y + h - 4, x + 4 : x + w - 4].astype(float)
    assert video_a.std() > 20 and np.abs(video_a - video_b).mean() > 1.0
    import cv2

    cv2.imwrite(str(Path(__file__).parents[1] / "benchmarks" / "results" / "viewer_page.png")
                if os.environ.get("FACECODEC_WRITE_SCREENSHOT") else str(tmp_path / "page.png"), b)
