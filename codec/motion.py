"""Motion packets <-> driving states: the quantization both ends share, closed loop.

Every field is coded against what the receiver already holds, so each packet stands alone:
pose relative to the reference's pose, ψ[:N] relative to the reference's ψ (the dims past N
keep the reference's values), jaw absolute. In keypoints mode the K keypoints are sent as
residuals from the keypoints the decoded parameters already predict, so with a long ψ they
cost a bit or two each, and with a short ψ they carry what the truncated code misses.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bitstream import BitstreamError, Hello, Motion, MotionMode, RefParams, dequantize, quantize
from bitstream.packets import SEQ_BITS
from codec.driving import DrivingState, follow_shares, view_from_levels
from codec.prior.flame import JAW, JOINTS, FlameModel
from codec.prior.gaze import EYES
from codec.prior.keypoints import driving_keypoints
from codec.prior.params import FaceParams
from codec.prior.rotation import matrix_to_axis_angle, rodrigues_one

# Decoded values beyond these are corrupt or hostile, not a face.
_MAX_ROTATION = np.pi
_MAX_LOG_SCALE = 3.0
_MAX_JAW = 1.0
_MAX_PSI = 20.0
_MAX_KEYPOINT_RESIDUAL = 2.0
_MAX_GAZE = 1.0  # rad


def reference_params(ref: RefParams, crop_size: int) -> FaceParams:
    """The reference's parameters exactly as the receiver sees them (float32 on the wire)."""
    return FaceParams(
        np.asarray(ref.beta, np.float64),
        np.asarray(ref.psi, np.float64),
        np.asarray(ref.pose, np.float64).reshape(len(JOINTS), 3),
        float(ref.scale),
        np.asarray(ref.trans, np.float64),
        crop_size,
    )


def to_wire(params: FaceParams) -> RefParams:
    f32 = np.float32
    return RefParams(
        params.beta.astype(f32), params.psi.astype(f32), params.pose.astype(f32),
        float(f32(params.scale)), params.trans.astype(f32),
    )  # fmt: skip


class MotionCodec:
    """Quantizes a fitted frame into a `Motion` and rebuilds the `DrivingState` from one."""

    def __init__(self, model: FlameModel, hello: Hello):
        self.model, self.hello = model, hello
        self.steps = hello.steps
        self.expr_steps = np.asarray(hello.steps.expression, np.float64)
        self.keypoints = hello.keypoints if hello.mode == MotionMode.KEYPOINTS else 0

    # -- sender ---------------------------------------------------------------------------
    def encode(
        self, frame: FaceParams, ref: FaceParams, ref_id: int, seq: int, offset_ms: int = 0
    ) -> tuple[Motion, DrivingState]:
        """The packet for a fitted frame, and the state the receiver will decode from it."""
        s = self.steps
        rel = matrix_to_axis_angle(ref.rotation.T @ frame.rotation)
        dt = frame.trans - ref.trans
        n = self.hello.expr_dims
        psi = _padded(frame.psi, n) - _padded(ref.psi, n)
        motion = Motion(
            seq=seq % (1 << SEQ_BITS),
            time_offset_ms=int(offset_ms),
            ref_id=ref_id,
            rotation=tuple(quantize(rel, s.rotation).tolist()),
            scale=int(quantize(np.log(frame.scale / ref.scale), s.scale)),
            translation=tuple(quantize(dt[:2], s.translation).tolist()),
            depth=int(quantize(dt[2], s.depth)),
            jaw=tuple(quantize(frame.jaw, s.jaw).tolist()),
            expression=tuple(quantize(psi, self.expr_steps).tolist()),
            gaze=gaze_code(frame.pose, s.gaze) if self.hello.has_gaze else (0, 0, 0),
        )
        if not self.keypoints:
            return motion, self.decode(motion, ref, seq)
        state = self.decode(motion, ref, seq)  # keypoints predicted from the decoded params
        predicted = state.keypoints
        assert predicted is not None  # keypoints mode always predicts them
        true_kp = driving_keypoints(self.model, ref, frame, self.keypoints)
        residual = quantize(true_kp - predicted, s.keypoint).reshape(-1)
        motion = replace(motion, keypoints=tuple(residual.tolist()))
        return motion, replace(state, keypoints=self._add_residual(predicted, motion))

    # -- receiver -------------------------------------------------------------------------
    def decode(self, m: Motion, ref: FaceParams, seq: int, time_ms: float = 0.0) -> DrivingState:
        """Rebuild the frame's parameters (and keypoints) on the reference's identity."""
        s = self.steps
        rot = dequantize(m.rotation, s.rotation)
        log_scale = float(dequantize(m.scale, s.scale))
        jaw = dequantize(m.jaw, s.jaw)
        dpsi = dequantize(m.expression, self.expr_steps)
        _check(np.linalg.norm(rot) <= _MAX_ROTATION, "rotation")
        _check(abs(log_scale) <= _MAX_LOG_SCALE, "scale")
        _check(np.linalg.norm(jaw) <= _MAX_JAW, "jaw")
        _check(np.abs(dpsi).max(initial=0) <= _MAX_PSI, "expression")
        n = self.hello.expr_dims
        psi = _padded(ref.psi, max(n, len(ref.psi)))
        psi[:n] += dpsi
        pose = np.zeros_like(ref.pose)
        pose[0] = matrix_to_axis_angle(ref.rotation @ rodrigues_one(rot))
        pose[JAW] = jaw
        if self.hello.has_gaze:
            pose[list(EYES)] = gaze_pose(m.gaze, s.gaze)
        trans = ref.trans + np.array(
            [*dequantize(m.translation, s.translation), float(dequantize(m.depth, s.depth))]
        )
        _check(np.abs(trans).max() <= 4 * ref.crop_size, "translation")
        scale = ref.scale * np.exp(log_scale)
        params = FaceParams(ref.beta, psi, pose, scale, trans, ref.crop_size)
        keypoints = None
        if self.keypoints:
            keypoints = driving_keypoints(self.model, ref, params, self.keypoints)
            keypoints = self._add_residual(keypoints, m)
        return DrivingState(seq, time_ms, m.ref_id, params, keypoints, follow_shares(m.follow),
                            view_from_levels(m.view))  # fmt: skip

    def _add_residual(self, predicted: np.ndarray, m: Motion) -> np.ndarray:
        """Predicted keypoints plus the packet's residuals: the same sum on both ends."""
        if not m.keypoints:
            return predicted
        residual = dequantize(m.keypoints, self.steps.keypoint).reshape(-1, 3)
        _check(np.abs(residual).max() <= _MAX_KEYPOINT_RESIDUAL, "keypoints")
        return predicted + residual


def gaze_code(pose: np.ndarray, step: float) -> tuple[int, int, int]:
    """Both eyes' rotations as (pitch, yaw) of their mean and the vergence (left - right yaw),
    quantized: gaze moves both eyes together, so the mean costs bits and vergence rarely."""
    left, right = pose[EYES[0]], pose[EYES[1]]
    mean = (left + right) / 2
    values = np.array([mean[0], mean[1], left[1] - right[1]])
    # within what a decoder accepts (a fit whose eyes diverge wildly must not make a stream
    # that its own closed loop refuses), with a step's margin for rounding
    limit = np.array([_MAX_GAZE, _MAX_GAZE, _MAX_GAZE / 2]) - step
    pitch, yaw, verge = (int(v) for v in quantize(np.clip(values, -limit, limit), step))
    return pitch, yaw, verge


def gaze_pose(code, step: float) -> np.ndarray:
    """(2, 3) axis-angle rotations of the left and right eye from a gaze code."""
    pitch, yaw, verge = (float(v) for v in dequantize(code, step))
    _check(max(abs(pitch), abs(yaw)) <= _MAX_GAZE and abs(verge) <= _MAX_GAZE / 2, "gaze")
    return np.array([[pitch, yaw + verge / 2, 0.0], [pitch, yaw - verge / 2, 0.0]])


def _padded(psi: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    k = min(n, len(psi))
    out[:k] = psi[:k]
    return out


def _check(ok: bool | np.bool_, what: str) -> None:
    if not ok:
        raise BitstreamError(f"Motion packet: {what} out of range")
