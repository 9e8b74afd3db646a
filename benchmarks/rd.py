"""`facecodec bench rd`: bytes per frame against AKD, PSNR and friends, for every system.

Each clip is cropped once to 256² by the codec's own crop tracker; facecodec and the
classical codecs all see exactly those crops (facecodec's encoder re-tracks the same frames
with the same deterministic tracker and is checked to produce the same crops). Same-identity
reconstruction, reference = first frame. One shared metric module scores every system.
Finished cells (system × setting × clip, and for the neural renderer the checkpoint's
digest) are kept in `cells.jsonl` and not recomputed; delete the file after changing the
codec itself.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.data import DEV_CLIPS as DEFAULT_VIDEOS
from codec.wire import TRANSPORT_OVERHEAD

REENACT = "facecodec-meshwarp-reenact"
PRECISIONS = (0.5, 1.0, 2.0)  # quantizer step multipliers (EncoderConfig.precision)
AED_STRIDE = 5  # the face embedding costs ~50 ms, so AED is scored on every 5th frame
GAZE_STRIDE = 5  # MediaPipe on both pictures: the gaze error is scored on every 5th frame
FIELDS = ["system", "setting", "clip", "frames", "fps", "payload_bytes_per_frame",
          "wire_bytes_per_frame", "total_bytes_per_frame", "total_kbps", "reference_bytes", "akd",
          "akd_mouth", "aed", "psnr", "ssim", "detector_misses", "gaze_px", "akd_jaw",
          "akd_brows", "akd_nose", "akd_eyes", "akd_outer_mouth", "akd_inner_mouth",
          "psnr_mouth", "psnr_eyes", "psnr_mouth_open", "psnr_eyes_blink", "open_frames",
          "blink_frames"]  # fmt: skip
# Frames where the original's mouth is open wider than in the first frame (the reference) by
# this much (inner-lip gap over mouth width), and blink frames: eyes under this fraction as
# open as in the first frame. Both measured by codec.bank.face_state on dlib's landmarks.
OPEN_BY = 0.1
BLINK_BELOW = 0.6


NEURAL = "facecodec-neural"  # the system name of the neural renderer

def settings(quick: bool, full: bool, checkpoint: str | None = None) -> list[tuple[str, str, dict]]:
    """(system, setting name, parameters) for every cell of the sweep; with a checkpoint,
    every facecodec setting again with the neural renderer."""
    if quick:
        fc = [("keypoints", 16, 20, 1.0), ("params", 0, 20, 1.0)]
        kbps = [8, 64]
    elif full:
        fc = [("keypoints", k, n, q) for k in (5, 10, 16, 20, 32, 68)
              for n in (0, 5, 10, 20, 50) for q in PRECISIONS]
        fc += [("params", 0, n, q) for n in (0, 5, 10, 20, 50) for q in PRECISIONS]
        kbps = [2, 4, 8, 16, 32, 64, 128, 256]
    else:
        fc = [("keypoints", 5, 0, 1.0), ("keypoints", 16, 20, 1.0), ("keypoints", 16, 20, 0.5),
              ("keypoints", 16, 50, 1.0), ("params", 0, 10, 1.0), ("params", 0, 20, 1.0),
              ("params", 0, 20, 2.0)]
        kbps = [4, 16, 64, 256]
    out = []
    for mode, k, n, q in fc:
        name = f"{mode} K={k} N={n}" if mode == "keypoints" else f"params N={n}"
        name += f" q×{q:g}" if q != 1.0 else ""
        out.append(("facecodec-meshwarp", name, {"mode": mode, "keypoints": k or 16,
                                                  "expr_dims": n, "precision": q}))
    if checkpoint:
        out += [(NEURAL, name, {**params, "checkpoint": checkpoint})
                for _, name, params in list(out)]
    from benchmarks.classical import CODECS

    for codec in CODECS:
        out += [(codec, f"{r} kbps", {"kbps": r}) for r in kbps]
    return out  # fmt: skip


def parse(argv):
    p = argparse.ArgumentParser(prog="facecodec bench rd", description=__doc__.split("\n")[0])
    p.add_argument("--videos", type=Path, default=DEFAULT_VIDEOS,
                   help="folder of face videos (default: %(default)s)")
    p.add_argument("--frames", type=int, default=250,
                   help="frames per clip, or the whole clip where shorter (default: 250, "
                   "10 s at 25 fps as in JVET's generative face video tests)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/rd"),
                   help="output folder (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="two settings per system")
    p.add_argument("--full", action="store_true", help="the whole K × N × bitrate sweep")
    p.add_argument("--limit", type=int, default=None, help="only the first N clips")
    p.add_argument("--held-out", action="store_true",
                   help="only the prior's held-out validation clips (never trained on)")
    p.add_argument("--only", nargs="+", default=None, metavar="SETTING",
                   help='only these settings, e.g. --only "params N=20" "keypoints K=16 N=50"')
    p.add_argument("--systems", nargs="+", default=None, metavar="SYSTEM",
                   help="only these systems, e.g. facecodec-meshwarp facecodec-neural x264")
    p.add_argument("--no-reenact", action="store_true", help="skip the cross-identity cells")
    p.add_argument("--bank-slots", type=int, nargs="+", default=None, metavar="S",
                   help="facecodec's reference bank: bank pictures held (0: one reference "
                   'only), each value its own cells, named with " bank=S" (default: the '
                   "encoder's, unnamed)")
    p.add_argument("--background", nargs="+", default=None, choices=("fit", "fixed"),
                   help="how far the background follows the head: fitted per frame by the "
                   "sender, or the fixed levels of streams before version 4; each value its "
                   'own cells, named with " bg=..." (default: the encoder\'s, unnamed)')
    p.add_argument("--checkpoint", default=None,
                   help="also run every facecodec setting with this neural renderer checkpoint")
    return p.parse_args(argv)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    from tqdm import tqdm

    from benchmarks.metrics import DlibLandmarks
    from codec.video import list_clips

    if not args.videos.is_dir():
        print(f"facecodec bench rd: no such folder: {args.videos}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    judge = DlibLandmarks.available()
    if judge is None:
        print("facecodec bench rd: dlib not installed, AKD/AED left empty "
              '(pip install -e ".[bench]")', file=sys.stderr)  # fmt: skip
    cells_path = args.out / "cells.jsonl"
    digest = _digest(args.checkpoint)
    weights = lambda system: digest if system == NEURAL else None  # noqa: E731
    done = {(r["system"], r["setting"], r["clip"]) for r in _read_cells(cells_path)
            if r.get("checkpoint") == weights(r["system"])}
    grid = [g for g in settings(args.quick, args.full, args.checkpoint)
            if (args.only is None or g[1] in args.only)
            and (args.systems is None or g[0] in args.systems)]
    if args.bank_slots is not None:
        grid = [g for g in grid if not g[0].startswith("facecodec")] + [
            (system, f"{name} bank={n}", {**params, "bank_slots": n})
            for n in args.bank_slots for system, name, params in grid
            if system.startswith("facecodec")]  # fmt: skip
    if args.background is not None:
        grid = [g for g in grid if not g[0].startswith("facecodec")] + [
            (system, f"{name} bg={b}", {**params, "background": b})
            for b in args.background for system, name, params in grid
            if system.startswith("facecodec")]  # fmt: skip
    clips = list_clips(args.videos)
    if args.held_out:
        from codec.prior.flame_io import load_prior

        held = set(load_prior().meta.get("held_out_clips", []))
        clips = [c for c in clips if c.name in held]
    clips = clips[: args.limit]
    reenact = not args.no_reenact and len(clips) > 1
    with cells_path.open("a") as cells:
        for i, clip in enumerate(tqdm(clips, desc="clips", unit="clip")):
            other = clips[(i + 1) % len(clips)]
            cross = (REENACT, "K=16 N=20, reference = next clip's first frame", clip.name)
            todo = [s for s in grid if (s[0], s[1], clip.name) not in done]
            if not todo and (cross in done or not reenact):
                continue
            source = SourceClip(clip.path, args.frames, judge)
            if cross not in done and reenact:
                record = {"system": REENACT, "setting": cross[1], "clip": clip.name,
                          "reference_clip": other.name}  # fmt: skip
                record |= source.reenact(SourceClip(other.path, 1, judge))
                cells.write(json.dumps(record) + "\n")
            for system, name, params in tqdm(todo, desc=clip.name, unit="cell", leave=False):
                record = {"system": system, "setting": name, "clip": clip.name}
                if weights(system) is not None:
                    record["checkpoint"] = weights(system)
                record |= source.run(system, params)
                cells.write(json.dumps(record) + "\n")
                cells.flush()
    records = [r for r in _read_cells(cells_path)
               if r.get("checkpoint") == weights(r["system"])]  # no other weights' rows
    write_outputs(records, args.out)
    return 0


def _digest(checkpoint: str | None) -> str | None:
    """The first 12 hex digits of the checkpoint file's SHA-256 (neural cells exist only
    with one), so cells of other weights are neither reused nor reported."""
    import hashlib

    if checkpoint is None:
        return None
    return hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()[:12]


def _read_cells(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class SourceClip:
    """One clip's frames and crops, and the scoring of any system's output against them."""

    def __init__(self, path: Path, frames: int, judge):
        from codec.prior.face_track import FaceTrack
        from codec.video import read_frames, video_fps

        self.path, self.fps, self.judge = path, video_fps(path), judge
        self.frames = list(read_frames(path, max_frames=frames))
        track = FaceTrack()
        crops = [track(f) for f in self.frames]
        track.close()
        self.crops = np.stack([c.crop if c is not None else np.zeros((256, 256, 3), np.uint8)
                               for c in crops])  # fmt: skip
        self._truth = [self._landmarks(c) for c in self.crops]
        self._irises = None  # the original's iris centres, found on first use
        self._embeddings = [
            self.judge.embedding(c, box) if box is not None and i % AED_STRIDE == 0 else None
            for i, (c, (_, box)) in enumerate(zip(self.crops, self._truth, strict=True))
        ] if judge is not None else []  # fmt: skip

    def _landmarks(self, image):
        if self.judge is None:
            return None, None
        box = self.judge.box(image)
        if box is None:
            return None, None
        return self.judge(image, box), box

    def run(self, system: str, params: dict) -> dict:
        if system.startswith("facecodec"):
            images, payload, reference = self.facecodec(params)
            wire = payload + TRANSPORT_OVERHEAD
        else:
            from benchmarks.classical import encode_decode, rtp_wire_bytes

            coded = encode_decode(self.crops, system, params["kbps"], self.fps)
            images = coded.frames
            n = len(self.crops)
            reference = coded.key_bytes
            payload = (sum(coded.packet_bytes) - coded.key_bytes) / max(n - 1, 1)
            wire = (rtp_wire_bytes(coded.packet_bytes[1:])) / max(n - 1, 1)
        n = len(self.crops)
        scores = self.score(images)
        total = payload + reference / n
        return {"frames": n, "fps": self.fps, "payload_bytes_per_frame": payload,
                "wire_bytes_per_frame": wire, "total_bytes_per_frame": total,
                "total_kbps": total * 8 * self.fps / 1000, "reference_bytes": reference,
                **scores}  # fmt: skip

    def facecodec(self, params: dict, loss: float = 0.0, seed: int = 0):
        """Encode, then decode what arrives: with `loss`, each Motion packet is lost at that
        rate (Hello and Reference travel on the reliable channel and always arrive)."""
        from bitstream import PacketType, packet_type
        from codec.background import BackgroundConfig
        from codec.bank import BankConfig
        from codec.config import EncoderConfig, without_refresh
        from codec.decoder import Decoder
        from codec.encoder import Encoder
        from codec.offline import transcode
        from codec.prior.flame_io import load_prior
        from codec.render import make_renderer

        params = dict(params)
        checkpoint = params.pop("checkpoint", None)
        bank = BankConfig(slots=params.pop("bank_slots", BankConfig.slots))
        background = BackgroundConfig(choose=params.pop("background", "fit") == "fit")
        model = load_prior(None)
        config = replace(without_refresh(EncoderConfig(**params)), bank=bank,
                         background=background)  # fmt: skip
        renderer = make_renderer("neural" if checkpoint else "meshwarp", model, checkpoint)
        enc, dec = Encoder(model, config, self.fps), Decoder(model, renderer)
        rng = np.random.default_rng(seed)
        motion, reference = [], 0

        def lossy(data: bytes) -> bytes | None:
            lost = loss and packet_type(data) == PacketType.MOTION and rng.random() < loss
            return None if lost else data

        def tally(result) -> None:
            nonlocal reference
            if not np.array_equal(result.crop, self.crops[result.seq]):
                raise RuntimeError("the encoder's crop differs from the benchmark's crop")
            motion.extend([result.motion_bytes] if result.motion_bytes else [])
            reference += result.reference_bytes

        images = [s.image for s in transcode(self.frames, enc, dec, lossy, tally)]
        return np.stack(images), float(np.mean(motion)) if motion else 0.0, reference

    def reenact(self, identity: SourceClip) -> dict:
        """Cross-identity: this clip drives the first frame of another clip's person.

        The driver's stream is decoded against the other person's Reference packet, so its
        motion, coded relative to its own first frame, is applied relative to theirs. Scored
        by AED against that person's picture and by AKD against the other person's first
        landmarks moved by the driver's landmark motion (relative motion transfer).
        """
        from bitstream import PacketType, packet_type
        from codec.config import EncoderConfig, without_refresh
        from codec.decoder import Decoder
        from codec.encoder import Encoder
        from codec.offline import transcode
        from codec.prior.flame_io import load_prior
        from codec.render.meshwarp import MeshWarpRenderer

        model = load_prior(None)
        config = without_refresh(EncoderConfig())
        first = Encoder(model, config, self.fps).encode(identity.frames[0])
        swap = [p for p in first.packets if packet_type(p) == PacketType.REFERENCE]
        enc, dec = Encoder(model, config, self.fps), Decoder(model, MeshWarpRenderer(model))

        def their_reference(data: bytes) -> bytes:
            return swap[0] if swap and packet_type(data) == PacketType.REFERENCE else data

        images = [s.image for s in transcode(self.frames, enc, dec, their_reference)]
        return {"frames": len(images)} | self._score_reenactment(np.stack(images), identity)

    def _score_reenactment(self, images: np.ndarray, identity: SourceClip) -> dict:
        base, base_box = identity._truth[0] if identity._truth else (None, None)
        driver0 = self._truth[0][0] if self._truth else None
        if self.judge is None or base is None or driver0 is None:
            return dict.fromkeys(("akd", "akd_mouth", "aed", "detector_misses"))
        who = self.judge.embedding(identity.crops[0], base_box)
        targets = [None if t is None else base + (t - driver0) for t, _ in self._truth]
        people = [who if i % AED_STRIDE == 0 else None for i in range(len(images))]
        return self._landmark_scores(targets, people, images, groups=False)

    def gaze_error(self, images: np.ndarray) -> float | None:
        """Mean distance (px) between the original's and the output's iris centres."""
        from benchmarks.metrics import IrisCentres

        irises = IrisCentres()
        try:
            if self._irises is None:
                self._irises = {i: irises(self.crops[i])
                                for i in range(0, len(self.crops), GAZE_STRIDE)}
            errors = []
            for i, truth in self._irises.items():
                got = irises(images[i]) if truth is not None else None
                if got is not None:
                    errors.append(float(np.linalg.norm(got - truth, axis=1).mean()))
        finally:
            irises.close()
        return float(np.mean(errors)) if errors else None

    def score(self, images: np.ndarray) -> dict:
        from benchmarks.metrics import psnr, ssim

        pairs = list(zip(self.crops, images, strict=True))
        out = {"psnr": float(np.mean([psnr(a, b) for a, b in pairs])),
               "ssim": float(np.mean([ssim(a, b) for a, b in pairs])),
               "gaze_px": self.gaze_error(images)}  # fmt: skip
        if self.judge is None:
            return out | dict.fromkeys(("akd", "akd_mouth", "aed", "detector_misses"))
        targets = [t for t, _ in self._truth]
        return (out | self._region_scores(images)
                | self._landmark_scores(targets, self._embeddings, images))  # fmt: skip

    def _region_scores(self, images: np.ndarray) -> dict:
        """PSNR in boxes around the original's mouth and eyes: on every frame, on the frames
        whose mouth is open wider than the first frame's, and on blink frames."""
        from benchmarks.metrics import region_psnr
        from codec.bank import face_state

        truth = [(i, t) for i, (t, _) in enumerate(self._truth) if t is not None]
        if not truth:
            return dict.fromkeys(("psnr_mouth", "psnr_eyes", "psnr_mouth_open",
                                  "psnr_eyes_blink", "open_frames", "blink_frames"))  # fmt: skip
        first = face_state(truth[0][1])
        mouth, eyes, opened, blinks = [], [], [], []
        for i, t in truth:
            a, b = self.crops[i], images[i]
            mouth.append(region_psnr(a, b, t[48:68]))
            eyes.append(region_psnr(a, b, t[36:48]))
            state = face_state(t)
            if state.mouth > first.mouth + OPEN_BY:
                opened.append(mouth[-1])
            if state.eyes < BLINK_BELOW * first.eyes:
                blinks.append(eyes[-1])
        mean = lambda v: float(np.nanmean(v)) if v else None  # noqa: E731
        return {"psnr_mouth": mean(mouth), "psnr_eyes": mean(eyes),
                "psnr_mouth_open": mean(opened), "psnr_eyes_blink": mean(blinks),
                "open_frames": len(opened), "blink_frames": len(blinks)}  # fmt: skip

    def _landmark_scores(self, targets: list, people: list, images: np.ndarray,
                         groups: bool = True) -> dict:
        """AKD (all, mouth, per group) against `targets`, and AED against the embeddings in
        `people` (None: not scored on that frame); a frame with no target or no face found
        in the output counts as a detector miss."""
        from benchmarks.metrics import GROUPS, MOUTH, keypoint_distance

        by_group: dict[str, list[float]] = {g: [] for g in GROUPS}
        akd, akd_m, aed, misses = [], [], [], 0
        for target, person, image in zip(targets, people, images, strict=True):
            box = self.judge.box(image) if target is not None else None
            if box is None:
                misses += 1
                continue
            pred = self.judge(image, box)
            akd.append(keypoint_distance(target, pred))
            akd_m.append(keypoint_distance(target, pred, MOUTH))
            for g, which in GROUPS.items():
                by_group[g].append(keypoint_distance(target, pred, which))
            if person is not None:
                aed.append(float(np.linalg.norm(person - self.judge.embedding(image, box))))
        mean = lambda v: float(np.mean(v)) if v else None  # noqa: E731
        scores = {"akd": mean(akd), "akd_mouth": mean(akd_m), "aed": mean(aed),
                  "detector_misses": misses}  # fmt: skip
        return scores | ({f"akd_{g}": mean(v) for g, v in by_group.items()} if groups else {})


def write_outputs(records: list[dict], out: Path) -> None:
    """results.json, results.csv, summary.md and (with matplotlib) the RD plots."""
    (out / "results.json").write_text(json.dumps(records, indent=1) + "\n")
    with (out / "results.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(records)
    summary = summarize(records)
    (out / "summary.md").write_text(summary + "\n")
    print(summary)
    try:
        plot(records, out)
    except ImportError:
        print("facecodec bench rd: matplotlib not installed, no plots", file=sys.stderr)


def _mean(rows: list[dict], key: str):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return float(np.mean(vals)) if vals else None


def summarize(records: list[dict]) -> str:
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["system"], r["setting"]), []).append(r)
    lines = ["| system | setting | clips | payload B/frame | wire B/frame | total B/frame | "
             "total kbps | AKD px | AKD-M px | AED | PSNR dB | SSIM | gaze px | nose px | "
             "detector misses |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip

    def f(v, fmt="{:.2f}"):
        return "-" if v is None else fmt.format(v)

    for (system, setting), rows in groups.items():
        misses = sum(r["detector_misses"] or 0 for r in rows)
        lines.append(
            f"| {system} | {setting} | {len(rows)} | {f(_mean(rows, 'payload_bytes_per_frame'), '{:.1f}')} | "  # noqa: E501
            f"{f(_mean(rows, 'wire_bytes_per_frame'), '{:.1f}')} | "
            f"{f(_mean(rows, 'total_bytes_per_frame'), '{:.1f}')} | "
            f"{f(_mean(rows, 'total_kbps'))} | {f(_mean(rows, 'akd'))} | "
            f"{f(_mean(rows, 'akd_mouth'))} | {f(_mean(rows, 'aed'), '{:.3f}')} | "
            f"{f(_mean(rows, 'psnr'))} | {f(_mean(rows, 'ssim'), '{:.3f}')} | "
            f"{f(_mean(rows, 'gaze_px'))} | {f(_mean(rows, 'akd_nose'))} | {misses} |"
        )
    if any(r.get("akd_nose") is not None for r in records):
        lines += ["", "AKD per landmark group (px):", "",
                  "| system | setting | jaw | brows | nose | eyes | outer mouth | inner mouth |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for (system, setting), rows in groups.items():
            cells = " | ".join(f(_mean(rows, f"akd_{g}")) for g in
                               ("jaw", "brows", "nose", "eyes", "outer_mouth", "inner_mouth"))
            lines.append(f"| {system} | {setting} | {cells} |")
    if any(r.get("psnr_mouth") is not None for r in records):
        lines += ["", "PSNR (dB) in boxes around the original's mouth and eyes; 'open': frames "
                  "whose mouth is open wider than the first frame's, 'blink': frames whose eyes "
                  f"are under {BLINK_BELOW:g}× as open (their counts over all clips):", "",
                  "| system | setting | whole | mouth | eyes | mouth, open | open frames | "
                  "eyes, blink | blink frames |", "|---|---|---|---|---|---|---|---|---|"]
        for (system, setting), rows in groups.items():
            opened = sum(r.get("open_frames") or 0 for r in rows)
            blinks = sum(r.get("blink_frames") or 0 for r in rows)
            lines.append(
                f"| {system} | {setting} | {f(_mean(rows, 'psnr'))} | "
                f"{f(_mean(rows, 'psnr_mouth'))} | {f(_mean(rows, 'psnr_eyes'))} | "
                f"{f(_mean(rows, 'psnr_mouth_open'))} | {opened} | "
                f"{f(_mean(rows, 'psnr_eyes_blink'))} | {blinks} |")
    return "\n".join(lines)


def plot(records: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, dict[str, list[dict]]] = {}
    for r in records:
        groups.setdefault(r["system"], {}).setdefault(r["setting"], []).append(r)
    for metric, label in (("akd", "AKD (px)"), ("akd_mouth", "AKD-M (px)"),
                          ("psnr", "PSNR (dB)"), ("aed", "AED")):  # fmt: skip
        fig, ax = plt.subplots(figsize=(6, 4))
        drawn = False
        for system, by_setting in groups.items():
            pts = sorted((_mean(rows, "total_bytes_per_frame"), _mean(rows, metric))
                         for rows in by_setting.values())  # fmt: skip
            pts = [(x, y) for x, y in pts if x is not None and y is not None]
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.plot(xs, ys, marker="o", label=system)
                drawn = True
        if not drawn:  # e.g. AKD without dlib: no plot rather than an empty one
            plt.close(fig)
            continue
        ax.set_xscale("log")
        ax.set_xlabel("bytes / frame (payload + reference, amortized)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / f"rd_{metric}.png", dpi=110)
        plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
