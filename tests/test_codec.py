"""The offline codec: quantization accuracy, the Encoder/Decoder pair and the CLI."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bitstream import BitstreamError, FcsWriter, read_packets
from codec.config import EncoderConfig
from codec.decode_cli import main as decode_main
from codec.decoder import Decoder
from codec.encode_cli import main as encode_main
from codec.encoder import stream_hello
from codec.motion import MotionCodec, reference_params, to_wire
from codec.prior.flame import JOINTS
from codec.prior.flame_io import load_prior
from codec.prior.keypoints import driving_keypoints
from codec.prior.params import FaceParams
from codec.render.meshwarp import MeshWarpRenderer
from codec.video import VideoWriter, read_frames, video_frame_count


@pytest.fixture(scope="module")
def model():
    return load_prior(None)


def random_params(model, rng, crop=256) -> FaceParams:
    pose = np.zeros((len(JOINTS), 3))
    pose[0] = rng.normal(0, 0.15, 3)
    pose[2, 0] = abs(rng.normal(0, 0.05))
    return FaceParams(
        np.zeros(model.n_shape), rng.normal(0, 1, model.n_expr), pose,
        float(rng.uniform(700, 1000)), np.array([128, 128, 0]) + rng.normal(0, 8, 3), crop,
    )  # fmt: skip


@pytest.mark.parametrize("k, n", [(5, 0), (16, 20), (68, 50)])
def test_keypoints_decode_within_a_quarter_pixel(model, k, n):
    rng = np.random.default_rng(k + n)
    hello = stream_hello(model, EncoderConfig(keypoints=k, expr_dims=n), 25.0)
    codec = MotionCodec(model, hello)
    ref = reference_params(to_wire(random_params(model, rng)), 256)
    for seq in range(20):
        frame = random_params(model, rng)
        _, state = codec.encode(frame, ref, 0, seq)
        truth = driving_keypoints(model, ref, frame, k)
        err_px = np.abs(state.keypoints - truth)[:, :2].max() * 128
        assert err_px <= 0.25 + 1e-9


def test_params_mode_rebuilds_pose_and_expression(model):
    rng = np.random.default_rng(1)
    hello = stream_hello(model, EncoderConfig(mode="params", expr_dims=20), 25.0)
    codec = MotionCodec(model, hello)
    ref = reference_params(to_wire(random_params(model, rng)), 256)
    frame = random_params(model, rng)
    motion, state = codec.encode(frame, ref, 3, 70000)
    assert motion.keypoints == () and state.keypoints is None
    assert np.allclose(state.params.pose[0], frame.pose[0], atol=0.01)
    half_step = np.asarray(hello.steps.expression) / 2 + 1e-9
    assert np.all(np.abs(state.params.psi[:20] - frame.psi[:20]) <= half_step)
    assert np.allclose(state.params.psi[20:], ref.psi[20:])  # past N: the reference's code


def _encode_clip(model, frames, path, **config):
    from codec.encoder import Encoder

    enc = Encoder(model, EncoderConfig(**config), fps=25.0)
    with FcsWriter(path) as w:
        for p in enc.start():
            w.write(p)
        results = []
        for f in frames:
            r = enc.encode(f)
            results.append(r)
            for p in r.packets:
                w.write(p)
        for p in enc.finish():
            w.write(p)
    return results


@pytest.fixture(scope="module")
def clip_frames(dev_dir):
    return list(read_frames(dev_dir / "dagan_driving.mp4", max_frames=30))


def test_decoder_matches_the_encoders_view_and_holds_on_bad_packets(model, clip_frames, tmp_path):
    path = tmp_path / "c.fcs"
    results = _encode_clip(model, clip_frames, path)
    dec = Decoder(model, MeshWarpRenderer(model))
    frames = []
    for data in read_packets(path):
        out = dec.push(data)
        if out is not None:
            frames.append(out)
            expected = results[out.seq].decoded
            assert np.allclose(out.driving.keypoints, expected.keypoints)
            assert out.image.shape == (256, 256, 3) and out.image.dtype == np.uint8
    assert len(frames) == len(clip_frames)
    last = dec.hold().copy()
    with pytest.raises(BitstreamError):
        dec.push(b"\x13\xff")
    assert np.array_equal(dec.hold(), last)
    mean_diff = np.abs(frames[5].image.astype(int) - results[5].crop.astype(int)).mean()
    assert mean_diff < 25  # the reconstruction looks like the input crop


@pytest.mark.parametrize("fraction, margin", [(0.125, 32), (0.0, 0)])
def test_the_reference_shows_its_margin_of_the_camera_frame(model, clip_frames, tmp_path,
                                                          fraction, margin):
    """The reference picture is the crop grown by the configured margin of the frame around
    it (bitstream v6): the receiver holds it whole and still renders crop-size frames."""
    from bitstream import Reference, decode_packet

    path = tmp_path / "m.fcs"
    results = _encode_clip(model, clip_frames[:3], path, mode="params",
                           reference_margin=fraction)  # fmt: skip
    dec = Decoder(model, MeshWarpRenderer(model))
    shown = [f for f in map(dec.push, read_packets(path)) if f is not None]
    ref = decode_packet(list(read_packets(path))[1])  # the first after the Hello
    assert isinstance(ref, Reference) and ref.margin == margin
    picture, _ = dec.refs[ref.ref_id]
    assert picture.shape == (256 + 2 * margin, 256 + 2 * margin, 3)
    inner = picture[margin : margin + 256, margin : margin + 256].astype(int)
    assert np.abs(inner - results[0].crop).mean() < 4  # the crop, through the picture codec
    assert [f.image.shape for f in shown] == [(256, 256, 3)] * 3


def test_a_soft_margin_keeps_the_crop_and_costs_fewer_bytes():
    """The margin goes at a quarter of the crop's resolution: the crop's own pixels are
    untouched, the margin is smoother and the coded picture smaller."""
    from codec.picture import encode_picture, soften_margin

    rng = np.random.default_rng(3)
    picture = rng.integers(0, 255, (320, 320, 3), dtype=np.uint8)
    soft = soften_margin(picture, 32)
    assert np.array_equal(soft[32:288, 32:288], picture[32:288, 32:288])
    assert np.abs(np.diff(soft[:32].astype(int), axis=1)).mean() < 0.5 * np.abs(
        np.diff(picture[:32].astype(int), axis=1)).mean()  # fmt: skip
    assert len(encode_picture(soft)) < len(encode_picture(picture))
    assert soften_margin(picture, 0) is picture


def test_cli_round_trip_gives_one_frame_per_input_frame(dev_dir, tmp_path, capsys):
    clip = dev_dir / "dagan_driving.mp4"
    fcs, out = tmp_path / "a.fcs", tmp_path / "a.mp4"
    assert encode_main([str(clip), str(fcs), "--frames", "40", "--json"]) == 0
    assert '"payload_bytes_per_frame"' in capsys.readouterr().out
    assert decode_main([str(fcs), str(out), "--json"]) == 0
    assert video_frame_count(out) == 40


def test_corrupt_file_keeps_what_decoded(dev_dir, tmp_path, capsys):
    fcs, out = tmp_path / "b.fcs", tmp_path / "b.mp4"
    assert encode_main([str(dev_dir / "dagan_driving.mp4"), str(fcs), "--frames", "20"]) == 0
    data = fcs.read_bytes()
    fcs.write_bytes(data[:-60])  # the last few motion packets and the Bye
    capsys.readouterr()
    assert decode_main([str(fcs), str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "truncated" in err[0] and "kept" in err[0]
    assert 0 < video_frame_count(out) < 20


def test_unreadable_and_faceless_videos_get_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    assert encode_main([str(bad), str(tmp_path / "x.fcs")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    blank = tmp_path / "blank.mp4"
    with VideoWriter(blank, 25) as w:
        for _ in range(5):
            w.write(np.full((128, 128, 3), 90, np.uint8))
    assert encode_main([str(blank), str(tmp_path / "y.fcs")]) == 1
    err = capsys.readouterr().err
    assert "no face found" in err
    assert not (tmp_path / "y.fcs").exists()


def test_missing_fcs_is_one_line(tmp_path, capsys):
    assert decode_main([str(tmp_path / "none.fcs"), str(tmp_path / "o.mp4")]) == 1
    assert "cannot open" in capsys.readouterr().err


def test_damaged_packets_never_crash_the_decoder(model):
    import random

    from bitstream import Reference, encode_packet
    from bitstream.tools.fuzz import mutations
    from codec.picture import encode_picture

    rng = np.random.default_rng(5)
    hello = stream_hello(model, EncoderConfig(keypoints=16, expr_dims=10), 25.0)
    codec = MotionCodec(model, hello)
    ref_params = random_params(model, rng)
    picture = encode_picture(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8), "jpeg", 30)
    wire = to_wire(ref_params)
    ref = reference_params(wire, 256)
    stream = [encode_packet(hello), encode_packet(Reference(0, "jpeg", picture, wire))]
    stream += [encode_packet(codec.encode(random_params(model, rng), ref, 0, s)[0], hello)
               for s in range(6)]  # fmt: skip
    dec = Decoder(model, MeshWarpRenderer(model))
    for data in stream:
        dec.push(data)
    rejected = frames = 0
    for data in mutations(stream, random.Random(3), 600):
        try:
            out = dec.push(data)
        except BitstreamError:
            rejected += 1
            continue
        if out is not None:
            frames += 1
            assert out.image.shape == (256, 256, 3) and out.image.dtype == np.uint8
    # both paths ran: damage that still parses renders, the rest is refused
    assert rejected > 40 and frames > 40, (rejected, frames)
    # and the decoder still works afterwards: damage that parsed may have started another
    # stream or replaced references, so the intact stream is played again
    assert [dec.push(data) is not None for data in stream][-1]


def test_early_motion_is_told_apart_from_damage(model):
    """Live, Motion can overtake the Hello and Reference (another channel): the decoder says
    it came early (MissingReferenceError), and it renders once they have arrived."""
    from bitstream import Reference, encode_packet
    from codec.decoder import MissingReferenceError
    from codec.picture import encode_picture

    rng = np.random.default_rng(2)
    hello = stream_hello(model, EncoderConfig(expr_dims=10), 25.0)
    wire = to_wire(random_params(model, rng))
    ref = reference_params(wire, 256)
    first, _ = MotionCodec(model, hello).encode(random_params(model, rng), ref, 0, 0)
    motion = encode_packet(first, hello)
    picture = encode_picture(np.full((256, 256, 3), 90, np.uint8), "jpeg", 30)
    dec = Decoder(model, MeshWarpRenderer(model))
    with pytest.raises(MissingReferenceError, match="before the stream's Hello"):
        dec.push(motion)
    dec.push(encode_packet(hello))
    with pytest.raises(MissingReferenceError, match="reference 0 not received"):
        dec.push(motion)
    dec.push(encode_packet(Reference(0, "jpeg", picture, wire)))
    assert dec.push(motion) is not None
    with pytest.raises(BitstreamError):
        Decoder(model, MeshWarpRenderer(model)).push(b"\x00garbage")


def test_an_offered_reference_is_used_only_once_confirmed(model, clip_frames):
    """Live, a new Reference can take seconds to cross a slow link: Motion stays coded against
    the one the receiver has until the sender confirms the new one arrived, and a decoder
    fed everything renders every frame meanwhile."""
    from bitstream import Motion, PacketType, Reference, decode_packet, packet_type
    from codec.encoder import Encoder

    config = EncoderConfig(refresh_yaw_deg=0.0, refresh_pitch_deg=0.0, min_refresh_s=0.0)
    enc = Encoder(model, config, 25.0, confirm_references=True)
    dec = Decoder(model, MeshWarpRenderer(model))
    used, offered = [], []
    for i, frame in enumerate(clip_frames[:8]):
        if i == 5:
            enc.confirm()
        for data in enc.encode(frame).packets:
            packet = decode_packet(data, enc.hello)
            if isinstance(packet, Reference):
                offered.append(packet.ref_id)
            if isinstance(packet, Motion):
                used.append(packet.ref_id)
                assert dec.push(data) is not None  # never waits for a Reference
            else:
                dec.push(data)
        assert enc.ref_id in enc.reference_packets
        assert list(enc.reference_packets) == offered[-4:]  # all held, in send order
    assert offered == [0, 1, 2] and used == [0, 0, 0, 0, 0, 1, 1, 1]
    assert all(packet_type(p) == PacketType.REFERENCE for p in enc.reference_packets.values())


def test_a_head_that_turns_back_is_coded_against_the_reference_it_had(model):
    """A head that looks ahead, turns 25° away and back: the encoder sends a picture for the
    turn, then returns to the first Reference (held by every receiver) instead of sending a
    third; a decoder fed everything, and one that joins during the turn primed with
    `reference_packets`, render every frame."""
    from bitstream import Motion, Reference, decode_packet, encode_packet
    from codec.encoder import Encoder
    from codec.prior.rotation import euler_to_matrix, matrix_to_axis_angle
    from codec.synthetic import SyntheticConfig, TalkingHead

    head = TalkingHead(model, SyntheticConfig(size=320))
    phase = np.zeros(6)
    frames = []
    for i in range(90):
        p = head.params_at(i / 25, phase)
        pose = p.pose.copy()
        pose[0] = matrix_to_axis_angle(euler_to_matrix(25.0 if 30 <= i < 60 else 0.0, 0, 0))
        frames.append(head.render(dataclasses.replace(p, pose=pose)))
    config = EncoderConfig(refresh_yaw_deg=15.0, min_refresh_s=0.4)
    enc = Encoder(model, config, 25.0)
    dec = Decoder(model, MeshWarpRenderer(model))
    late, sent, used = None, [], []
    for i, frame in enumerate(frames):
        out = enc.encode(frame)
        if i == 45:
            late = Decoder(model, MeshWarpRenderer(model))
            for data in [encode_packet(enc.hello), *enc.reference_packets.values()]:
                late.push(data)
        for data in out.packets:
            packet = decode_packet(data, enc.hello)
            base = isinstance(packet, Reference) and packet.bank is None
            sent += [packet.ref_id] if base else []
            shown = dec.push(data)
            joined = late.push(data) if late is not None and i > 45 else None
            if isinstance(packet, Motion):
                used.append(packet.ref_id)
                assert shown is not None and (late is None or i <= 45 or joined is not None)
    assert sent == [0, 1] and enc.references_reused == 1
    assert used[:30] == [0] * 30 and 1 in used[30:60] and used[-1] == 0
