"""No room token ever appears in the signaling server's output: `facecodec signal` as a real
process, a whole call through it, and a flood of forged and misplaced tokens."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from codec.prior.flame_io import load_prior
from receiver.config import ReceiverConfig
from receiver.service import Receiver
from sender.capture import SyntheticSource
from sender.config import SenderConfig
from sender.service import Sender
from signaling.peer.client import SignalingClient, create_room, ws_url
from tests.inproc_links import Wire
from tests.recording import Recording
from tests.waiting import until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("facecodec signal exited")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("facecodec signal did not start")


def _call(base: str, room: dict) -> int:
    model = load_prior()
    wire, rec = Wire(), Recording(model)

    async def scenario():
        rx = Receiver(model, rec, ReceiverConfig(), SignalingClient(
            base, room["room"], room["receiver_token"]), say=lambda _m: None,
            links=wire.receiver_links())  # fmt: skip
        receiving = asyncio.create_task(rx.run())
        tx = Sender(model, SyntheticSource(model, fps=50.0), SenderConfig(max_frames=20),
                    SignalingClient(base, room["room"], room["sender_token"]),
                    say=lambda _m: None, links=wire.sender_links())
        sending = asyncio.create_task(tx.run())
        await until(lambda: len(rec.order) >= 10, 60, "frames through the call")
        await sending
        rx.stop()
        await receiving

    asyncio.run(scenario())
    return len(rec.order)


def _flood(base: str, room: dict) -> None:
    r, good = room["room"], room["sender_token"]
    for i in range(40):
        first = json.dumps({"type": "join", "token": good[:-4] + f"{i:04d}"})
        query = f"?token={good}" if i % 4 == 0 else ""  # a client that puts it in the URL
        with connect(ws_url(base, r) + query, open_timeout=20) as ws:
            try:
                ws.send(first)
                ws.recv(timeout=20)
            except ConnectionClosed:
                pass


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_no_token_in_the_servers_output(tmp_path):
    port = _free_port()
    secret = tmp_path / "secret"
    secret.write_text("k" * 40)
    proc = subprocess.Popen(
        [sys.executable, "-m", "signaling", "--port", str(port), "--secret-file", str(secret)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
        room = create_room(base)
        assert _call(base, room) >= 10
        _flood(base, room)
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert "room" in output.lower() and "refused" in output  # the server did log the events
    for token in (room["sender_token"], room["receiver_token"]):
        slices = {token[i : i + 16] for i in range(len(token) - 15)}
        leaked = [s for s in slices if s in output]
        assert not leaked, f"token material in the server's output: {leaked[:3]}"
