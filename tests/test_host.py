"""`facecodec host`: many calls in one receiver process, over real signaling and WebRTC."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from bitstream import Motion, decode_packet, encode_packet
from codec.config import EncoderConfig
from codec.prior.flame_io import load_prior
from codec.render.meshwarp import MeshWarpRenderer
from receiver.host import CallExistsError, Host, HostConfig, HostFullError
from receiver.host_api import create_host_app
from receiver.web import BackgroundServer
from sender.config import SenderConfig
from sender.replay import Recording, ReplayEncoder, ReplaySource
from sender.service import Sender
from signaling.app import create_app
from signaling.config import SignalingConfig
from signaling.handshake import server_options
from signaling.peer.client import SignalingClient, create_room
from tests.waiting import until

FRAMES = 50


@pytest.fixture(scope="module")
def recording(tiny_head_fcs) -> Recording:
    return Recording.load(tiny_head_fcs)


class HostileEncoder(ReplayEncoder):
    """A sender that follows the protocol up to its Motion, whose bodies are garbage."""

    def encode(self, frame, time_ms=None):
        out = super().encode(frame, time_ms)
        motion = decode_packet(out.packets[-1], self.recording.hello)
        assert isinstance(motion, Motion)
        junk = encode_packet(motion, self.recording.hello)[:3] + secrets.token_bytes(9)
        out.packets[-1] = junk
        return out


async def _serve_signaling() -> tuple[BackgroundServer, str]:
    config = SignalingConfig(secret=secrets.token_bytes(32))
    server = BackgroundServer(create_app(config), **server_options(config))
    return server, f"http://127.0.0.1:{await server.start()}"


def _sender(model, recording, base, room, encoder=ReplayEncoder) -> Sender:
    config = SenderConfig(EncoderConfig(), max_frames=FRAMES)
    return Sender(model, ReplaySource(recording, "head.fcs"), config,
                  SignalingClient(base, room["room"], room["sender_token"]),
                  say=lambda _m: None, encoders=lambda: encoder(recording))


def _api(port: int, method: str, path: str, key: str | None, body: dict | None = None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None


def test_three_calls_on_one_host_one_hostile(recording):
    """Two replayed calls and one whose Motion is garbage, on one host with a shared pool:
    the good calls render their frames, the hostile one only counts bad packets, the API
    reports each call and refuses what its limits and key say, and closing ends them all."""
    model = load_prior()

    async def scenario():
        server, base = await _serve_signaling()
        host = Host(model, MeshWarpRenderer(model), HostConfig(max_calls=3), base,
                    say=lambda _m: None)
        key = "k" * 24
        assert host.processes is not None
        workers = host.processes.workers
        api = BackgroundServer(create_host_app(host, key))
        port = await api.start()
        try:
            await host.add("no-such-room", "forged")  # refused by signaling: ends alone
            await until(lambda: not host.calls, 20, "the refused call to end")
            assert host.ended[-1]["room"] == "no-such-room"
            assert host.ended[-1]["ended"].startswith("failed")
            rooms = [await asyncio.to_thread(create_room, base) for _ in range(3)]
            pages = []
            for room in rooms:
                status, added = await asyncio.to_thread(
                    _api, port, "POST", "/calls", key,
                    {"room": room["room"], "token": room["receiver_token"]})
                assert status == 201
                pages.append(added["page"])
            assert (await asyncio.to_thread(_api, port, "GET", "/status", None))[0] == 401
            full = await asyncio.to_thread(_api, port, "POST", "/calls", key,
                                           {"room": "extra", "token": "t"})
            assert full[0] == 429
            bad_name = await asyncio.to_thread(_api, port, "POST", "/calls", key,
                                               {"room": "../x", "token": "t"})
            assert bad_name[0] == 422
            with pytest.raises(CallExistsError):
                await host.add(rooms[0]["room"], rooms[0]["receiver_token"])
            with pytest.raises(HostFullError):
                await host.add("another", "t")
            senders = [_sender(model, recording, base, rooms[0]),
                       _sender(model, recording, base, rooms[1]),
                       _sender(model, recording, base, rooms[2], HostileEncoder)]
            sent = await asyncio.gather(*(s.run() for s in senders))
            assert all(s["frames_sent"] == FRAMES for s in sent)
            calls = host.calls
            await until(lambda: all(calls[r["room"]].receiver.stats.frames_received
                                    >= 0.8 * FRAMES for r in rooms), 20, "every call's frames")
            status, figures = await asyncio.to_thread(_api, port, "GET", "/status", key)
            assert status == 200 and figures["calls"] == 3
            assert figures["render_processes"] == (os.cpu_count() or 1)  # the mesh warp's
            assert figures["render_queue"] >= 0
            per_call = figures["per_call"]
            good = [per_call[r["room"]] for r in rooms[:2]]
            hostile = per_call[rooms[2]["room"]]
            assert all(c["frames_rendered"] >= 0.8 * FRAMES and c["bad_packets"] == 0
                       for c in good)
            assert hostile["frames_rendered"] == 0 and hostile["bad_packets"] > 0
            live = await asyncio.to_thread(_api, port, "GET", f"{pages[0]}stats", None)
            assert live[0] == 200 and live[1]["frames_rendered"] >= 0.8 * FRAMES
            jpeg = await asyncio.to_thread(urllib.request.urlopen,
                                           f"http://127.0.0.1:{port}{pages[0]}frame.jpg")
            assert jpeg.read(3) == b"\xff\xd8\xff"
            assert (await asyncio.to_thread(_api, port, "GET", "/view/guess/stats", None))[0] \
                == 404
            garbage = await asyncio.to_thread(_api, port, "POST", f"{pages[0]}webrtc", None,
                                              {"sdp": "v=0 not an offer"})
            assert garbage[0] == 400  # a viewer's bad offer is refused; the call goes on
            ended = await asyncio.to_thread(_api, port, "DELETE",
                                            f"/calls/{rooms[1]['room']}", key)
            assert ended[0] == 200 and ended[1]["room"] == rooms[1]["room"]
            await until(lambda: sum(w.calls for w in workers) == 2, 20,
                        "the ended call's renderer to be freed in its render process")
            assert (await asyncio.to_thread(_api, port, "DELETE", "/calls/nope", key))[0] == 404
        finally:
            summaries = await host.close()
            await api.stop()
            await server.stop()
        assert not host.calls and len(summaries) == 4
        assert all(w.process is None for w in workers)  # every render process ended

    asyncio.run(scenario())


def test_host_cli_refuses_an_open_api_without_a_key():
    done = subprocess.run([sys.executable, "-m", "codec", "host", "--http", "0",
                           "--http-host", "0.0.0.0"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "--api-key" in done.stderr


def test_a_request_body_is_bounded_even_when_undeclared():
    """A chunked body with no Content-Length: the app sees the client go once it passes the
    limit, so nothing holds more than the limit."""
    from receiver.web import BodyLimit

    seen: list[str] = []

    async def app(scope, receive, send):
        while True:
            message = await receive()
            seen.append(message["type"])
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                return

    chunks = iter([{"type": "http.request", "body": b"x" * 100, "more_body": True}] * 5)

    async def receive():
        return next(chunks)

    asyncio.run(BodyLimit(app, 250)({"type": "http", "headers": []}, receive, None))
    assert seen == ["http.request", "http.request", "http.disconnect"]
