"""The signaling server against a stranger: tokens and JSON that could crash a handler, a
peer that stops reading, a receiver that joins and leaves in a loop, rooms created from many
threads at once. Each case asserts the close code, that no traceback reached the log, and
that an honest call in the same room keeps flowing."""

from __future__ import annotations

import base64
import json
import logging
import os
import select
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from signaling.app import create_app
from signaling.config import SignalingConfig
from signaling.handshake import server_options
from signaling.peer.client import create_room, ws_url
from tests.servers import ServerThread

SECRET = b"hostile-secret-0123456789abcdef"
pytestmark = pytest.mark.filterwarnings("ignore:connect\\(\\) must be used:DeprecationWarning")


def serve(**limits):
    config = SignalingConfig(secret=SECRET, sweep_every_s=0.2, **limits)
    return ServerThread(create_app(config), **server_options(config))


def closed_with(srv, room: str, first: str) -> int:
    with connect(ws_url(srv.url, room), open_timeout=20) as ws, pytest.raises(
            ConnectionClosed) as info:  # fmt: skip
        ws.send(first)
        while True:
            ws.recv(timeout=20)
    return info.value.rcvd.code


def join(srv, room: str, token: str, **options):
    ws = connect(ws_url(srv.url, room), open_timeout=20, **options)
    ws.send(json.dumps({"type": "join", "token": token}))
    return ws, json.loads(ws.recv(timeout=20))


def no_tracebacks(caplog) -> bool:
    return not any(r.exc_info or "Exception in ASGI" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("signature", ["s\u00e9cr\u00e8t", "\\ud800", "a" * 300, "x y"])
def test_tokens_outside_the_alphabet_close_4401(signature, caplog):
    caplog.set_level(logging.WARNING)
    with serve() as srv:
        room = create_room(srv.url)
        token = room["receiver_token"].rsplit(".", 1)[0] + "." + signature
        text = '{"type": "join", "token": "' + token + '"}'  # \\ud800: a lone surrogate
        assert closed_with(srv, room["room"], text) == 4401
    assert no_tracebacks(caplog)


def test_json_nested_thousands_deep_is_refused_not_raised(caplog):
    caplog.set_level(logging.WARNING)
    deep = "[" * 5000 + "]" * 5000
    with serve() as srv:
        room = create_room(srv.url)
        assert closed_with(srv, room["room"], deep) == 4401  # as a first message
        rx, _ = join(srv, room["room"], room["receiver_token"])
        rx.send(deep)  # relayed: an error message back, the connection stays
        reply = json.loads(rx.recv(timeout=20))
        assert reply["type"] == "error" and "arrays and objects" in reply["message"]
        rx.send("[" * 40 + "]" * 40)  # few brackets, but deeper than any message of ours
        assert "nested too deep" in json.loads(rx.recv(timeout=20))["message"]
        rx.close()
    assert no_tracebacks(caplog)


def test_a_peer_that_stops_reading_is_dropped_and_never_holds_up_the_room(caplog):
    caplog.set_level(logging.WARNING)
    with serve(max_messages_per_s=2000.0, max_queued_messages=8, send_deadline_s=1.0,
               max_message_bytes=200_000) as srv:  # fmt: skip
        room = create_room(srv.url)
        r = room["room"]
        tx, _ = join(srv, r, room["sender_token"])
        stuck, stuck_welcome = join(srv, r, room["receiver_token"], max_queue=1)
        honest, honest_welcome = join(srv, r, room["receiver_token"])
        big = "v=0 " + base64.b64encode(os.urandom(110_000)).decode()  # deflate cannot shrink it
        start, dropped_at, got = time.monotonic(), None, 0
        while time.monotonic() - start < 30 and dropped_at is None:
            tx.send(json.dumps({"type": "offer", "to": stuck_welcome["peer"], "sdp": big}))
            tx.send(json.dumps({"type": "offer", "to": honest_welcome["peer"], "sdp": "hi"}))
            while True:  # the honest receiver keeps getting its offers, in order
                message = json.loads(honest.recv(timeout=20))
                if message.get("type") == "peer-left":
                    dropped_at = time.monotonic()
                    assert message["peer"] == stuck_welcome["peer"]
                    continue
                if message.get("sdp") == "hi":
                    got += 1
                    break
        assert dropped_at is not None and got > 3
        assert dropped_at - start < 20  # the queue or the send deadline caught it
        rx2, _ = join(srv, r, room["receiver_token"])  # its seat is free again
        tx.close(), honest.close(), rx2.close()
        stuck.close()
    assert any("stopped reading" in rec.getMessage() for rec in caplog.records)
    assert no_tracebacks(caplog)


def test_a_receiver_that_churns_is_refused_with_4429():
    with serve(joins_per_minute_per_token=5, max_receivers=4) as srv:
        room = create_room(srv.url)
        for _ in range(5):
            ws, welcome = join(srv, room["room"], room["receiver_token"])
            assert welcome["type"] == "welcome"
            ws.close()
        text = json.dumps({"type": "join", "token": room["receiver_token"]})
        assert closed_with(srv, room["room"], text) == 4429
        tx, welcome = join(srv, room["room"], room["sender_token"])  # the call goes on
        assert welcome["role"] == "sender"
        tx.close()


def test_rooms_created_from_many_threads_stop_exactly_at_the_cap():
    with serve(max_rooms=200, rooms_per_minute_per_ip=10_000) as srv:
        statuses: list[int] = []

        def create(n: int) -> None:
            for _ in range(n):
                request = urllib.request.Request(srv.url + "/rooms", method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=20) as response:
                        statuses.append(response.status)
                except urllib.error.HTTPError as exc:
                    statuses.append(exc.code)

        threads = [threading.Thread(target=create, args=(80,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with urllib.request.urlopen(srv.url + "/healthz", timeout=20) as response:
            health = json.loads(response.read())
    assert statuses.count(201) == 200 and statuses.count(503) == 120 and len(statuses) == 320
    assert health["rooms"] == 200


def test_half_open_connections_are_counted_and_timed_from_their_first_byte():
    with serve(handshake_timeout_s=1.0, max_connections_per_ip=8) as srv:
        room = create_room(srv.url)
        slow = []
        for _ in range(12):  # from another loopback address: a request that never ends
            s = socket.create_connection(("127.0.0.1", srv.port), 20, ("127.0.0.3", 0))
            s.sendall(b"GET /rooms/x/ws HTTP/1.1\r\nHost: a\r\n")
            slow.append(s)
        start = time.monotonic()
        assert len(_closed_within(slow, 0.5)) == 4  # past 8 from one address: closed at once
        tx, _ = join(srv, room["room"], room["sender_token"])  # an honest call goes on
        rx, welcome = join(srv, room["room"], room["receiver_token"])
        tx.send(json.dumps({"type": "offer", "to": welcome["peer"], "sdp": "v=0"}))
        while json.loads(rx.recv(timeout=20)).get("sdp") != "v=0":
            pass
        assert len(_closed_within(slow, 5.0)) == 12  # the deadline frees the rest
        freed = time.monotonic() - start
        tx.close(), rx.close()
        for s in slow:
            s.close()
    assert freed < 4.0


def _closed_within(sockets: list[socket.socket], seconds: float) -> list[socket.socket]:
    """The sockets the server has closed by `seconds` from now (all watched at once)."""
    deadline, closed = time.monotonic() + seconds, []
    while len(closed) < len(sockets) and time.monotonic() < deadline:
        ready, _, _ = select.select([s for s in sockets if s not in closed], [], [],
                                    max(deadline - time.monotonic(), 0))  # fmt: skip
        for s in ready:
            try:
                data = s.recv(1024)
            except OSError:
                data = b""
            if data == b"":
                closed.append(s)
    return closed


def test_one_failed_sweep_does_not_stop_expiry(caplog):
    config = SignalingConfig(secret=SECRET, sweep_every_s=0.05, room_idle_s=0.2)
    app = create_app(config)
    state = app.state.signaling
    real, calls = state.sweep, []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("dictionary changed size during iteration")
        real()

    state.sweep = flaky
    with ServerThread(app, **server_options(config)) as srv:
        create_room(srv.url)
        deadline = time.monotonic() + 20
        while state.rooms.rooms and time.monotonic() < deadline:
            time.sleep(0.05)
    assert not state.rooms.rooms and len(calls) > 2
    assert any("sweep failed" in r.getMessage() for r in caplog.records)
