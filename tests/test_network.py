"""The call across a real (namespaced) network: direct UDP between the peers blocked, a
coturn relay on the public host, kernel-dropped packets. Slow: each peer is a process."""

from __future__ import annotations

import json
import time

import pytest

from tests.netbed import NetBed, available

WHY = available()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(WHY is not None, reason=WHY or "")]
TURN_USER, TURN_PASS = "fcuser", "fc-relay-pass"


def _start_public(bed: NetBed, tmp_path, turn: bool) -> str:
    pub = bed.ip("pub")
    secret = tmp_path / "secret"
    secret.write_text("s" * 40)
    bed.spawn("pub", ["python", "-m", "signaling", "--host", pub, "--port", "8765",
                      "--secret-file", str(secret)], tmp_path / "signal.log")  # fmt: skip
    if turn:
        bed.spawn("pub", ["turnserver", "-n", "-v", "--no-cli", "--no-tls", "--no-dtls",
                          f"--listening-ip={pub}", f"--relay-ip={pub}", "--listening-port=3478",
                          "--lt-cred-mech", f"--user={TURN_USER}:{TURN_PASS}",
                          "--realm=facecodec", "--log-file=stdout", "--simple-log",
                          "--allow-loopback-peers"], tmp_path / "turn.log")  # fmt: skip
    base = f"http://{pub}:8765"
    code = (f"import json; from signaling.client import create_room; "
            f"print(json.dumps(create_room({base!r})))")
    deadline = time.monotonic() + 60
    while True:
        try:
            return base, json.loads(bed.python("tx", code))
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _call(bed, tmp_path, base, room, ice: list[str], frames: int = 75, quiet: bool = True):
    ice_args = [a for s in ice for a in ("--ice-server", s)]
    rx = bed.spawn("rx", ["facecodec", "receive", "--signal", base, "--room", room["room"],
                          "--token", room["receiver_token"], "--once", "--json", *ice_args],
                   tmp_path / "rx.log")  # fmt: skip
    tx = bed.spawn("tx", ["facecodec", "send", "--signal", base, "--room", room["room"],
                          "--token", room["sender_token"], "--synthetic", "--frames",
                          str(frames), *(["--json"] if quiet else []), *ice_args],
                   tmp_path / "tx.log")  # fmt: skip
    return rx, tx


def test_turn_relay_when_the_peers_cannot_reach_each_other(tmp_path):
    with NetBed() as bed:
        bed.block_direct_udp()
        base, room = _start_public(bed, tmp_path, turn=True)
        turn = f"turn:{TURN_USER}:{TURN_PASS}@{bed.ip('pub')}:3478"
        rx, tx = _call(bed, tmp_path, base, room, [turn])
        assert tx.wait(180) == 0, (tmp_path / "tx.log").read_text()[-2000:]
        assert rx.wait(60) == 0, (tmp_path / "rx.log").read_text()[-2000:]
    out = (tmp_path / "rx.log").read_text()
    summary = json.loads(out[out.index("{"):])
    assert summary["frames_rendered"] >= 60, summary
    assert "allocat" in (tmp_path / "turn.log").read_text().lower()  # it went through coturn


def test_without_a_relay_both_peers_say_why_in_one_line(tmp_path):
    with NetBed() as bed:
        bed.block_direct_udp()
        base, room = _start_public(bed, tmp_path, turn=False)
        rx, tx = _call(bed, tmp_path, base, room, [], frames=10_000, quiet=False)
        assert rx.wait(180) == 2
        deadline = time.monotonic() + 120
        while "ICE could not" not in (tmp_path / "tx.log").read_text():
            assert time.monotonic() < deadline, "the sender never said ICE failed"
            time.sleep(0.2)
        tx.terminate()
        tx.wait(30)
    rx_out, tx_out = (tmp_path / "rx.log").read_text(), (tmp_path / "tx.log").read_text()
    line = [ln for ln in rx_out.splitlines() if "ICE could not connect" in ln]
    assert len(line) == 1 and "--ice-server" in line[0] and "Traceback" not in rx_out
    assert "ICE could not connect" in tx_out and "--ice-server" in tx_out
