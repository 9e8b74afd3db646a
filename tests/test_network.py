"""The call across a real (namespaced) network: peers behind NATs, direct UDP between the
peers blocked, a coturn relay on the public host, kernel-dropped packets, a delayed path.
Slow: each peer is a process."""

from __future__ import annotations

import itertools
import json
import sys
import time

import pytest

from benchmarks.netbed import NetBed, available

WHY = available()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(WHY is not None, reason=WHY or "")]


def _wait_for(text: str, log, procs, seconds: float = 120) -> None:
    """Until `text` shows in `log`; fails at once, with the log, if a process has ended."""
    deadline = time.monotonic() + seconds
    while text not in log.read_text():
        ended = [p.args[3] for p in procs if p.poll() is not None]
        assert not ended and time.monotonic() < deadline, (
            f"no {text!r} in {log.name} (ended in namespace: {ended})\n{log.read_text()[-2000:]}")
        time.sleep(0.2)


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
        base, room = bed.start_public(tmp_path, turn=True)
        rx, tx = _call(bed, tmp_path, base, room, [bed.turn_url()])
        assert tx.wait(180) == 0, (tmp_path / "tx.log").read_text()[-2000:]
        assert rx.wait(60) == 0, (tmp_path / "rx.log").read_text()[-2000:]
    out = (tmp_path / "rx.log").read_text()
    summary = json.loads(out[out.index("{"):])
    assert summary["frames_rendered"] >= 60, summary
    assert "allocat" in (tmp_path / "turn.log").read_text().lower()  # it went through coturn


def test_peers_behind_their_own_nats_meet_through_stun_without_a_relay(tmp_path):
    """Each peer behind a MASQUERADE NAT, its own address unreachable from outside: with
    only a STUN server (coturn, no credentials given, so nothing can be relayed) ICE finds
    the NATs' mapped addresses and the call renders."""
    with NetBed(nat=True) as bed:
        base, room = bed.start_public(tmp_path, turn=True)
        stun = f"stun:{bed.ip('pub')}:3478"
        rx, tx = _call(bed, tmp_path, base, room, [stun])
        assert tx.wait(180) == 0, (tmp_path / "tx.log").read_text()[-2000:]
        assert rx.wait(60) == 0, (tmp_path / "rx.log").read_text()[-2000:]
    out = (tmp_path / "rx.log").read_text()
    assert json.loads(out[out.index("{"):])["frames_rendered"] >= 60


def test_without_a_relay_both_peers_say_why_in_one_line(tmp_path):
    with NetBed() as bed:
        bed.block_direct_udp()
        base, room = bed.start_public(tmp_path, turn=False)
        rx, tx = _call(bed, tmp_path, base, room, [], frames=10_000, quiet=False)
        assert rx.wait(180) == 2
        _wait_for("ICE could not", tmp_path / "tx.log", [tx])
        tx.terminate()
        tx.wait(30)
    rx_out, tx_out = (tmp_path / "rx.log").read_text(), (tmp_path / "tx.log").read_text()
    line = [ln for ln in rx_out.splitlines() if "ICE could not connect" in ln]
    assert len(line) == 1 and "--ice-server" in line[0] and "Traceback" not in rx_out
    assert "ICE could not connect" in tx_out and "--ice-server" in tx_out


def test_kernel_loss_on_a_capped_uplink_never_desynchronizes(tmp_path):
    """20% of the sender's packets dropped by the kernel on a 48 kbit/s uplink: fewer frames,
    but every frame shown is exactly the sender's, the Reference arrives, latency is bounded."""
    from benchmarks.network import run_condition

    x = run_condition({"cap": 48, "loss": 0.2}, 250, tmp_path)
    assert x["desynchronized_frames"] == 0 and x["bad_packets"] == 0
    # 64-81 % are seen on an idle machine (README); on a loaded one SCTP's retransmission
    # timeouts can hold the capped channel for seconds, so the bar is that the call stays live.
    assert x["frames_rendered"] >= 0.3 * x["frames_sent"] > 0
    # The Reference arrives. How soon is a benchmark's figure (`bench network`: 1.5-4 s in
    # most runs), not a test's: a run in CI once took 32 s, about 1+2+4+8+16 s, as a
    # doubling retransmission timer gives after five lost handshake attempts in a row.
    assert x["first_frame_s"] is not None
    assert x["latency_ms_p95"] < 1000  # the bounded send buffer: no queue builds up


def test_the_call_resumes_after_the_receivers_network_drops_for_5_s(tmp_path):
    with NetBed() as bed:
        base, room = bed.start_public(tmp_path)
        peer = [sys.executable, "-m", "benchmarks.live_peer"]
        rx = bed.spawn("rx", [*peer, "receive", base, room["room"], room["receiver_token"],
                              str(tmp_path / "rx.json")], tmp_path / "rx.log")
        tx = bed.spawn("tx", [*peer, "send", base, room["room"], room["sender_token"],
                              str(tmp_path / "tx.json"), "--frames", "500"], tmp_path / "tx.log")
        # frames flow once the sender prints its first status line; whoever joined first
        _wait_for(" fps ", tmp_path / "tx.log", [rx, tx])
        time.sleep(5)  # the call runs
        bed.cut("rx")
        time.sleep(5)
        bed.cut("rx", on=False)
        assert tx.wait(180) == 0 and rx.wait(60) == 0, (tmp_path / "rx.log").read_text()[-1500:]
    sent = json.loads((tmp_path / "tx.json").read_text())
    got = json.loads((tmp_path / "rx.json").read_text())
    seqs = sorted(int(s) for s in got["states"])
    a, b = max(itertools.pairwise(seqs), key=lambda pair: pair[1] - pair[0])
    # the outage, timed by the frames' capture (a loaded machine encodes fewer than 25 a
    # second, so a frame count undercounts it): seconds of frames never shown, though the
    # frames queued in the cut's first moments may still arrive once the path is back
    assert sent["sent"][str(b)] - sent["sent"][str(a)] >= 2.0
    assert len(seqs) - seqs.index(b) >= 100  # and the call went on afterwards, same processes
    assert all(sent["states"][s] == v for s, v in got["states"].items())


def test_a_long_path_is_delayed_by_the_kernel_route_and_the_sender_bundles(tmp_path):
    """120 ± 20 ms each way on the sender's link (a user-space delay line): every frame
    still arrives in step, the latency shows the delay, and the sender, reading SCTP's
    round-trip time, packs 4 frames per message."""
    from benchmarks.network import run_condition

    x = run_condition({"delay": 120, "jitter": 20}, 150, tmp_path)
    assert x["desynchronized_frames"] == 0 and x["bad_packets"] == 0
    assert x["frames_rendered"] >= 0.9 * x["frames_sent"] > 0
    assert x["latency_ms_p50"] >= 120 and x["latency_ms_p95"] < 1000
    assert "4 frame(s) per message" in (tmp_path / "tx.log").read_text()
