"""The mesh-warp renderer: identity, coherent motion, mouth cavity, speed-independent checks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from benchmarks.metrics import psnr
from codec.controls import ControlApplier, Controls
from codec.driving import DrivingState, view_matrix
from codec.prior.flame import JOINTS
from codec.prior.flame_io import load_prior
from codec.prior.params import FaceParams
from codec.render.meshwarp import MeshWarpRenderer


@pytest.fixture(scope="module")
def model():
    return load_prior(None)


@pytest.fixture(scope="module")
def picture():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    import cv2

    return cv2.resize(small, (256, 256), interpolation=cv2.INTER_CUBIC)


def reference(model) -> FaceParams:
    pose = np.zeros((len(JOINTS), 3))
    return FaceParams(np.zeros(model.n_shape), np.zeros(50), pose, 900.0,
                      np.array([128.0, 120.0, 0.0]))  # fmt: skip


def test_the_reference_pose_renders_the_reference_picture(model, picture):
    r = MeshWarpRenderer(model)
    ref = reference(model)
    r.set_reference(picture, ref)
    out = r.render(DrivingState(0, 0.0, 0, ref, None))
    assert psnr(out, picture) > 40


def test_a_moved_head_moves_the_picture_with_it(model, picture):
    r = MeshWarpRenderer(model)
    ref = reference(model)
    r.set_reference(picture, ref)
    moved = replace(ref, trans=ref.trans + np.array([6.0, 0.0, 0.0]))
    out = r.render(DrivingState(0, 0.0, 0, moved, None))
    centre = (slice(100, 150), slice(100, 150))
    shifted = np.roll(picture, 6, axis=1)
    assert psnr(out[centre], shifted[centre]) > psnr(out[centre], picture[centre]) + 5
    corner = (slice(0, 4), slice(0, 4))
    assert psnr(out[corner], picture[corner]) > 40  # the crop's corners stay put


def test_a_pinned_background_stays_while_the_head_moves(model, picture):
    """Follow levels (0, 0): both rings stay, so outside the inner ring the frame is the
    reference; by default the background there moves with the head."""
    import cv2

    r = MeshWarpRenderer(model)
    ref = reference(model)
    r.set_reference(picture, ref)
    moved = replace(ref, trans=ref.trans + np.array([6.0, 0.0, 0.0]))
    inner = np.split(r.rings_src, 2)[0]
    hull = cv2.convexHull(inner.astype(np.float32))[:, 0]
    outside = np.ones((256, 256), np.uint8)
    cv2.fillConvexPoly(outside, np.rint(hull).astype(np.int32), 0)
    cv2.erode(outside, np.ones((5, 5), np.uint8), dst=outside)  # clear of the ring's edge
    pinned = r.render(DrivingState(0, 0.0, 0, moved, None, follow=(0.0, 0.0)))
    default = r.render(DrivingState(0, 0.0, 0, moved, None))
    keep = outside.astype(bool)
    assert keep.sum() > 20000
    assert psnr(pinned[keep], picture[keep]) > 40
    assert psnr(default[keep], picture[keep]) < 30


def test_a_moved_crop_shows_still_scenery_where_it_now_lies(model, picture):
    """The view (bitstream v5): the sender's crop moved 8 px left and zoomed in 5 % over a
    still scene, the head with it. Outside the face the frame is the reference seen through
    that move, as a still camera would show it; without the view it stays where it was."""
    import cv2

    r = MeshWarpRenderer(model)
    ref = replace(reference(model), scale=400.0)  # a small face: its rings clear the corners
    r.set_reference(picture, ref)
    view = (1.05, 8 / 256, 0.0)
    pinned = DrivingState(0, 0.0, 0, ref, None, follow=(0.0, 0.0))
    out = r.render(replace(pinned, view=view))
    seen = cv2.warpAffine(picture, view_matrix(view, 256), (256, 256),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)  # fmt: skip
    ring = np.split(r.rings_src, 2)[1]
    outside = np.ones((256, 256), np.uint8)
    cv2.fillConvexPoly(outside, np.rint(cv2.convexHull(ring.astype(np.float32))[:, 0]).astype(
        np.int32), 0)  # fmt: skip
    keep = outside.astype(bool)
    assert keep.sum() > 10000
    assert psnr(out[keep], seen[keep]) > 35
    assert psnr(r.render(pinned)[keep], seen[keep]) < 25


def test_a_reference_margin_shows_the_scene_past_the_crops_edge(model, picture):
    """Bitstream v6: the crop moved 24 px left over a still scene, so the frame's left strip
    lies outside the reference crop. From the crop alone that strip is the edge mirrored;
    from a picture grown by a margin it is what the camera saw there. Inside the crop the
    two renders are the same."""
    import cv2

    margin = 32
    rng = np.random.default_rng(1)
    scene = cv2.resize(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8), (320, 320),
                       interpolation=cv2.INTER_CUBIC)  # fmt: skip
    scene[margin:-margin, margin:-margin] = picture
    ref = replace(reference(model), scale=400.0)
    view = (1.0, 24 / 256, 0.0)
    driving = DrivingState(0, 0.0, 0, ref, None, follow=(0.0, 0.0), view=view)
    alone, grown = MeshWarpRenderer(model), MeshWarpRenderer(model)
    alone.set_reference(picture, ref)
    grown.set_reference(scene, ref)
    a, b = alone.render(driving), grown.render(driving)
    strip = (slice(40, 216), slice(0, 20))
    truth = scene[margin:-margin, margin - 24 : -margin - 24]
    assert psnr(b[strip], truth[strip]) > 35
    assert psnr(a[strip], truth[strip]) < 20
    inside = (slice(0, 256), slice(30, 256))
    assert np.array_equal(a[inside], b[inside])
    with pytest.raises(ValueError, match="margin"):
        alone.set_reference(scene[:, :300], ref)


@pytest.mark.parametrize("levels", [(1024, 1024, -1024), (-1024, -1024, 1024), (1024, 0, 0)])
def test_the_furthest_view_a_packet_can_carry_still_renders(model, picture, levels):
    """A hostile or broken sender's view at the wire's limits: a picture, not a crash."""
    from bitstream.packets import VIEW_LIMIT
    from codec.driving import view_from_levels

    assert max(map(abs, levels)) == VIEW_LIMIT
    r = MeshWarpRenderer(model)
    ref = reference(model)
    r.set_reference(picture, ref)
    out = r.render(DrivingState(0, 0.0, 0, ref, None, view=view_from_levels(levels)))
    assert out.shape == picture.shape and out.dtype == np.uint8


def test_a_mouth_opened_past_the_reference_is_dark_inside(model, picture):
    r = MeshWarpRenderer(model)
    ref = reference(model)
    r.set_reference(picture, ref)
    opened = ControlApplier(model, Controls((("open_mouth", 1.2),)))(
        DrivingState(0, 0.0, 0, ref, None)
    )
    out = r.render(opened)
    from codec.prior.params import landmarks_in_crop

    lm = landmarks_in_crop(model, opened.params)
    cx, cy = np.rint(lm[[62, 66], :2].mean(0)).astype(int)
    assert out[cy - 1 : cy + 2, cx - 1 : cx + 2].mean() < 60


def test_received_keypoints_move_the_mesh(model):
    """Keypoints mode: the mesh lands on the sent keypoints (a one-sided lip pull that ψ
    cannot hold), and with keypoints equal to the prediction nothing moves."""
    from codec.prior.keypoints import driving_keypoints, preset_indices
    from codec.prior.params import mesh_in_crop
    from codec.synthetic import SyntheticConfig, make_clip

    clip = make_clip(model, SyntheticConfig(size=256, seconds=0.1))
    p = clip.params[0]
    r = MeshWarpRenderer(model)
    r.set_reference(clip.frames[0], p)
    mesh = mesh_in_crop(model, p)
    kp = driving_keypoints(model, p, p, 16)
    assert np.abs(r._onto_keypoints(mesh, kp) - mesh).max() < 1e-9
    pulled = kp.copy()
    pulled[0, :2] += np.array([-4.0, 2.0]) / 128  # the right mouth corner, 4 px out, 2 down
    moved = r._onto_keypoints(mesh, pulled)
    landed = model.landmarks(moved, "ibug68")[preset_indices(16), :2]
    target = (pulled[:, :2] + 1) * 128
    before = np.abs(model.landmarks(mesh, "ibug68")[preset_indices(16), :2] - target).max()
    assert before > 3.9 and np.abs(landed - target).max() < 0.25 * before
    far = np.linalg.norm(mesh[:, :2] - target[0], axis=1) > 60  # the forehead stays put
    assert np.abs(moved[far] - mesh[far]).max() < 0.2  # of a 4.5 px pull


def test_four_connected_fills_cover_the_pixels_eight_connected_ones_do():
    """The rasterizer fills with LINE_4 because it is cheaper; an OpenCV where the two cover
    different pixels would change every frame, so this says so first."""
    import cv2

    rng = np.random.default_rng(0)
    for _ in range(200):
        four, eight = np.zeros((64, 64), np.int32), np.zeros((64, 64), np.int32)
        for i in range(1, 20):
            centre = rng.uniform(0, 64, size=(1, 2))
            corners = np.rint((centre + rng.normal(size=(3, 2)) * rng.uniform(0.3, 12)) * 16)
            corners = corners.astype(np.int32)
            cv2.fillConvexPoly(four, corners, i, cv2.LINE_4, 4)
            cv2.fillConvexPoly(eight, corners, i, cv2.LINE_8, 4)
        assert np.array_equal(four, eight)
