"""`facecodec bench network`: the live call across a namespaced network, impaired by the
kernel (iptables random drops on the sender's uplink, a tc tbf rate cap, direct UDP between
the peers blocked so only a coturn relay connects them). Needs root, iproute2, iptables and
coturn. Every condition is a fresh network and two fresh peer processes.

Per condition: frames rendered of frames sent, frames whose rendered state differs from the
sender's own (must be 0), the time from the receiver's start to its first frame, latency
p50 / p95 (same host clock), payload and wire kbit/s, and whether the Reference arrived.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CONDITIONS: dict[str, dict] = {
    "clean": {},
    "5% loss": {"loss": 0.05},
    "20% loss": {"loss": 0.20},
    "30% loss": {"loss": 0.30},
    "48 kbit/s": {"cap": 48},
    "48 kbit/s + 20% loss": {"cap": 48, "loss": 0.20},
    "TURN relay only": {"turn": True},
}
FPS = 25.0  # the synthetic source's


def run_condition(spec: dict, frames: int, folder: Path, timeout: float = 240) -> dict:
    from benchmarks.netbed import NetBed

    folder.mkdir(parents=True, exist_ok=True)
    with NetBed() as bed:
        if spec.get("turn"):
            bed.block_direct_udp()
        base, room = bed.start_public(folder, turn=bool(spec.get("turn")))
        if spec.get("loss"):
            bed.drop_from_sender(spec["loss"])
        if spec.get("cap"):
            bed.cap_sender(spec["cap"])
        ice = ["--ice-server", bed.turn_url()] if spec.get("turn") else []
        peer = [sys.executable, "-m", "benchmarks.live_peer"]
        rx = bed.spawn("rx", [*peer, "receive", base, room["room"], room["receiver_token"],
                              str(folder / "rx.json"), *ice], folder / "rx.log")
        tx = bed.spawn("tx", [*peer, "send", base, room["room"], room["sender_token"],
                              str(folder / "tx.json"), "--frames", str(frames), *ice,
                              "--frames-per-message", str(spec.get("fpm", 1))],
                       folder / "tx.log")
        tx.wait(timeout)
        rx.wait(60)
    return score(json.loads((folder / "tx.json").read_text()),
                 json.loads((folder / "rx.json").read_text()))


def score(sent: dict, got: dict) -> dict:
    s, r = sent["summary"], got["summary"]
    mismatched = sum(sent["states"].get(seq) != v for seq, v in got["states"].items())
    kbps = lambda b: round(b * 8 * FPS / 1000, 2)  # noqa: E731
    return {
        "frames_sent": s["frames_sent"], "frames_rendered": r["frames_rendered"],
        "desynchronized_frames": mismatched, "stale_dropped": r["stale_dropped"],
        "dropped_at_sender": s["messages_dropped_at_sender"],
        "first_frame_s": r["first_frame_s"], "latency_ms_p50": r["latency_ms_p50"],
        "latency_ms_p95": r["latency_ms_p95"], "reference_bytes": s["reference_bytes"],
        "payload_kbps": kbps(s["payload_bytes_per_frame"]),
        "wire_kbps": kbps(s["wire_bytes_per_frame"]), "bad_packets": r["bad_packets"],
        "before_reference": r["before_reference"],
    }  # fmt: skip


def table(results: dict[str, dict]) -> str:
    head = ("| condition | rendered / sent | desync | first frame s | latency p50 / p95 ms | "
            "payload kbit/s | wire kbit/s | dropped at sender |")
    rows = [head, "|" + "---|" * 8]
    for name, x in results.items():
        if "error" in x:
            rows.append(f"| {name} | failed: {x['error']} |||||||")
            continue
        rows.append(
            f"| {name} | {x['frames_rendered']} / {x['frames_sent']} | "
            f"{x['desynchronized_frames']} | {x['first_frame_s']} | {x['latency_ms_p50']} / "
            f"{x['latency_ms_p95']} | {x['payload_kbps']} | {x['wire_kbps']} | "
            f"{x['dropped_at_sender']} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    from benchmarks.netbed import available

    p = argparse.ArgumentParser(prog="facecodec bench network", description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=250, help="frames per call (default: 250)")
    p.add_argument("--only", nargs="+", choices=CONDITIONS, default=list(CONDITIONS))
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/network"))
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    why = available()
    if why:
        print(f"facecodec bench network: {why}", file=sys.stderr)
        return 2
    from tqdm import tqdm

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(tqdm(args.only, desc="conditions", unit="call")):
            try:
                results[name] = run_condition(CONDITIONS[name], args.frames, Path(tmp) / str(i))
            except (OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
                results[name] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    text = table(results)
    (args.out / "summary.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
