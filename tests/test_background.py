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
from codec.driving import (
    STILL_VIEW,
    DrivingState,
    follow_shares,
    view_from_levels,
    view_levels,
    view_matrix,
)
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
    drawn levels, however far they lie from where it starts (the scenery's measured motion
    left out: on a frame drawn by the sheet itself it can trade a level for a view)."""
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
    chooser = BackgroundChooser(model, BackgroundConfig(measure=False))
    chooser.set_reference(first.crop, first.decoded.params)
    assert chooser.settle(frame, later.decoded) == levels


def test_measured_views_are_measured_every_frame_and_every_fourth_when_busy(model, before_a_wall):
    """Once the measured scenery is the choice, each frame measures it; a busy sender, which
    searches a quarter as often, measures it on one frame in four and holds it between."""
    enc = Encoder(model, without_refresh(EncoderConfig(mode="params")), 25.0)
    try:
        results = [enc.encode(f) for f in before_a_wall[:24]]
    finally:
        enc.close()
    assert all(r.decoded is not None for r in results)
    for every, measured in ((4, 20), (16, 5)):
        chooser = BackgroundChooser(model)
        chooser.set_reference(results[0].crop, results[0].decoded.params)
        chooser.scenery, chooser.every = "measured", every
        calls: list[int] = []
        chooser._measure = lambda *a, calls=calls: calls.append(1) or (1.0, 0.01, 0.0)
        chooser._choose_scenery = lambda *a: False  # keep the measured choice
        for seq, r in enumerate(results[4:], start=4):
            chooser(seq, r.crop, r.decoded, r.landmarks)
            assert chooser.view == view_from_levels(view_levels((1.0, 0.01, 0.0)))
        assert len(calls) == measured


def test_look_does_a_frames_fit_free_work_once(model, before_a_wall):
    """`look` (run while the flows run) measures the frame's scenery where it is due; the
    call after the fit does not measure it again, and searches on search frames only."""
    enc = Encoder(model, without_refresh(EncoderConfig(mode="params")), 25.0)
    try:
        results = [enc.encode(f) for f in before_a_wall[:10]]
    finally:
        enc.close()
    chooser = BackgroundChooser(model)
    chooser.set_reference(results[0].crop, results[0].decoded.params)
    measured: list[int] = []
    measure = chooser._measure
    chooser._measure = lambda *a: measured.append(1) or measure(*a)
    searched: list[int] = []
    search = chooser._search
    chooser._search = lambda *a: searched.append(1) or search(*a)
    for seq, r in enumerate(results[4:], start=4):
        before = len(measured)
        chooser.look(seq, r.crop, STILL_VIEW, r.landmarks)
        looked = len(measured)
        assert looked == before + (seq % 4 == 0 or chooser.scenery == "measured")
        chooser(seq, r.crop, replace(r.decoded, view=STILL_VIEW), r.landmarks)
        assert len(measured) == looked
        assert len(searched) == (seq - 4) // 4 + 1
    assert measured


def shifted(model, camera_pans: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The synthetic head moving 60 px to the right over 2 s before a patterned wall that
    holds still (a camera on a desk) or moves with it (a camera that pans with the face),
    and where each frame shows the wall."""
    clip = make_clip(model, SyntheticConfig(seconds=2.0, seed=1))
    h, w = clip.frames.shape[1:3]
    tiles = np.random.default_rng(0).integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    wall = cv2.resize(tiles, (w, h), interpolation=cv2.INTER_NEAREST)
    frames, walls = [], []
    for i, f in enumerate(clip.frames):
        move = np.float32([[1, 0, round(60 * i / (len(clip.frames) - 1))], [0, 1, 0]])
        head = cv2.warpAffine(f, move, (w, h), borderMode=cv2.BORDER_REPLICATE)
        behind = cv2.warpAffine(wall, move, (w, h), borderMode=cv2.BORDER_REFLECT101) \
            if camera_pans else wall
        shows = np.all(head == BACKGROUND, axis=-1, keepdims=True)
        frames.append(np.where(shows, behind, head))
        walls.append(shows[..., 0].astype(np.uint8))
    return frames, walls


def views(model, frames, walls) -> tuple[list[DrivingState], list[np.ndarray], list, list]:
    """What the receiver decodes from each frame, the crop the sender saw, where that crop
    shows the wall (clear of the head's edge), and the crop's centre in the frame."""
    config = without_refresh(EncoderConfig(mode="params"))
    enc, dec = Encoder(model, config, 25.0), Decoder(model, MeshWarpRenderer(model))
    states, crops, clear, centres = [], [], [], []
    for p in enc.start():
        dec.push(p)
    for frame, wall in zip(frames, walls, strict=True):
        result = enc.encode(frame)
        for p in result.packets:
            out = dec.push(p)
            if out is not None and result.box is not None:
                assert out.driving.view == result.decoded.view  # both ends agree
                states.append(out.driving)
                crops.append(result.crop)
                clear.append(cv2.erode(result.box.cut(wall, 256), np.ones((9, 9), np.uint8)))
                centres.append(result.box.cx)
    enc.close()
    return states, crops, clear, centres


def test_a_crop_moving_over_a_still_wall_sends_its_view_and_shows_the_wall_still(model):
    """Where both the reference's crop and a later one show the wall, the receiver draws it
    where it now lies (29.6 dB there for a perfect shift of the reference crop)."""
    states, crops, clear, _ = views(model, *shifted(model, camera_pans=False))
    gains = wall_gains(model, states, crops, clear)
    assert len(gains) > len(states) // 3
    assert min(gains[-5:]) > 10.0


def test_a_camera_panning_with_the_face_sends_the_walls_own_motion(model):
    """The camera pans with the head, so the wall drifts across the crop as the head does
    between the crop's re-centrings, which the box knows nothing of: the view the sender
    measures from the wall's pixels shows it where it lies."""
    states, crops, clear, centres = views(model, *shifted(model, camera_pans=True))
    assert centres[-1] - centres[0] > 30  # the crop followed the face
    gains = wall_gains(model, states, crops, clear)
    assert len(gains) > len(states) // 2
    assert np.median(gains) > 8.0 and min(gains) > 2.0


def wall_gains(model, states, crops, clear) -> list[float]:
    """Per frame that carries a view, PSNR gained by it (against none) where both the
    reference's crop and this one show the wall."""
    renderer = MeshWarpRenderer(model)
    renderer.set_reference(crops[0], states[0].params)
    gains = []
    for i in (i for i, s in enumerate(states) if s.view != STILL_VIEW):
        seen_before = cv2.warpAffine(clear[0], view_matrix(states[i].view, 256), (256, 256),
                                     flags=cv2.INTER_NEAREST)  # fmt: skip
        both = (clear[i] & seen_before).astype(bool)
        assert both.sum() > 5000
        still = replace(states[i], view=STILL_VIEW)
        gains.append(psnr(renderer.render(states[i])[both], crops[i][both])
                     - psnr(renderer.render(still)[both], crops[i][both]))  # fmt: skip
    return gains
