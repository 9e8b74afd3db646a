"""`facecodec decode`: a .fcs bitstream file -> a video, one output frame per input frame."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from codec.cli_common import add_control_options, add_prior_and_json, add_render_options, report


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="facecodec decode",
        description="Decode a .fcs file into a video of the face crop. A damaged file is "
        "decoded up to the damage; frames with no packet repeat the last good frame.",
    )
    p.add_argument("input", type=Path, help="input .fcs file")
    p.add_argument("output", type=Path, help="output video file (.mp4)")
    add_render_options(p)
    p.add_argument("--side-by-side", type=Path, default=None, metavar="ORIGINAL_VIDEO",
                   help="put the original video's face crop left of the reconstruction")
    add_control_options(p)
    add_prior_and_json(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from bitstream import BitstreamError
    from codec.controls import ControlError
    from codec.prior.safe_pickle import PriorFileError
    from codec.render import RendererUnavailableError
    from codec.video import VideoError

    args = parse(sys.argv[1:] if argv is None else argv)
    state = _State()
    try:
        run(args, state)
    except (VideoError, PriorFileError, RendererUnavailableError, ControlError, OSError) as exc:
        print(f"facecodec decode: {exc}", file=sys.stderr)
        return 2
    except BitstreamError as exc:
        print(f"facecodec decode: {exc}; kept {state.written} frames", file=sys.stderr)
        return 1
    summary = state.summary()
    report(summary, args.json)
    return 0


class _State:
    def __init__(self) -> None:
        self.written = 0
        self.bad_packets = 0
        self.held_frames = 0
        self.render_ms: list[float] = []

    def summary(self) -> dict:
        ms = self.render_ms
        return {
            "frames": self.written,
            "held_frames": self.held_frames,
            "bad_packets": self.bad_packets,
            "render_ms_median": round(float(np.median(ms)), 2) if ms else None,
        }


def run(args: argparse.Namespace, state: _State) -> None:
    from bitstream import read_packets
    from codec.cli_common import control_edit
    from codec.decoder import Decoder
    from codec.offline import TimedRenderer, play
    from codec.prior.flame_io import load_prior
    from codec.render import make_renderer
    from codec.video import VideoWriter

    model = load_prior(args.flame)
    edit = control_edit(args, model)
    renderer = TimedRenderer(make_renderer(args.renderer, model, args.checkpoint, args.device))
    state.render_ms = renderer.ms
    decoder = Decoder(model, renderer, edit)
    originals = _Originals(args.side_by_side) if args.side_by_side else None
    writer: VideoWriter | None = None

    def skipped(exc: Exception) -> None:
        state.bad_packets += 1
        print(f"facecodec decode: skipped a packet: {exc}", file=sys.stderr)

    try:
        for shown in play(read_packets(args.input), decoder, skipped):
            if writer is None:
                writer = VideoWriter(args.output, decoder.hello.fps if decoder.hello else 25.0)
            image = shown.image
            if originals is not None:
                image = np.hstack([originals.next(image.shape[0]), image])
            writer.write(image)
            state.written += 1
            state.held_frames += not shown.decoded
    finally:
        if writer is not None:
            writer.close()
        if originals is not None:
            originals.close()


class _Originals:
    """The original video's face crops, tracked the way the encoder tracked them."""

    def __init__(self, path: Path):
        from codec.prior.face_track import FaceTrack
        from codec.video import read_frames

        self.frames = read_frames(path)
        self.track = FaceTrack()

    def next(self, size: int) -> np.ndarray:
        frame = next(self.frames, None)
        face = None if frame is None else self.track(frame)
        if face is None:
            return np.zeros((size, size, 3), np.uint8)
        return face.crop

    def close(self) -> None:
        self.track.close()


if __name__ == "__main__":
    raise SystemExit(main())
