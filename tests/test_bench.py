"""Benchmarks: the metric module on known cases, and `bench rd` end to end on a tiny run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.metrics import DlibLandmarks, keypoint_distance, psnr, ssim


def test_image_metrics_on_known_cases():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    assert psnr(a, a) == float("inf") and ssim(a, a) == pytest.approx(1.0)
    noisy = np.clip(a.astype(int) + rng.normal(0, 10, a.shape), 0, 255).astype(np.uint8)
    assert 27.5 < psnr(a, noisy) < 29  # σ = 10: 20 log10(255 / 10) = 28.1 dB
    assert ssim(a, noisy) < 0.999


def test_keypoint_distance_of_a_known_shift():
    pts = np.random.default_rng(1).uniform(0, 256, (68, 2))
    assert keypoint_distance(pts, pts) == 0
    assert keypoint_distance(pts, pts + np.array([3.0, 0.0])) == pytest.approx(3.0)


def test_akd_with_dlib_on_real_faces(dev_dir):
    judge = DlibLandmarks.available()
    if judge is None:
        pytest.skip("dlib / face_recognition_models not installed (the bench extra)")
    from codec.prior.face_track import FaceTrack
    from codec.video import read_frames

    crop = FaceTrack()(next(read_frames(dev_dir / "dagan_driving.mp4"))).crop
    truth = judge(crop)
    assert keypoint_distance(truth, judge(crop)) == 0
    shifted = np.zeros_like(crop)
    shifted[:, 3:] = crop[:, :-3]
    assert keypoint_distance(truth, judge(shifted)) == pytest.approx(3.0, abs=0.7)


def test_bench_rd_quick_run(tmp_path):
    from benchmarks.rd import FIELDS, main
    from codec.prior.flame_io import load_prior
    from codec.synthetic import SyntheticConfig, make_clip, save_clip

    videos, out = tmp_path / "videos", tmp_path / "rd"
    videos.mkdir()
    for seed in (0, 1):
        clip = make_clip(load_prior(None), SyntheticConfig(seconds=0.6, seed=seed))
        save_clip(clip, videos / f"synthetic{seed}.mp4", 25.0)
    assert main(["--videos", str(videos), "--frames", "15", "--out", str(out), "--quick"]) == 0
    records = json.loads((out / "results.json").read_text())
    assert {r["system"] for r in records} >= {"facecodec-meshwarp", "x264", "vp9", "av1"}
    assert sum(r["system"].endswith("reenact") for r in records) == 2  # each drives the other
    for r in records:
        if r["system"].endswith("reenact"):
            continue
        assert set(FIELDS) <= set(r) and r["frames"] == 15
    for system in ("x264", "x265", "vp8", "vp9", "av1"):
        for clip in ("synthetic0", "synthetic1"):
            rows = sorted((r for r in records if r["system"] == system and r["clip"] == clip),
                          key=lambda r: r["total_bytes_per_frame"])  # fmt: skip
            assert rows[-1]["psnr"] >= rows[0]["psnr"] - 0.5  # more bytes never look worse
    before = (out / "cells.jsonl").read_text()
    assert main(["--videos", str(videos), "--frames", "15", "--out", str(out), "--quick"]) == 0
    assert (out / "cells.jsonl").read_text() == before  # finished cells are not recomputed


def test_message_rate_fills_are_exact_on_a_steady_motion():
    """Made-up frames: on a motion that moves by equal steps, interpolation and
    extrapolation land on the true frame and holding lags by one step; on the tiny head's
    clip every fill gives finite errors for every landmark group."""
    from pathlib import Path

    from benchmarks.message_rate import GROUPS, _blend, _landmarks, clip_errors
    from codec.prior.flame_io import load_prior
    from codec.prior.params import FaceParams

    model = load_prior()
    pose = np.zeros((5, 3))

    def at(t: float) -> FaceParams:
        p = pose.copy()
        p[0, 1], p[2, 0] = 0.05 * t, 0.02 * t
        return FaceParams(np.zeros(4), np.full(6, 0.1 * t), p, 1.0 + 0.01 * t,
                          np.array([128.0 + t, 128.0, 0.0]), 256)

    truth = _landmarks(model, at(2))
    assert np.abs(_landmarks(model, _blend(at(1), at(3), 0.5)) - truth).max() < 0.05
    assert np.abs(_landmarks(model, _blend(at(0), at(1), 2.0)) - truth).max() < 0.05
    assert np.abs(_landmarks(model, at(1)) - truth).max() > 0.5
    clip = Path(__file__).parent / "fixtures" / "tiny_head" / "head.mp4"
    errors = clip_errors(model, clip, 40)
    assert all(len(errors[f][g]) > 5 and np.isfinite(errors[f][g]).all()
               for f in errors for g in GROUPS)  # fmt: skip


def test_bench_speed_counts_the_helper_threads_cpu(dev_dir, tmp_path):
    """Wall time hides the second look and the backward flow on an idle 2-core machine; the
    CPU column counts every thread's time, stage by stage, beside the AV1 encode's."""
    from benchmarks.speed import main

    out = tmp_path / "speed.json"
    assert main(["--video", str(dev_dir / "dagan_driving.mp4"), "--frames", "12", "--no-live",
                 "--json", str(out)]) == 0  # fmt: skip
    stats = json.loads(out.read_text())
    for stage in ("landmarks", "flow", "fit", "encode", "background"):
        assert stats[stage]["cpu_mean_ms"] > 0
    parts = sum(stats[s]["cpu_mean_ms"] for s in ("landmarks", "flow", "fit", "bank", "encode",
                                                   "background"))  # fmt: skip
    assert stats["sender_total"]["cpu_mean_ms"] == pytest.approx(parts)
    wall = sum(stats[s]["mean_ms"] for s in ("landmarks", "flow", "fit", "bank", "encode",
                                              "background"))  # fmt: skip
    assert stats["sender_frame"]["mean_ms"] == pytest.approx(wall)
    assert stats["av1_low_delay_16kbps"]["cpu_mean_ms"] > 0


def test_psnr_budget_splits_the_error_by_region():
    from benchmarks.psnr_budget import colour_fit, face_colour, frame_budget, regions

    rng = np.random.default_rng(3)
    truth = rng.integers(40, 200, (128, 128, 3)).astype(np.uint8)
    angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    landmarks = np.stack([64 + 30 * np.cos(angles), 64 + 36 * np.sin(angles)], axis=1)
    face, ring = regions(landmarks, truth.shape[:2])
    assert 0.2 < face.mean() < 0.3 and not (face & ring).any() and ring.sum() > 0.5 * face.sum()
    shown = truth.copy()
    shown[face] = np.clip(shown[face].astype(int) + 20, 0, 255)
    budget = frame_budget(truth, shown, landmarks)
    assert budget.shares == pytest.approx((1.0, 0.0, 0.0))
    assert budget.face_exact == float("inf") and budget.psnr < 30
    darker = (truth * 0.8 + 10).astype(np.uint8)  # an exposure change: the colour fit undoes it
    fitted, gain = colour_fit(darker, truth)
    assert psnr(truth, fitted) > psnr(truth, darker) + 15 and gain == pytest.approx(1.25, abs=0.02)
    _, gain = colour_fit(np.roll(truth, 5, axis=1), truth)  # misaligned: the fit fades it
    assert gain < 0.5
    budget = frame_budget(truth, truth - 10, landmarks, face_colour(truth, landmarks) - 10)
    assert budget.sender_offset == float("inf") and budget.psnr < 29


def test_psnr_budget_end_to_end_on_a_synthetic_clip(tmp_path):
    from benchmarks.psnr_budget import main
    from codec.prior.flame_io import load_prior
    from codec.synthetic import SyntheticConfig, make_clip, save_clip

    videos, out = tmp_path / "videos", tmp_path / "budget.json"
    videos.mkdir()
    save_clip(make_clip(load_prior(None), SyntheticConfig(seconds=0.6, seed=0)),
              videos / "synthetic0.mp4", 25.0)  # fmt: skip
    assert main(["--videos", str(videos), "--all-clips", "--frames", "12", "--json",
                 str(out)]) == 0  # fmt: skip
    (row,) = json.loads(out.read_text())
    assert row["renderer"] == "meshwarp" and row["frames"] > 5
    assert row["psnr"] < row["face_exact"] < row["ring_exact"]
    assert sum(row[k] for k in ("share_face", "share_ring", "share_rest")) == pytest.approx(1.0)
    assert main(["--videos", str(tmp_path / "none")]) == 2
