"""`facecodec bench network`: the live call across a namespaced network, impaired by the
kernel (iptables random drops on the sender's uplink, a tc tbf rate cap, direct UDP between
the peers blocked so only a coturn relay connects them, each peer behind its own MASQUERADE
NAT with only STUN to find the way) and by a user-space delay line
(`benchmarks/delayline.py`: this kernel has no netem). Needs root, iproute2, iptables and
coturn. Every condition is a fresh network and two fresh peer processes.

Per condition: frames rendered of frames sent, frames whose rendered state differs from the
sender's own (must be 0), the time from the receiver's start to its first frame, latency
p50 / p95 (same host clock), payload and wire kbit/s, and (with the bench extra) AKD of what
a viewer saw against the clean run's pictures, a lost frame showing the last one received.
The source is a dev clip (`--video`, default dagan_driving.mp4 where the dev clips are),
else the synthetic head.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CONDITIONS: dict[str, dict] = {
    "clean": {},
    "5% loss": {"loss": 0.05},
    "20% loss": {"loss": 0.20},
    "30% loss": {"loss": 0.30},
    "48 kbit/s": {"cap": 48},
    "48 kbit/s + 20% loss": {"cap": 48, "loss": 0.20},
    "40 ± 10 ms each way": {"delay": 40, "jitter": 10},
    "120 ± 20 ms each way": {"delay": 120, "jitter": 20},
    "TURN relay only": {"turn": True},
    "behind two NATs, STUN": {"nat": True},
}
FPS = 25.0  # the synthetic source's


def run_condition(spec: dict, frames: int, folder: Path, timeout: float = 240,
                  video: Path | None = None) -> dict:
    from benchmarks.netbed import NetBed

    folder.mkdir(parents=True, exist_ok=True)
    with NetBed(nat=bool(spec.get("nat"))) as bed:
        if spec.get("turn"):
            bed.block_direct_udp()
        base, room = bed.start_public(folder, turn=bool(spec.get("turn") or spec.get("nat")))
        if spec.get("loss"):
            bed.drop_from_sender(spec["loss"])
        if spec.get("cap"):
            bed.cap_sender(spec["cap"])
        if spec.get("delay"):
            bed.delay("tx", spec["delay"], spec.get("jitter", 0.0), folder)
        ice = ["--ice-server", bed.turn_url()] if spec.get("turn") else []
        ice += ["--ice-server", f"stun:{bed.ip('pub')}:3478"] if spec.get("nat") else []
        peer = [sys.executable, "-m", "benchmarks.live_peer"]
        rx = bed.spawn("rx", [*peer, "receive", base, room["room"], room["receiver_token"],
                              str(folder / "rx.json"), *ice, "--images",
                              str(folder / "shown.npz")], folder / "rx.log")
        tx = bed.spawn("tx", [*peer, "send", base, room["room"], room["sender_token"],
                              str(folder / "tx.json"), "--frames", str(frames), *ice,
                              "--frames-per-message", str(spec.get("fpm", 1)),
                              *(["--video", str(video)] if video else [])],
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


def viewer_akd(clean: Path, other: Path, judge) -> float | None:
    """AKD (px) between the clean run's pictures and what a viewer of `other` saw at the
    same frame numbers (a missing frame shows the last one received)."""
    from benchmarks.metrics import keypoint_distance

    with np.load(clean) as a, np.load(other) as b:
        shown = dict(zip(b["seqs"].tolist(), b["images"], strict=True))
        errors, last = [], None
        for seq, truth in zip(a["seqs"].tolist(), a["images"], strict=True):
            last = shown.get(seq, last)
            box = judge.box(truth)
            if last is None or box is None:
                continue
            got_box = judge.box(last)
            if got_box is not None:
                errors.append(keypoint_distance(judge(truth, box), judge(last, got_box)))
    return round(float(np.mean(errors)), 3) if errors else None


def table(results: dict[str, dict]) -> str:
    head = ("| condition | rendered / sent | desync | first frame s | latency p50 / p95 ms | "
            "payload kbit/s | wire kbit/s | dropped at sender | AKD vs clean px |")
    rows = [head, "|" + "---|" * 9]
    for name, x in results.items():
        if "error" in x:
            rows.append(f"| {name} | failed: {x['error']} |||||||")
            continue
        rows.append(
            f"| {name} | {x['frames_rendered']} / {x['frames_sent']} | "
            f"{x['desynchronized_frames']} | {x['first_frame_s']} | {x['latency_ms_p50']} / "
            f"{x['latency_ms_p95']} | {x['payload_kbps']} | {x['wire_kbps']} | "
            f"{x['dropped_at_sender']} | {x.get('akd_vs_clean_px', '-')} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    from benchmarks.netbed import available

    p = argparse.ArgumentParser(prog="facecodec bench network", description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=250, help="frames per call (default: 250)")
    p.add_argument("--only", nargs="+", choices=CONDITIONS, default=list(CONDITIONS))
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/network"))
    src = p.add_mutually_exclusive_group()
    src.add_argument("--video", type=Path, default=_default_video(),
                     help="source clip (default: %(default)s)")
    src.add_argument("--synthetic", action="store_true", help="send the synthetic head")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.synthetic:
        args.video = None
    why = available()
    if why:
        print(f"facecodec bench network: {why}", file=sys.stderr)
        return 2
    from tqdm import tqdm

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(tqdm(args.only, desc="conditions", unit="call")):
            try:
                results[name] = run_condition(CONDITIONS[name], args.frames, Path(tmp) / str(i),
                                              video=args.video)
            except (OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
                results[name] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
        _score_against_clean(results, args.only, Path(tmp))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    text = table(results)
    (args.out / "summary.md").write_text(text + "\n")
    print(text)
    return 0


def _default_video() -> Path | None:
    from benchmarks.data import dev_clips

    clip = dev_clips() / "dagan_driving.mp4"
    return clip if clip.is_file() else None


def _score_against_clean(results: dict, names: list[str], tmp: Path) -> None:
    from benchmarks.metrics import DlibLandmarks

    judge = DlibLandmarks.available()
    if judge is None or "clean" not in names:
        return
    clean = tmp / str(names.index("clean")) / "shown.npz"
    for i, name in enumerate(names):
        other = tmp / str(i) / "shown.npz"
        if "error" not in results[name] and clean.is_file() and other.is_file():
            results[name]["akd_vs_clean_px"] = viewer_akd(clean, other, judge)


if __name__ == "__main__":
    raise SystemExit(main())
