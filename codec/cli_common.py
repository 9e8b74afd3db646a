"""Flags the codec's commands share, each group defined once (the prior and --json, the
encoder's, the renderer's, the receiver's face controls), and how results are printed. The
live commands' own flags are in `signaling/peer/options.py`."""

from __future__ import annotations

import argparse
import json


def add_prior_and_json(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--flame", default=None,
        help="FLAME model file (else $FACECODEC_FLAME, else the built-in prior)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def report(summary: dict, as_json: bool) -> None:
    """One JSON object, or aligned `name: value` lines for people."""
    if as_json:
        print(json.dumps(summary))
        return
    width = max(map(len, summary), default=0)
    for k, v in summary.items():
        print(f"{k:>{width}}: {v}")


def add_render_options(p: argparse.ArgumentParser) -> None:
    """Which renderer draws the frames; shared by `decode` (to a file) and `receive` (live)."""
    from codec.render import RENDERERS

    p.add_argument("--renderer", choices=RENDERERS, default="meshwarp",
                   help="meshwarp: CPU, no weights; neural: trained generator (default: "
                   "%(default)s)")
    p.add_argument("--checkpoint", "--weights", dest="checkpoint", default=None,
                   help="neural renderer checkpoint (default: the shipped one; "
                   "RUN_DIR/last.pt from facecodec train)")
    p.add_argument("--device", default=None,
                   help="neural renderer: cpu, cuda or cuda:N (default: cuda when torch sees "
                   "one, else cpu)")


def add_control_options(p: argparse.ArgumentParser) -> None:
    """The receiver's edits of the face it shows; shared by `decode` and `receive`."""
    p.add_argument("--edit", action="append", default=[], metavar="NAME=STRENGTH",
                   help="expression edit, repeatable: neutral, smile, open_mouth, raise_brows, "
                   "blink; strength 0..1.5 (e.g. --edit smile=0.7)")
    p.add_argument("--gaze", action="append", default=[], metavar="camera|ANGLE=DEG",
                   help="where the eyes look: camera (toward the viewer, whatever the head "
                   "does), or yaw=DEG / pitch=DEG in the head, repeatable")
    p.add_argument("--pose-offset", action="append", default=[], metavar="ANGLE=DEG",
                   help="turn the head by this much, repeatable (e.g. --pose-offset yaw=15); "
                   "yaw within ±35°, pitch and roll ±25°")
    p.add_argument("--pose", action="append", default=[], metavar="ANGLE=DEG",
                   help="hold an angle fixed instead (e.g. --pose yaw=0 for a frontal view)")


def control_edit(args: argparse.Namespace, model):
    """The edit the control flags ask for (a DrivingState -> DrivingState callable), or None;
    a bad value raises ControlError."""
    from codec.controls import ControlApplier, parse_controls

    controls = parse_controls(args.edit, args.pose_offset, args.pose, args.gaze)
    return ControlApplier(model, controls) if controls.active else None


def renderer_and_edit(args: argparse.Namespace, model):
    """The renderer and the face controls' edit (or None) the render and control flags ask
    for."""
    from codec.render import make_renderer

    renderer = make_renderer(args.renderer, model, args.checkpoint, args.device)
    return renderer, control_edit(args, model)


def add_encoder_options(p: argparse.ArgumentParser) -> None:
    """The encoder's flags, shared by `encode` (to a file) and `send` (live)."""
    from codec.prior.keypoints import PRESETS

    p.add_argument("--mode", choices=("keypoints", "params"), default="keypoints",
                   help="keypoints: K×3 keypoints + ψ + jaw (the paper); params: pose + ψ + "
                   "jaw only, fewer bytes (default: %(default)s)")
    p.add_argument("--keypoints", type=int, choices=PRESETS, default=16,
                   help="keypoints per frame in keypoints mode (default: %(default)s)")
    p.add_argument("--expr-dims", type=int, default=20,
                   help="expression dims N sent per frame (default: %(default)s)")
    p.add_argument("--precision", type=float, default=1.0,
                   help="quantizer step multiplier, < 1 is finer (default: %(default)s)")
    p.add_argument("--picture-codec", choices=("av1", "webp", "jpeg"), default="av1",
                   help="reference picture codec (default: %(default)s)")
    p.add_argument("--picture-quality", type=int, default=50,
                   help="reference picture quality 0..100 (default: %(default)s)")
    p.add_argument("--reference-margin", type=float, default=0.125, metavar="F",
                   help="the reference picture also shows this much of the camera frame "
                   "around the crop, as a fraction of its side (0..0.5), for a receiver "
                   "whose warp reaches past the crop's edge; 0 sends the crop alone, "
                   "about 14%% smaller (default: %(default)s)")
    p.add_argument("--landmark-looks", type=int, choices=(1, 2), default=2,
                   help="landmark looks per frame: 2 averages a tracked and an untracked one "
                   "(steadier face; the untracked one every third frame, its offset carried "
                   "between), 1 skips the untracked one for a slow CPU (default: %(default)s)")
    p.add_argument("--flow-weight", type=float, default=1.0, metavar="W",
                   help="how far landmarks move onto the optical flow from the reference "
                   "picture, 0..1: the face follows the pixels' real motion; 0 turns the flow "
                   "off and saves its time on a slow CPU (default: %(default)s)")
    p.add_argument("--bank-slots", type=int, default=4, metavar="S",
                   help="bank pictures of the mouth and eyes held beside the reference, 0..4: "
                   "sent when the mouth opens or the eyes close further than any held picture "
                   "shows, so the receiver shows teeth and blinks; 0 sends one reference "
                   "only (default: %(default)s)")
    p.add_argument("--background", choices=("fit", "fixed"), default="fit",
                   help="how far the background follows the head: fit chooses it every 4th "
                   "frame against the camera picture (a wall stays put, hair moves; ~1.5 ms "
                   "a frame; also whether scenery stays still when the crop moves), fixed "
                   "always uses the levels of streams before version 4 and sends no view "
                   "(default: %(default)s)")


def encoder_config(args: argparse.Namespace):
    from codec.background import BackgroundConfig
    from codec.bank import BankConfig
    from codec.config import EncoderConfig
    from codec.prior.reference_flow import FlowConfig

    return EncoderConfig(
        mode=args.mode, keypoints=args.keypoints, expr_dims=args.expr_dims,
        precision=args.precision, picture_codec=args.picture_codec,
        picture_quality=args.picture_quality, reference_margin=args.reference_margin,
        landmark_looks=args.landmark_looks,
        flow=FlowConfig(weight=args.flow_weight), bank=BankConfig(slots=args.bank_slots),
        background=BackgroundConfig(choose=args.background == "fit"),
    )  # fmt: skip
