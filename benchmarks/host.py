"""`facecodec bench host`: how many calls one `facecodec host` holds, over real WebRTC.

A recorded stream (`facecodec encode` of a dev clip) is replayed by N senders at 25 fps
against one host process on loopback, N rising (`--calls`), each step its own fresh rooms
for `--seconds`. A call holds when it renders at least `--on-time` of the frames its sender
sent (a frame dropped as stale or lost counts against it); the run stops at the first N
where a call does not. Per step: calls held, per-call fps, p95 latency, the host process's
CPU (from /proc, with its render processes; both cores = 200 %) and memory, and the CPU
the replay senders took. The senders share this process and its
event loop (no encoders: a replay costs only its transport), so on one machine they take
CPU from the host too: the figures are a floor for a host on its own machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import deque
from pathlib import Path

import numpy as np

from codec import usage

DEFAULT_CLIP = (Path(__file__).resolve().parents[2] / "shared" / "data" / "dev"
                / "dagan_driving.mp4")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="facecodec bench host", description=__doc__.split("\n")[0])
    p.add_argument("--clip", type=Path, default=DEFAULT_CLIP, help="the clip every call replays")
    p.add_argument("--calls", type=int, nargs="+", default=[1, 2, 4, 6, 8, 10, 12, 16],
                   help="call counts to try, rising (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each step")
    p.add_argument("--on-time", type=float, default=0.95,
                   help="share of frames a call must render to hold (default: %(default)s)")
    p.add_argument("--renderer", default="meshwarp", help="the host's renderer")
    p.add_argument("--host-args", default="", help="more flags for facecodec host")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/host"))
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if not args.clip.is_file():
        print(f"facecodec bench host: {args.clip}: no such clip", file=sys.stderr)
        return 2
    rows = asyncio.run(bench(args))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "host.json").write_text(json.dumps(rows, indent=1) + "\n")
    (args.out / "host.md").write_text(table(rows, args) + "\n")
    print(table(rows, args))
    return 0


async def bench(args) -> list[dict]:
    from receiver.web import BackgroundServer
    from signaling.app import create_app
    from signaling.config import SignalingConfig
    from signaling.handshake import server_options

    work = Path(tempfile.mkdtemp(prefix="bench-host-"))
    fcs = work / "call.fcs"
    subprocess.run([sys.executable, "-m", "codec", "encode", str(args.clip), str(fcs),
                    "--frames", str(int(args.seconds * 25) + 25)], check=True,
                   capture_output=True)
    config = SignalingConfig(secret=secrets.token_bytes(32), max_connections=1024,
                             max_connections_per_ip=1024, rooms_per_minute_per_ip=10_000,
                             joins_per_minute_per_ip=10_000)  # every peer is on 127.0.0.1
    server = BackgroundServer(create_app(config), **server_options(config))
    base = f"http://127.0.0.1:{await server.start()}"
    key = secrets.token_urlsafe(24)
    host = subprocess.Popen(
        [sys.executable, "-m", "codec", "host", "--signal", base, "--http", "0", "--api-key",
         key, "--max-calls", str(max(args.calls)), "--renderer", args.renderer,
         *args.host_args.split()], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rows: list[dict] = []
    try:
        port = await asyncio.to_thread(_api_port, host)
        log: deque[str] = deque(maxlen=200)
        threading.Thread(target=_drain, args=(host, log), daemon=True).start()
        for n in args.calls:
            row = await _step(n, args, fcs, base, port, key, host.pid)
            row["machine"] = f"{platform.machine()}, {os.cpu_count()} cores"
            rows.append(row)
            print(f"{n} calls: held {row['calls_held']}, fps/call {row['fps_per_call_min']}"
                  f"..{row['fps_per_call_median']}, p95 {row['latency_ms_p95_worst']} ms, "
                  f"host CPU {row['host_cpu_percent']} %, RSS {row['host_rss_mib']} MiB, "
                  f"senders CPU {row['senders_cpu_percent']} %",
                  flush=True)
            if row["calls_held"] < n:
                break
    finally:
        host.terminate()
        try:
            host.wait(15)
        except subprocess.TimeoutExpired:
            host.kill()
        await server.stop()
    return rows


async def _step(n: int, args, fcs: Path, base: str, port: int, key: str, pid: int) -> dict:
    from codec.config import EncoderConfig
    from codec.prior.flame_io import load_prior
    from sender.cli import replay_source
    from sender.config import SenderConfig
    from sender.service import Sender
    from signaling.peer.client import SignalingClient, create_room

    model = load_prior()
    rooms = [await asyncio.to_thread(create_room, base) for _ in range(n)]
    for room in rooms:
        await asyncio.to_thread(_call, port, key, "POST", "/calls",
                                {"room": room["room"], "token": room["receiver_token"]})
    frames = int(args.seconds * 25)
    senders = []
    for room in rooms:
        source, encoders = replay_source(fcs, loop=True)
        senders.append(Sender(model, source, SenderConfig(EncoderConfig(), max_frames=frames),
                              SignalingClient(base, room["room"], room["sender_token"]),
                              say=lambda _m: None, encoders=encoders))
    cpu0, ours0, t0 = usage.cpu_seconds(pid), time.process_time(), time.monotonic()
    sent = await asyncio.gather(*(s.run() for s in senders))
    await asyncio.sleep(1.0)  # the last frames' render; a fixed grace, as a host user would see
    elapsed = time.monotonic() - t0
    cpu = (usage.cpu_seconds(pid) - cpu0) / elapsed
    senders_cpu = (time.process_time() - ours0) / elapsed
    rss = usage.rss_mib(pid)
    status = await asyncio.to_thread(_call, port, key, "GET", "/status")
    per_call = [status["per_call"][r["room"]] for r in rooms if r["room"] in status["per_call"]]
    for room in rooms:
        await asyncio.to_thread(_call, port, key, "DELETE", f"/calls/{room['room']}")
    rendered = [c["frames_rendered"] / max(s["frames_sent"], 1) for c, s in
                zip(per_call, sent, strict=False)]
    fps = [c["frames_rendered"] / args.seconds for c in per_call]
    p95 = [c["latency_ms_p95"] for c in per_call if c["latency_ms_p95"] is not None]
    return {
        "calls": n, "calls_held": sum(r >= args.on_time for r in rendered),
        "rendered_share_min": round(min(rendered, default=0), 3),
        "fps_per_call_min": round(min(fps, default=0), 1),
        "fps_per_call_median": round(float(np.median(fps)) if fps else 0, 1),
        "latency_ms_p95_worst": round(max(p95), 1) if p95 else None,
        "host_cpu_percent": round(100 * cpu, 1), "host_rss_mib": round(rss),
        "senders_cpu_percent": round(100 * senders_cpu, 1),
        "render_ms_p50_median": round(float(np.median([c["render_ms_p50"] or 0
                                                       for c in per_call])), 1),
        "stale_dropped_max": max((c["stale_dropped"] for c in per_call), default=0),
        "frames_sent_min": min((s["frames_sent"] for s in sent), default=0),
    }  # fmt: skip


def _api_port(host: subprocess.Popen) -> int:
    """The port the host prints once its API listens."""
    assert host.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = host.stderr.readline()
        if not line:
            break
        if line.startswith("host API on "):
            return int(line.rsplit(":", 1)[1].strip(" /\n"))
    raise RuntimeError("facecodec host did not start its API")


def _drain(host: subprocess.Popen, tail: deque) -> None:
    """Keep reading the host's log so a full pipe never stalls it; the last lines kept."""
    assert host.stderr is not None
    for line in host.stderr:
        tail.append(line.rstrip())


def _call(port: int, key: str, method: str, path: str, body: dict | None = None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {key}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def table(rows: list[dict], args) -> str:
    lines = [f"`facecodec bench host --renderer {args.renderer} --seconds {args.seconds}` "
             f"({platform.machine()}, {os.cpu_count()} cores; senders in the same machine)", "",
             f"| calls | held (≥ {args.on_time:.0%}) | worst share rendered | fps/call min "
             "| fps/call median | p95 latency ms (worst call) | render ms p50 | host CPU % "
             "| host RSS MiB | senders CPU % |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['calls']} | {r['calls_held']} | {r['rendered_share_min']} | "
                     f"{r['fps_per_call_min']} | {r['fps_per_call_median']} | "
                     f"{r['latency_ms_p95_worst']} | {r['render_ms_p50_median']} | "
                     f"{r['host_cpu_percent']} | {r['host_rss_mib']} | "
                     f"{r.get('senders_cpu_percent', '')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
