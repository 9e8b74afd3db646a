"""The reference bank: which frames become bank pictures, where the receiver shows them, its
bounds, old streams, and a receiver that joins late."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np
import pytest

from benchmarks.metrics import region_psnr
from bitstream import (
    VERSION,
    BankRegion,
    BitstreamError,
    PacketType,
    decode_packet,
    encode_packet,
    packet_type,
)
from bitstream.body import pack_body
from bitstream.packets import DEFAULT_FOLLOW, _fields
from codec.bank import BankConfig, BankPlanner, FaceState, face_state
from codec.config import EncoderConfig, without_refresh
from codec.decoder import Decoder
from codec.encoder import Encoder
from codec.picture import decode_picture, encode_picture
from codec.prior.flame_io import load_prior
from codec.render.base import split_reference
from codec.render.compose import region_mask
from codec.render.meshwarp import MeshWarpRenderer
from codec.synthetic import SyntheticConfig, make_clip
from tests.test_live_inproc import receiver, room, sender
from tests.waiting import until


@pytest.fixture(scope="module")
def model():
    return load_prior()


@pytest.fixture(scope="module")
def talking(model):
    """A synthetic head that talks and blinks after its first frame, encoded with the bank;
    the crops the sender saw and every packet."""
    clip = make_clip(model, SyntheticConfig(seconds=6.0, seed=3))  # two blinks
    enc = Encoder(model, without_refresh(EncoderConfig(mode="params")), 25.0)
    packets, crops = list(enc.start()), []
    for frame in clip.frames:
        result = enc.encode(frame)
        packets += result.packets
        crops.append(result.crop)
    enc.close()
    return packets, np.stack(crops), enc


def play(model, packets, keep_bank=True):
    dec = Decoder(model, MeshWarpRenderer(model))
    frames, banks = {}, {}
    for p in packets:
        if not keep_bank and packet_type(p) == PacketType.REFERENCE and (
                decode_packet(p).bank is not None):  # fmt: skip
            continue
        shown = dec.push(p)
        if shown is not None:
            frames[shown.seq] = shown
            held = {h.region for h in dec.bank.values()}
            banks[shown.seq] = {r: dec.renderer._chosen.get(r) for r in held}
    return dec, frames, banks


def test_the_bank_is_bounded_on_both_sides():
    with pytest.raises(ValueError, match=r"bank slots must be 0\.\.4"):
        BankConfig(slots=5)
    planner = BankPlanner(BankConfig(slots=2, min_spacing_s=0, peak_frames=1), 25.0)
    planner.set_base(FaceState(mouth=0.0, width=0.45, eyes=0.3))
    crop, lm = np.zeros((256, 256, 3), np.uint8), _face_landmarks()
    slots = []
    for seq, mouth in enumerate((0.2, 0.35, 0.5, 0.65)):
        shots = planner.update(seq, FaceState(mouth, 0.45, 0.3), crop, lm, None)
        slots += [s.slot for s in shots]
    assert slots == [0, 1, 0, 1]  # full: the oldest picture of the region gives way
    assert len(planner.held) == 2


def test_a_moment_is_sent_at_its_peak_and_pictures_are_spaced():
    planner = BankPlanner(BankConfig(peak_frames=3, min_spacing_s=1.0), 25.0)
    planner.set_base(FaceState(mouth=0.0, width=0.45, eyes=0.3))
    crop, lm = np.zeros((256, 256, 3), np.uint8), _face_landmarks()
    sent = {}
    for seq, mouth in enumerate((0.05, 0.2, 0.4, 0.3, 0.1, 0.6, 0.0, 0.0, 0.0)):
        for shot in planner.update(seq, FaceState(mouth, 0.45, 0.3), crop, lm, seq):
            sent[seq] = shot.params
    assert sent == {3: 2}  # the widest of frames 1-3; frame 5 comes too soon after it
    both = FaceState(0.6, 0.45, 0.05)  # mouth wider still, eyes closed
    assert planner.update(40, both, crop, lm, 40) == []  # the moment starts...
    shots = [s for q in (41, 42) for s in planner.update(q, both, crop, lm, q)]
    assert {s.region for s in shots} == {BankRegion.MOUTH, BankRegion.EYES}


def _face_landmarks() -> np.ndarray:
    """iBUG-68 points of the prior's mean face in a 256² crop."""
    from codec.prior.params import FaceParams, landmarks_in_crop

    model = load_prior()
    pose = np.zeros((5, 3))
    params = FaceParams(np.zeros(model.n_shape), np.zeros(model.n_expr), pose,
                        900.0, np.array([128.0, 128.0, 0.0]), 256)  # fmt: skip
    return landmarks_in_crop(model, params)


def test_a_synthetic_head_gets_mouth_and_eye_pictures_shown_in_their_regions(model, talking):
    packets, crops, enc = talking
    regions = [decode_packet(p).bank.region for p in packets
               if packet_type(p) == PacketType.REFERENCE and decode_packet(p).bank is not None]
    assert BankRegion.MOUTH in regions and BankRegion.EYES in regions
    dec, with_bank, chosen = play(model, packets)
    _, single, _ = play(model, packets, keep_bank=False)
    assert set(dec.bank) == set(enc.bank.held) and len(dec.bank) <= 4
    first = face_state(_landmarks(model, with_bank[min(with_bank)]))
    mouth_gain, closing = [], []
    for seq, shown in with_bank.items():
        a, b = shown.image, single[seq].image
        lm = _landmarks(model, shown)
        differ = np.abs(a.astype(int) - b).max(-1) > 0
        near = sum(region_mask(lm, r, a.shape[0]) for r in BankRegion) > 0
        assert not (differ & ~near).any(), f"frame {seq} changed outside the mouth and eyes"
        state = face_state(lm)
        if state.mouth > first.mouth + 0.1 and chosen[seq].get(BankRegion.MOUTH) is not None:
            mouth_gain.append(region_psnr(crops[seq], a, lm[48:68])
                              - region_psnr(crops[seq], b, lm[48:68]))
        eye_picture = chosen[seq].get(BankRegion.EYES) is not None
        eyes_changed = bool((differ & (region_mask(lm, BankRegion.EYES, 256) > 0.5)).any())
        assert eyes_changed or not eye_picture, f"frame {seq}: eye picture chosen, not shown"
        if state.eyes < 0.7 * first.eyes and BankRegion.EYES in chosen[seq]:  # held by now
            closing.append(eye_picture)
    # Where the receiver takes the mouth from the mouth picture (its choice, made from the
    # decoded parameters alone) the open mouth is about 1 dB closer to what the sender saw.
    assert len(mouth_gain) >= 10 and np.mean(mouth_gain) > 0.5
    # MediaPipe misreads the synthetic eye fully shut, so few frames are fitted as closing
    # (one to three, by how the fit rounds on this machine), and the deepest show the eye
    # picture. A frame fitted near 0.7 of open lies about halfway between the open base and
    # the eye picture, so the receiver's cost may fairly keep the base there: not all must.
    assert any(closing)


def _landmarks(model, shown):
    """A decoded frame's iBUG-68 points: what the receiver chooses and blends by."""
    from codec.prior.params import landmarks_in_crop

    return landmarks_in_crop(model, shown.driving.params)


def test_a_version_2_stream_still_decodes(model, talking):
    packets, _, _ = talking
    single = [p for p in packets if not (packet_type(p) == PacketType.REFERENCE
                                         and decode_packet(p).bank is not None)]  # fmt: skip
    single = _without_margin(single)
    _, now, _ = play(model, _written_as(single, VERSION))
    _, then, _ = play(model, _written_as(single, 2))
    assert now.keys() == then.keys() and all(
        np.array_equal(now[s].image, then[s].image) for s in now)


def _without_margin(packets: list[bytes]) -> list[bytes]:
    """The stream with each base Reference's picture cut to its crop, as writers before
    version 6 sent it."""
    out = []
    for data in packets:
        if packet_type(data) == PacketType.REFERENCE:
            ref = decode_packet(data)
            canvas = decode_picture(ref.picture, ref.codec, 256 + 2 * ref.margin)
            crop = split_reference(canvas, 256)[0]
            data = encode_packet(replace(ref, picture=encode_picture(crop, ref.codec),
                                         margin=0))  # fmt: skip
        out.append(data)
    return out


def _written_as(packets: list[bytes], version: int) -> list[bytes]:
    """A bank-less stream as a writer of `version` made it: Motion's follow at the levels
    versions before 4 rendered with, no view (a still camera) as before version 5, no
    margin field in a Reference before version 6 (its picture must be the crop) and no bank
    field before version 3."""
    out, hello, old = [], None, None
    for data in packets:
        kind = packet_type(data)
        if kind == PacketType.HELLO:
            hello = decode_packet(data)
            old = replace(hello, version=version)
            out.append(encode_packet(old))
        elif kind == PacketType.MOTION:
            motion = replace(decode_packet(data, hello), follow=DEFAULT_FOLLOW, view=(0, 0, 0))
            out.append(encode_packet(motion, old))
        elif kind == PacketType.REFERENCE and version < 6:
            fields = _fields(decode_packet(data))[1][: 5 if version >= 3 else 4]
            body, compressed = pack_body(fields)
            out.append(bytes([version << 4 | compressed << 3 | kind]) + body)
        else:
            out.append(data)
    return out


def test_a_bank_picture_out_of_the_crop_or_before_a_reference_is_refused(model, talking):
    packets, _, _ = talking
    banked = next(p for p in packets if packet_type(p) == PacketType.REFERENCE
                  and decode_packet(p).bank is not None)  # fmt: skip
    dec = Decoder(model, MeshWarpRenderer(model))
    dec.push(packets[0])
    with pytest.raises(BitstreamError, match="before any base reference"):
        dec.push(banked)
    assert dec.bank == {}


def test_a_late_receiver_is_primed_with_the_bank(model):
    async def scenario():
        from tests.inproc_links import Wire

        wire = Wire()
        async with room() as (base, r):
            _first, rx1 = receiver(model, wire, base, r)
            tasks = [asyncio.create_task(rx1.run())]
            tx = sender(model, wire, base, r)
            sending = asyncio.create_task(tx.run())
            await until(lambda: tx.encoder is not None and len(tx.encoder.bank_packets) >= 2,
                        120, "two bank pictures")  # fmt: skip
            late, rx2 = receiver(model, wire, base, r)
            tasks.append(asyncio.create_task(rx2.run()))
            await until(lambda: len(late.order) >= 5, 60, "the late receiver's frames")

            def same() -> bool:  # a picture made meanwhile is on its way: wait for it
                held = {s: h.region for s, h in tx.encoder.bank.held.items()}
                return held == {s: b.candidate.picture.region for s, b in late.bank.items()}

            await until(same, 30, "the late receiver's bank to match the sender's")
            held = dict(late.bank)
            for rx in (rx1, rx2):
                rx.stop()
            await asyncio.gather(*tasks)
            tx.stop()
            await sending
        return held

    assert len(asyncio.run(scenario())) >= 2


def test_bank_bytes_keep_to_their_budget():
    config = BankConfig(min_spacing_s=0, peak_frames=1, burst_bytes=1000, bytes_per_s=100)
    planner = BankPlanner(config, 25.0)
    planner.set_base(FaceState(mouth=0.0, width=0.45, eyes=0.3))
    crop, lm = np.zeros((256, 256, 3), np.uint8), _face_landmarks()
    spent = 0
    for seq in range(250):  # 10 s of a mouth that keeps opening further than ever
        for _ in planner.update(seq, FaceState(0.2 + 0.15 * seq, 0.45, 0.3), crop, lm, seq):
            planner.spent(500)
            spent += 500
    assert 1000 + 100 * 10 <= spent + 500 <= 1000 + 100 * 10 + 500
