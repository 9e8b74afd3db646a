"""`facecodec bench network`: the live call across a namespaced network, impaired by the
kernel (iptables random drops on the sender's uplink, a tc tbf rate cap, direct UDP between
the peers blocked so only a coturn relay connects them, each peer behind its own MASQUERADE
NAT with only STUN to find the way) and by a user-space delay line
(`benchmarks/delayline.py`: this kernel has no netem). Needs root, iproute2, iptables and
coturn. Every condition is a fresh network and two fresh peer processes.

Per condition, facecodec's call and the anchor beside it: the same face crops as a plain
WebRTC video call (`benchmarks/video_peer.py`: VP8 as aiortc ships it, VP8 and H.264 with
the bitrate floor lowered to 40 kbit/s). Per call, by the clock all namespaces share:
frames shown within 400 ms of capture, freezes (gaps between shown frames past two frame
intervals: total and longest), latency p50 / p95 from capture to shown, the time from the
receiver's start to its first frame, the sender's wire kbit/s both ways from its kernel's
link counters (every header), and what a viewer saw against the input crop (at each
frame's capture time plus 400 ms, the newest frame shown by then): PSNR, and AKD with the
bench extra. facecodec rows also check that no frame was rendered from a wrong state. The
source is a dev clip (`--video`, default dagan_driving.mp4 where the dev clips are), else
the synthetic head.
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
BUDGET_S = 0.4  # a frame shown later than this after capture counts as not on time
# The anchor: the same crops as a plain WebRTC video call (benchmarks/video_peer.py), VP8
# as aiortc ships it (its floor is 250 kbit/s), and VP8 and H.264 with the floor at 40.
ANCHORS: dict[str, dict] = {
    "WebRTC VP8 (aiortc)": {"codec": "vp8"},
    "WebRTC VP8, floor 40k": {"codec": "vp8", "floor": 40},
    "WebRTC H.264, floor 40k": {"codec": "h264", "floor": 40},
}


def run_condition(spec: dict, frames: int, folder: Path, timeout: float = 240,
                  video: Path | None = None, anchor: dict | None = None) -> dict:
    """One call across a fresh network: facecodec's, or with `anchor` the plain WebRTC
    video call. Both keep the sent crops and the shown frames with their times."""
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
        module = "benchmarks.video_peer" if anchor else "benchmarks.live_peer"
        peer = [sys.executable, "-m", module]
        extra = (["--codec", anchor["codec"]] + (["--floor-kbps", str(anchor["floor"])]
                                                 if anchor.get("floor") else [])
                 if anchor else ["--frames-per-message", str(spec.get("fpm", 1))])
        before = bed.wire_bytes("tx")
        rx = bed.spawn("rx", [*peer, "receive", base, room["room"], room["receiver_token"],
                              str(folder / "rx.json"), *ice, "--images",
                              str(folder / "shown.npz")], folder / "rx.log")
        tx = bed.spawn("tx", [*peer, "send", base, room["room"], room["sender_token"],
                              str(folder / "tx.json"), "--frames", str(frames), *ice, *extra,
                              "--crops", str(folder / "sent.npz"),
                              *(["--video", str(video)] if video else [])],
                       folder / "tx.log")
        tx.wait(timeout)
        rx.wait(60)
        after = bed.wire_bytes("tx")
    sent, got = (json.loads((folder / f).read_text()) for f in ("tx.json", "rx.json"))
    seconds = frames / FPS
    out = {} if anchor else score(sent, got)
    out |= viewing(sent["sent"], got["received"], got.get("first_frame_s",
                                                            got.get("summary", {}).get(
                                                                "first_frame_s")))
    if not anchor:  # where the seconds to the first picture went, from the offer on
        out["join_steps_s"] = got.get("summary", {}).get("join_steps_s")
    out["wire_kbps_up"] = round((after[0] - before[0]) * 8 / 1000 / seconds, 2)
    out["wire_kbps_down"] = round((after[1] - before[1]) * 8 / 1000 / seconds, 2)
    return out


def viewing(sent: dict, received: dict, first_frame_s) -> dict:
    """What a viewer saw, by the clock both peers share: frames shown within the budget,
    freezes (from the first shown frame to two frame intervals after the last capture, every
    gap between shown frames past two frame intervals; total and longest; a call that shows
    nothing is one freeze), latency from capture to shown."""
    sent = {int(k): v for k, v in sent.items()}
    shown = sorted((t, int(k)) for k, t in received.items() if int(k) in sent)
    latency = [1000 * (t - sent[k]) for t, k in shown]
    end = max(sent.values(), default=0.0) + 2 / FPS
    times = [t for t, _ in shown] + [end] if shown else [min(sent.values(), default=0.0), end]
    gaps = np.diff(times)
    stalls = gaps[gaps > 2 / FPS]
    return {
        "frames_sent": len(sent), "shown": len(shown),
        "on_time": sum(ms <= 1000 * BUDGET_S for ms in latency),
        "freeze_total_s": round(float(stalls.sum()), 2),
        "freeze_longest_s": round(float(gaps.max()), 2) if len(gaps) else None,
        "latency_ms_p50": round(float(np.median(latency)), 1) if latency else None,
        "latency_ms_p95": round(float(np.percentile(latency, 95)), 1) if latency else None,
        "first_frame_s": first_frame_s,
    }  # fmt: skip


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


def viewer_quality(folder: Path, judge) -> dict:
    """AKD (px, with dlib) and PSNR (dB) of what a viewer saw against the input crop: for
    each input frame, the newest frame up to it that was shown by its capture time plus the
    budget (a lost or late frame leaves an older one on screen; none yet: not scored). The
    bottom band the anchor stamps its frame numbers in is left out for every system."""
    from benchmarks.metrics import keypoint_distance, psnr
    from benchmarks.video_peer import BAND

    sent = json.loads((folder / "tx.json").read_text())["sent"]
    received = json.loads((folder / "rx.json").read_text())["received"]
    crops = np.load(folder / "sent.npz")["crops"]
    if not (folder / "shown.npz").is_file():
        return {"psnr_db": None, "akd_px": None}  # nothing was ever shown
    with np.load(folder / "shown.npz") as z:
        images = dict(zip(z["seqs"].tolist(), z["images"], strict=True))
    arrived = {int(k): t for k, t in received.items() if int(k) in images}
    scores, errors = [], []
    for i in sorted(int(k) for k in sent):
        if i >= len(crops):
            break
        due = sent[str(i)] + BUDGET_S
        ready = [k for k, t in arrived.items() if k <= i and t <= due]
        if not ready:
            continue
        current = max(ready)
        truth, seen = crops[i][:-BAND], images[current][:-BAND]
        scores.append(psnr(truth, seen))
        box, got_box = (judge.box(truth), judge.box(seen)) if judge else (None, None)
        if box is not None and got_box is not None:
            errors.append(keypoint_distance(judge(truth, box), judge(seen, got_box)))
    return {"psnr_db": round(float(np.mean(scores)), 2) if scores else None,
            "akd_px": round(float(np.mean(errors)), 3) if errors else None}


def table(results: dict[str, dict[str, dict]]) -> str:
    head = ("| condition | system | shown on time / sent | first frame s | freezes s (longest) "
            "| latency p50 / p95 ms | wire kbit/s up / down | AKD px | PSNR dB |")
    rows = [head, "|" + "---|" * 9]
    for name, systems in results.items():
        for system, x in systems.items():
            if "error" in x:
                rows.append(f"| {name} | {system} | failed: {x['error']} ||||||")
                continue
            rows.append(
                f"| {name} | {system} | {x['on_time']} / {x['frames_sent']} | "
                f"{x['first_frame_s']} | {x['freeze_total_s']} ({x['freeze_longest_s']}) | "
                f"{x['latency_ms_p50']} / {x['latency_ms_p95']} | {x['wire_kbps_up']} / "
                f"{x['wire_kbps_down']} | {x.get('akd_px', '-')} | {x.get('psnr_db', '-')} |")
    return "\n".join(rows)


def plot(results: dict[str, dict[str, dict]], path: Path) -> None:
    """AKD against the sender's wire kbit/s, one marker per system, every condition."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    systems = sorted({s for r in results.values() for s in r})
    for system, marker in zip(systems, "os^vD<>", strict=False):
        points = [(x["wire_kbps_up"], x["akd_px"]) for r in results.values()
                  if (x := r.get(system)) and x.get("akd_px") is not None]
        if points:
            ax.scatter(*zip(*points, strict=True), marker=marker, label=system)
    ax.set_xscale("log")
    ax.set_xlabel("sender's wire kbit/s (every header, kernel counters)")
    ax.set_ylabel("AKD of what the viewer saw, px")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    from benchmarks.netbed import available

    p = argparse.ArgumentParser(prog="facecodec bench network", description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=250, help="frames per call (default: 250)")
    p.add_argument("--only", nargs="+", choices=CONDITIONS, default=list(CONDITIONS))
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/network"))
    p.add_argument("--anchors", nargs="*", choices=ANCHORS, default=list(ANCHORS),
                   help="plain WebRTC video calls to run beside ours (default: all)")
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

    from benchmarks.metrics import DlibLandmarks

    judge = DlibLandmarks.available()
    systems = {"facecodec": None, **{a: ANCHORS[a] for a in args.anchors}}
    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = [(c, s) for c in args.only for s in systems]
        for i, (name, system) in enumerate(tqdm(runs, desc="calls", unit="call")):
            folder = Path(tmp) / str(i)
            try:
                row = run_condition(CONDITIONS[name], args.frames, folder, video=args.video,
                                    anchor=systems[system])
                row |= viewer_quality(folder, judge)
            except (OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
                row = {"error": f"{type(exc).__name__}: {exc}"[:200]}
            results.setdefault(name, {})[system] = row
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    text = table(results)
    (args.out / "summary.md").write_text(text + "\n")
    plot(results, args.out / "akd_vs_wire.png")
    print(text)
    return 0


def _default_video() -> Path | None:
    from benchmarks.data import dev_clips

    clip = dev_clips() / "dagan_driving.mp4"
    return clip if clip.is_file() else None


if __name__ == "__main__":
    raise SystemExit(main())
