"""Encoder: RGB frames in, packets out.

Per frame: track the crop, find landmarks, move them onto the optical flow from the reference
crop (`reference_flow.py`), fit the prior (the first face frame is the reference: identity β
and the picture the receiver warps), quantize the motion against the reference and pack it.
A new reference is sent when the head leaves what the current one covers (turned or scaled
too far), at most every `min_refresh_s`. Beside it, bank pictures of the mouth and eyes
(`bank.py`) are sent when a frame shows them further open or closed than any held picture,
and each Motion says how far the background follows the head (`background.py`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from bitstream import (
    BankSlot,
    Bye,
    Hello,
    MotionMode,
    Reference,
    encode_packet,
    expression_steps,
)
from bitstream.limits import KEPT_REFERENCES
from codec.background import BackgroundChooser
from codec.bank import BankPlanner, BankShot, FaceState, face_state
from codec.config import EncoderConfig
from codec.driving import (
    DrivingState,
    follow_shares,
    view_between,
    view_from_levels,
    view_levels,
)
from codec.motion import MotionCodec, reference_params, to_wire
from codec.picture import encode_picture, soften_margin
from codec.prior.crop import CropBox, grown_crop
from codec.prior.face_track import FaceTrack, TrackedFace
from codec.prior.fitting import FaceFitter
from codec.prior.flame import FlameModel
from codec.prior.params import FaceParams, landmarks_in_crop
from codec.prior.reference_flow import ReferenceFlow


@dataclass(frozen=True)
class EncodedFrame:
    """What one input frame produced, with what benchmarks need to judge it."""

    seq: int
    packets: list[bytes]  # wire packets, in send order (a Reference precedes its Motion)
    motion_bytes: int  # size of this frame's Motion packet, 0 when no face
    reference_bytes: int  # size of the References (base and bank) sent with this frame, else 0
    crop: np.ndarray  # the RGB crop the sender saw (what the receiver should reproduce)
    box: CropBox | None  # where that crop lies in the frame
    landmarks: np.ndarray | None  # MediaPipe landmarks in crop px, None when no face
    fitted: FaceParams | None  # the unquantized fit
    decoded: DrivingState | None  # what the receiver decodes from this frame's packets
    encode_ms: float


def expression_column_norms(model: FlameModel) -> np.ndarray:
    """How far each ψ dim moves the mesh per unit coefficient (its prior standard deviation)."""
    return np.linalg.norm(model.exprdirs, axis=(0, 1)) * np.asarray(model.expr_std)


def stream_hello(model: FlameModel, config: EncoderConfig, fps: float) -> Hello:
    """The stream's `Hello`: which prior, which motion mode, K, N and every quantizer step."""
    n = min(config.expr_dims, model.n_expr)
    k = config.keypoints if config.mode == "keypoints" else 0
    mode = MotionMode.KEYPOINTS if k else MotionMode.PARAMS
    norms = expression_column_norms(model)
    m = config.precision * min(1.0, 20.0 / max(n, 1))
    c = config.steps
    steps = replace(
        c, rotation=c.rotation * m, scale=c.scale * m, translation=c.translation * m,
        depth=c.depth * m, jaw=c.jaw * m,
        expression=expression_steps(norms, n, config.expression_step * m),
    )  # fmt: skip
    s, t = steps, TYPICAL
    orders = (
        _order(t.rotation, s.rotation), _order(t.scale, s.scale),
        _order(t.translation, s.translation), _order(t.depth, s.depth),
        _order(t.jaw, s.jaw), _order(t.jaw_sideways, s.jaw),
        _order(t.keypoint_residual * max(0.0, 1 - n / 50) + 0.5 * s.keypoint, s.keypoint),
    )  # fmt: skip
    expr_orders = tuple(_order(t.expression, step) for step in steps.expression)
    return Hello(
        model.prior_id, mode, k, n, config.crop.size, float(fps), steps, orders, expr_orders
    )


@dataclass(frozen=True)
class _Typical:
    """Mean absolute size of each field relative to the reference, over the dev clips.

    Only the Exp-Golomb orders depend on these; a stream that moves more costs a few bits
    more, never an error.
    """

    rotation: float = 0.065  # rad
    scale: float = 0.025  # log-ratio
    translation: float = 5.6  # crop px
    depth: float = 0.0
    jaw: float = 0.024  # rad, opening
    jaw_sideways: float = 0.0
    expression: float = 0.8  # unit-variance coefficients
    keypoint_residual: float = 0.012  # normalized units with no ψ sent (1.5 px at 256²)


TYPICAL = _Typical()


def _order(typical: float, step: float) -> int:
    """Exp-Golomb order for a field whose quantized values have this mean magnitude."""
    mean = typical / step
    return int(np.clip(round(np.log2(mean)), 0, 12)) if mean > 1 else 0


class Encoder:
    """With `confirm_references`, a new Reference is only offered: Motion stays coded against
    the previous one until `confirm()` says the Reference has arrived (a live sender calls it
    once every receiver's transport has acknowledged it), so the frames sent while a large
    picture crawls over a slow or lossy link are still shown. The first Reference is used at
    once (there is nothing else to code against)."""

    def __init__(self, model: FlameModel, config: EncoderConfig = EncoderConfig(), fps=25.0,
                 confirm_references: bool = False):
        self.model, self.config, self.fps = model, config, float(fps)
        self.confirm_references = confirm_references
        self.hello = stream_hello(model, config, self.fps)
        n = self.hello.expr_dims
        self.motion = MotionCodec(model, self.hello)
        fit_dims = max(config.fit.n_expr, n)
        self.fitter = FaceFitter(model, replace(config.fit, n_expr=fit_dims))
        self.track = FaceTrack(config.crop, second_look=config.landmark_looks == 2)
        self.flow = ReferenceFlow(config.flow)
        self.bank = BankPlanner(config.bank, self.fps)
        self.background = BackgroundChooser(model, config.background)
        self._bank_packets: dict[int, bytes] = {}  # slot -> the bank picture it holds
        self.references_sent = self.bank_pictures_sent = 0
        self.seq = 0
        self.ref: FaceParams | None = None  # what Motion is coded against, and its id
        self.ref_id = -1
        self.ref_seq = -(10**9)  # when the last Reference was made
        self.offered: _Offer | None = None  # sent, not yet confirmed
        # The References a receiver holds (the decoder keeps the last KEPT_REFERENCES sent),
        # in send order: a head that turns back is coded against the one that shows it.
        self.held: OrderedDict[int, _Offer] = OrderedDict()
        self.references_reused = 0
        self._packet = b""  # the current Reference as sent
        self._next_ref_id = 0
        self.started = False
        self._near: np.ndarray | None = None  # the last frame's landmarks (crop px)
        # Quality of the next Reference pictures; a live sender lowers it on a slow path.
        self.picture_quality = config.picture_quality

    def start(self) -> list[bytes]:
        self.started = True
        return [encode_packet(self.hello)]

    def encode(self, frame: np.ndarray, time_ms: float | None = None) -> EncodedFrame:
        """Encode the next frame. `time_ms` is its capture time (default: seq / fps)."""
        t0 = time.perf_counter()
        seq = self.seq
        self.seq += 1
        packets = [] if self.started else self.start()
        face = self.track(frame, self._begin_flow)
        crop = face.crop if face is not None else _blank(self.config.crop.size)
        if face is None or face.landmarks is None:
            ms = (time.perf_counter() - t0) * 1000
            box = face.box if face is not None else None
            return EncodedFrame(seq, packets, 0, 0, crop, box, None, None, None, ms)
        size = self.config.crop.size
        if self.ref is None:
            landmarks = face.landmarks
            fitted = self.fitter.fit_reference(landmarks, size)
        else:
            box_view = view_from_levels(view_levels(self._view(face)))
            self.background.look(seq, face.crop, box_view, face.landmarks)  # beside the flows
            landmarks = self.flow(face.crop, face.landmarks)
            fitted = self.fitter.fit(landmarks, size)
        self._near = face.landmarks
        ref_bytes = 0
        lm68 = landmarks_in_crop(self.model, fitted)  # the reference test and the bank's
        state = face_state(lm68)
        if self._needs_reference(fitted, state, seq) and not self._reuse(fitted, state, seq):
            ref_packet = self._new_reference(frame, face, landmarks, fitted, seq)
            packets.append(ref_packet)
            ref_bytes = len(ref_packet)
        for shot in self.bank.update(seq, state, face.crop, lm68, fitted):
            packets.append(self._bank_packet(shot))
            ref_bytes += len(packets[-1])
        nominal = seq * 1000.0 / self.fps
        offset = 0 if time_ms is None else round(time_ms - nominal)
        assert self.ref is not None  # _needs_reference made one
        motion, decoded = self.motion.encode(fitted, self.ref, self.ref_id, seq, offset)
        decoded = replace(decoded, view=view_from_levels(view_levels(self._view(face))))
        follow = self.background(seq, face.crop, decoded, landmarks)
        view = view_levels(self.background.view)
        decoded = replace(decoded, view=view_from_levels(view))
        motion = replace(motion, follow=follow, view=view)
        packet = encode_packet(motion, self.hello)
        packets.append(packet)
        decoded = replace(decoded, time_ms=nominal + offset, follow=follow_shares(follow))
        ms = (time.perf_counter() - t0) * 1000
        return EncodedFrame(
            seq, packets, len(packet), ref_bytes, crop, face.box, landmarks, fitted,
            decoded, ms,
        )  # fmt: skip

    def _begin_flow(self, crop: np.ndarray) -> None:
        """The reference flows start on the crop, on their helper thread, while the face mesh
        looks at it on this one (only on frames without a second look, which takes that core),
        around where the last frame's landmarks were."""
        if self.ref is not None:
            self.flow.begin(crop, self._near)

    def _view(self, face: TrackedFace) -> tuple[float, float, float]:
        """How still scenery moved in this crop since the reference's (`DrivingState.view`)."""
        return view_between(self._ref_box, _box(face.box))

    @property
    def reference_packets(self) -> dict[int, bytes]:
        """Every Reference a receiver holds, in the order they were sent, the current and
        any offered one among them: what a newly joined receiver needs to hold the same."""
        return {ref_id: offer.packet for ref_id, offer in self.held.items()}

    @property
    def bank_packets(self) -> list[bytes]:
        """The bank pictures held, in slot order (a newly joined receiver needs them too,
        after the base References)."""
        return [self._bank_packets[s] for s in sorted(self._bank_packets)]

    def confirm(self) -> None:
        """The offered Reference has arrived: code Motion against it from the next frame."""
        if self.offered is not None:
            self._activate(self.offered)

    def finish(self, reason: str = "end of stream") -> list[bytes]:
        self.close()
        return [encode_packet(Bye(reason, self.seq))]

    def close(self) -> None:
        """Ends the helper threads (second landmark look, flow check) after any work in flight."""
        self.track.close()
        self.flow.close()

    def _needs_reference(self, fitted: FaceParams, state: FaceState, seq: int) -> bool:
        if self.ref is None:
            return True
        if self.offered is not None:
            return False
        c = self.config
        if (seq - self.ref_seq) < c.min_refresh_s * self.fps:
            return False
        d = np.abs(fitted.euler - self.ref.euler)
        return bool(
            d[0] > c.refresh_yaw_deg
            or d[1] > c.refresh_pitch_deg
            or abs(np.log(fitted.scale / self.ref.scale)) > c.refresh_scale
            # a reference with closed eyes cannot show open ones
            or self._ref_state.eyes < c.refresh_eyes * state.eyes
        )

    def _reuse(self, fitted: FaceParams, state: FaceState, seq: int) -> bool:
        """Code against a held Reference that shows this pose (within half the refresh
        thresholds, eyes as open) instead of sending a new one: no bytes, a picture the
        receiver already has. Not while one is offered."""
        if self.offered is not None:
            return False
        c = self.config
        for ref_id, offer in reversed(self.held.items()):
            d = np.abs(fitted.euler - offer.params.euler)
            if (ref_id != self.ref_id and d[0] <= c.refresh_yaw_deg / 2
                    and d[1] <= c.refresh_pitch_deg / 2
                    and abs(np.log(fitted.scale / offer.params.scale)) <= c.refresh_scale / 2
                    and offer.state.eyes >= c.refresh_eyes * state.eyes):
                self._activate(offer)
                self.ref_seq = seq
                self.references_reused += 1
                return True
        return False

    def _new_reference(self, frame: np.ndarray, face: TrackedFace, landmarks: np.ndarray,
                       fitted: FaceParams, seq: int) -> bytes:
        crop = face.crop
        ref_id, self._next_ref_id = self._next_ref_id, (self._next_ref_id + 1) % 256
        self.ref_seq = seq
        self.references_sent += 1
        size = crop.shape[0]
        margin = round(self.config.reference_margin * size)
        canvas = crop  # without a margin, the crop already cut
        if margin:
            canvas = soften_margin(grown_crop(frame, face.box, size, margin), margin)
        picture = encode_picture(canvas, self.config.picture_codec, self.picture_quality)
        wire = to_wire(fitted)
        packet = encode_packet(Reference(ref_id, self.config.picture_codec, picture, wire,
                                         margin=margin))  # fmt: skip
        params = reference_params(wire, fitted.crop_size)
        state = face_state(landmarks_in_crop(self.model, params))
        offer = _Offer(ref_id, params, packet, crop, landmarks, state, _box(face.box), canvas)
        self.held.pop(ref_id, None)
        self.held[ref_id] = offer
        while len(self.held) > KEPT_REFERENCES:
            self.held.popitem(last=False)
        if self.confirm_references and self.ref is not None:
            self.offered = offer
        else:
            self._activate(offer)
        return packet

    def _bank_packet(self, shot: BankShot) -> bytes:
        """A bank picture: the region's box of the crop, with that frame's fit (no beta: the
        stream's identity is the base's), at the quality the path allows."""
        x, y, w, h = shot.box
        patch = np.ascontiguousarray(shot.crop[y : y + h, x : x + w])
        quality = int(np.clip(self.picture_quality + self.config.bank.quality_offset, 0, 100))
        picture = encode_picture(patch, self.config.picture_codec, quality)
        wire = replace(to_wire(shot.params), beta=np.zeros(0, np.float32))
        bank = BankSlot(shot.slot, shot.region, shot.box)
        packet = encode_packet(Reference(shot.slot, self.config.picture_codec, picture, wire, bank))
        self._bank_packets[shot.slot] = packet
        self.bank_pictures_sent += 1
        self.bank.spent(len(packet))
        return packet

    def _activate(self, offer: _Offer) -> None:
        self.ref, self.ref_id, self._packet = offer.params, offer.ref_id, offer.packet
        self.offered = None
        self._ref_state = offer.state
        self._ref_box = offer.box
        self.bank.set_base(self._ref_state)
        self.flow.set_reference(offer.crop, offer.landmarks)
        self.background.set_reference(offer.canvas, offer.params)


@dataclass(frozen=True)
class _Offer:
    """A Reference as sent, with the crop and landmarks later frames' flow starts from."""

    ref_id: int
    params: FaceParams
    packet: bytes
    crop: np.ndarray
    landmarks: np.ndarray
    state: FaceState
    box: tuple[float, float, float]  # the crop's box in the frame (cx, cy, side)
    canvas: np.ndarray  # the picture as sent: the crop grown by the reference's margin


def _box(box: CropBox) -> tuple[float, float, float]:
    return box.cx, box.cy, box.side


def _blank(size: int) -> np.ndarray:
    return np.zeros((size, size, 3), np.uint8)
