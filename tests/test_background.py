"""The sender's choice of how far the background follows the head (codec/background.py)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from benchmarks.metrics import psnr
from bitstream import decode_packet
from bitstream.packets import DEFAULT_FOLLOW
from codec.background import BackgroundChooser, BackgroundConfig
from codec.config import EncoderConfig, without_refresh
from codec.decoder import Decoder
from codec.driving import follow_shares
from codec.encoder import Encoder
from codec.prior.flame_io import load_prior
from codec.render.meshwarp import MeshWarpRenderer
from codec.synthetic import BACKGROUND, SyntheticConfig, make_clip


@pytest.fixture(scope="module")
def model():
    return load_prior()


@pytest.fixture(scope="module")
def before_a_wall(model):
    """A synthetic head that turns and talks in front of a still, patterned wall."""
    clip = make_clip(model, SyntheticConfig(seconds=2.0, seed=1))
    h, w = clip.frames.shape[1:3]
    rng = np.random.default_rng(0)
    tiles = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    wall = cv2.resize(tiles, (w, h), interpolation=cv2.INTER_NEAREST)
    return [np.where(np.all(f == BACKGROUND, axis=-1, keepdims=True), wall, f)
            for f in clip.frames]  # fmt: skip


def call(model, frames, background: BackgroundConfig):
    """(frames shown, crops seen, Motion follow levels, their frame numbers) of a call with
    these settings."""
    config = without_refresh(EncoderConfig(mode="params", background=background))
    enc, dec = Encoder(model, config, 25.0), Decoder(model, MeshWarpRenderer(model))
    shown, crops, levels = [], [], []
    for p in enc.start():
        dec.push(p)
    for frame in frames:
        result = enc.encode(frame)
        for p in result.packets:
            out = dec.push(p)
            if out is None:
                continue
            assert out.driving.follow == result.decoded.follow  # the closed loop holds
            shown.append(out.image)
            crops.append(result.crop)
            levels.append((out.seq, decode_packet(p, dec.hello).follow))
    enc.close()
    return np.stack(shown), np.stack(crops), [level for _, level in sorted(levels)], \
        [seq for seq, _ in sorted(levels)]


def test_a_still_wall_gets_a_pinned_background_and_a_better_frame(model, before_a_wall):
    fixed, crops, fixed_levels, _ = call(model, before_a_wall, BackgroundConfig(choose=False))
    fitted, crops_fit, levels, _ = call(model, before_a_wall, BackgroundConfig())
    assert set(fixed_levels) == {DEFAULT_FOLLOW}
    assert np.array_equal(crops, crops_fit)
    assert levels[-1][0] < DEFAULT_FOLLOW[0] and levels[-1][1] <= DEFAULT_FOLLOW[1]
    assert psnr(fitted, crops) > psnr(fixed, crops) + 2.0  # +4.8 dB when written


def test_the_levels_move_only_on_search_frames(model, before_a_wall):
    _, _, levels, seqs = call(model, before_a_wall, BackgroundConfig(every=4))
    changes = [seqs[i] for i in range(1, len(levels)) if levels[i] != levels[i - 1]]
    assert changes and all(seq % 4 == 0 for seq in changes)


@pytest.mark.parametrize("bad", [dict(size=16), dict(every=0), dict(top=8), dict(top=0)])
def test_settings_out_of_range_are_refused(bad):
    with pytest.raises(ValueError):
        BackgroundConfig(**bad)


@pytest.mark.parametrize("levels", [(0, 0), (1, 5), (6, 3)])
def test_the_search_settles_on_the_levels_a_frame_was_drawn_with(model, before_a_wall, levels):
    """Training pairs two frames with no history between them, so it lets the sender's
    search settle on the one frame; on a frame drawn by the sheet itself it settles on the
    drawn levels, however far they lie from where it starts."""
    enc = Encoder(model, without_refresh(EncoderConfig(mode="params")), 25.0)
    try:
        first, later = (enc.encode(f) for f in (before_a_wall[0], before_a_wall[30]))
    finally:
        enc.close()
    assert first.decoded is not None and later.decoded is not None
    renderer = MeshWarpRenderer(model)
    renderer.set_reference(first.crop, first.decoded.params)
    drawn = replace(later.decoded, follow=follow_shares(levels))
    frame = renderer.render(drawn)
    chooser = BackgroundChooser(model)
    chooser.set_reference(first.crop, first.decoded.params)
    assert chooser.settle(frame, later.decoded) == levels
