"""Landmarks moved onto the optical flow from the reference crop (codec/prior/reference_flow.py)."""

import itertools

import cv2
import numpy as np
import pytest

from codec.prior.reference_flow import FlowConfig, ReferenceFlow


def _texture(seed: int, size: int = 256) -> np.ndarray:
    """A picture with detail at every scale, like skin, hair and background together."""
    rng = np.random.default_rng(seed)
    out = np.zeros((size, size), np.float32)
    for sigma in (1.5, 4.0, 10.0):
        out += cv2.GaussianBlur(rng.normal(size=(size, size)).astype(np.float32), (0, 0), sigma)
    out = (out - out.min()) / np.ptp(out) * 255
    return np.repeat(out.astype(np.uint8)[..., None], 3, axis=2)


def _shifted(picture: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(picture, m, picture.shape[1::-1], flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT101)  # fmt: skip


def _points(n: int = 478) -> np.ndarray:
    rng = np.random.default_rng(7)
    return np.concatenate([rng.uniform(70, 186, size=(n, 2)), rng.normal(size=(n, 1))], axis=1)


def test_biased_landmarks_land_on_the_pixels_motion():
    reference, points = _texture(0), _points()
    flow = ReferenceFlow()
    flow.set_reference(reference, points)
    shift = np.array([3.0, -2.0])
    truth = points[:, :2] + shift
    biased = points.copy()
    biased[:, :2] = truth + np.array([1.5, 0.0])  # a detector that sits 1.5 px to the right
    out = flow(_shifted(reference, *shift), biased)
    kept = np.isin(np.arange(len(points)), flow.kept)
    assert kept[468:].all() and 60 < kept[:468].sum() < 100  # irises and the lips
    assert np.median(np.linalg.norm(out[~kept, :2] - truth[~kept], axis=1)) < 0.2
    np.testing.assert_array_equal(out[kept], biased[kept])  # MediaPipe's own, always
    np.testing.assert_array_equal(out[:, 2], biased[:, 2])  # depth stays the detector's


def test_where_the_picture_changed_the_flow_is_not_trusted():
    """A hand over part of the face, in nine places and textures: the flow is lost under it
    and mostly ignored there; elsewhere it is trusted. (One case alone is a coin toss: on
    random texture DIS sometimes finds a consistent wrong match.)"""
    reference, points = _texture(0), _points()
    detected = points.copy()
    detected[:, :2] += np.array([2.0, 1.0])  # the detector is right this time
    under, elsewhere, wrong, kept = [], [], [], []
    for seed, (y, x) in itertools.product((1, 2, 3), ((60, 60), (100, 80), (120, 120))):
        current = _shifted(reference, 2.0, 1.0)
        current[y : y + 70, x : x + 70] = _texture(seed)[y : y + 70, x : x + 70]
        flow = ReferenceFlow()
        flow.set_reference(reference, points)
        moved, trust = flow.track(current, detected)
        out = flow(current, detected)
        covered = np.all((points[:, :2] > (x + 10, y + 10)) & (points[:, :2] < (x + 60, y + 60)), 1)
        assert covered.sum() > 20
        under.append(np.median(trust[covered]))
        elsewhere.append(np.median(trust[~covered]))
        wrong.append(np.median(np.linalg.norm(moved - detected[:, :2], axis=1)[covered]))
        kept.append(np.median(np.linalg.norm(out[:, :2] - detected[:, :2], axis=1)[covered]))
    assert np.mean(under) < 0.4 and min(elsewhere) > 0.9
    assert np.median(wrong) > 1.0  # the flow is lost under the hand...
    assert np.median(kept) < 0.3 * np.median(wrong)  # ...and mostly ignored there


def test_a_flow_that_disagrees_with_the_whole_face_is_not_used():
    reference, points = _texture(0), _points()
    flow = ReferenceFlow()
    flow.set_reference(reference, points)
    elsewhere = points.copy()
    elsewhere[:, :2] += 20.0  # the landmarks say the face is far from where flow takes it
    np.testing.assert_array_equal(flow(_shifted(reference, 1.0, 0.0), elsewhere), elsewhere)


def test_weight_zero_or_no_reference_leaves_the_landmarks_alone():
    reference, points = _texture(0), _points()
    off = ReferenceFlow(FlowConfig(weight=0.0))
    off.set_reference(reference, points)
    assert off(_shifted(reference, 2.0, 0.0), points) is points
    assert ReferenceFlow()(reference, points) is points


def test_bad_settings_are_refused_in_one_line():
    with pytest.raises(ValueError, match="weight"):
        FlowConfig(weight=1.5)
    with pytest.raises(ValueError, match="preset"):
        FlowConfig(preset="slow")
    with pytest.raises(ValueError, match="iterations"):
        FlowConfig(descent_iterations=0)


def test_a_check_every_other_frame_holds_its_trust_between():
    """check_every=2: the backward flow runs on every other frame; the frame between moves the
    points by its own forward flow and keeps the last check's trust; a new reference checks."""
    reference, points = _texture(0), _points()
    flow = ReferenceFlow(FlowConfig(check_every=2))
    calls: list = []
    flow._backward = _Counting(flow._backward, calls)
    flow.set_reference(reference, points)
    moved1, trust1 = flow.track(_shifted(reference, 1.0, 0.0), points)
    moved2, trust2 = flow.track(_shifted(reference, 3.0, 0.0), points)
    assert len(calls) == 1 and np.array_equal(trust1, trust2)
    assert np.median(moved2[:, 0] - moved1[:, 0]) == pytest.approx(2.0, abs=0.2)
    flow.track(_shifted(reference, 3.0, 0.0), points)
    assert len(calls) == 2
    flow.set_reference(reference, points)
    flow.track(reference, points)
    assert len(calls) == 3
    with pytest.raises(ValueError, match="check period"):
        FlowConfig(check_every=0)


def test_the_iterations_reach_both_flows():
    flow = ReferenceFlow(FlowConfig(descent_iterations=7, refinement_iterations=1))
    for dis in (flow._forward, flow._backward):
        assert dis.getGradientDescentIterations() == 7
        assert dis.getVariationalRefinementIterations() == 1
    medium = ReferenceFlow(FlowConfig(descent_iterations=None, refinement_iterations=None))
    assert medium._forward.getGradientDescentIterations() == 25


def test_on_a_real_clip_the_rendered_face_follows_the_pixels_closer(dev_dir):
    """dagan_driving, 40 frames, params mode, mesh warp: the frames the receiver shows are
    closer to the sender's crops with the flow than without (26.3 -> 27.7 dB when written)."""
    from benchmarks.metrics import psnr
    from codec.config import EncoderConfig, without_refresh
    from codec.decoder import Decoder
    from codec.encoder import Encoder
    from codec.offline import transcode
    from codec.prior.flame_io import load_prior
    from codec.render.meshwarp import MeshWarpRenderer
    from codec.video import read_frames

    model = load_prior(None)
    frames = list(read_frames(dev_dir / "dagan_driving.mp4", max_frames=40))

    def mean_psnr(weight: float) -> float:
        config = without_refresh(EncoderConfig(mode="params", flow=FlowConfig(weight=weight)))
        crops: list[np.ndarray] = []
        decoder = Decoder(model, MeshWarpRenderer(model))
        shown = [s.image for s in transcode(frames, Encoder(model, config), decoder, None,
                                            lambda r: crops.append(r.crop))]  # fmt: skip
        return float(np.mean([psnr(a, b) for a, b in zip(crops[1:], shown[1:], strict=True)]))

    assert mean_psnr(1.0) > mean_psnr(0.0) + 0.7


def test_the_encoder_ends_its_helper_threads_when_the_stream_ends(dev_dir):
    import threading

    from codec.config import EncoderConfig
    from codec.encoder import Encoder
    from codec.prior.flame_io import load_prior
    from codec.video import read_frames

    def helpers() -> set[threading.Thread]:
        return {t for t in threading.enumerate()
                if t.name.startswith(("flow", "second-look"))}  # fmt: skip

    before = helpers()  # other tests' encoders may still hold theirs
    enc = Encoder(load_prior(None), EncoderConfig())
    for frame in read_frames(dev_dir / "dagan_driving.mp4", max_frames=3):
        enc.encode(frame)
    ours = helpers() - before
    assert {t.name.split("_")[0] for t in ours} == {"flow", "second-look"}
    enc.finish()
    assert not any(t.is_alive() for t in ours)


class _Counting:
    """A DIS flow that counts its runs."""

    def __init__(self, dis, calls: list):
        self.dis, self.calls = dis, calls

    def calc(self, *args):
        self.calls.append(1)
        return self.dis.calc(*args)


def test_flows_begun_on_a_crop_are_the_ones_its_call_uses():
    """A sender begins the flows when the crop is cut, around the last frame's landmarks:
    the call on that very crop takes them (no flow runs twice) and, for the same window,
    gives what a call alone gives; a call on another crop measures its own."""
    reference, points = _texture(0), _points()
    crop, other = _shifted(reference, 2.0, 1.0), _shifted(reference, -3.0, 2.0)
    alone, early = ReferenceFlow(), ReferenceFlow()
    calls: list = []
    for flow in (alone, early):
        flow.set_reference(reference, points)
    early._forward = _Counting(early._forward, calls)  # type: ignore[assignment]
    early._backward = _Counting(early._backward, calls)  # type: ignore[assignment]
    early.begin(crop, points)
    assert np.array_equal(early(crop, points), alone(crop, points))
    assert len(calls) == 2  # one forward, one backward
    early.begin(crop, points)
    assert np.array_equal(early(other, points), alone(other, points))
    assert len(calls) == 6  # the unused pair finished, then the other crop's own
    for flow in (alone, early):
        flow.close()
