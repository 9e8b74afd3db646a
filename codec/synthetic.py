"""A synthetic talking head made from the built-in prior alone, with its ground truth.

The face is the prior's mesh, coloured (skin, lips, brows, eyes with irises) and shaded by
one light, on an ellipse of a head with hair and a neck, on a plain background. It moves
like a person on a call: slow head turns, speech-like mouth motion (syllables at about
4 Hz in bursts) and a blink every few seconds. Every frame's true parameters are kept, so
tests can check the landmark detector, the fitter and the codec against the truth.

    facecodec synth OUT.mp4 [--seconds 6] [--seed 0]   (writes OUT.npz beside it)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from codec.controls import edit_direction
from codec.prior.flame import JOINTS, FlameModel
from codec.prior.params import FaceParams, mesh_in_crop
from codec.prior.rotation import euler_to_matrix, matrix_to_axis_angle
from codec.render.mesh_regions import find_regions

SKIN = np.array([222.0, 170.0, 138.0])
LIPS = np.array([176.0, 84.0, 88.0])
BROW = np.array([70.0, 48.0, 36.0])
HAIR = (58, 40, 30)
SCLERA = (236, 232, 226)
IRIS = (62, 92, 70)
MOUTH = (48, 16, 20)
BACKGROUND = (86, 112, 138)
# Light from the side: light from above shades the face the way a pitch does, and a
# detector reads it as one (5° of bias measured); side light leaves pitch alone.
LIGHT = np.array([0.3, 0.0, 1.0]) / np.linalg.norm([0.3, 0.0, 1.0])


@dataclass(frozen=True)
class SyntheticConfig:
    size: int = 320  # frame side in pixels
    fps: float = 25.0
    seconds: float = 6.0
    seed: int = 0
    face_scale: float = 0.42  # face height over frame height
    gaze_yaw: float = 0.0  # degrees the eyes look sideways (+: the subject's left)
    gaze_sweep: float = 0.0  # degrees of a slow left-right sweep of the eyes on top


@dataclass(frozen=True)
class SyntheticClip:
    frames: np.ndarray  # (F, H, W, 3) RGB uint8
    params: list[FaceParams]  # the truth, in frame pixels
    euler: np.ndarray  # (F, 3) yaw, pitch, roll in degrees


class TalkingHead:
    """Renders the prior's mesh as a coloured, shaded head."""

    def __init__(self, model: FlameModel, config: SyntheticConfig = SyntheticConfig()):
        self.model, self.config = model, config
        regions = find_regions(model)
        self.skin, self.eyes, self.mouth = regions.skin, regions.eyes, regions.mouth
        self.colours = self._vertex_colours()
        self.irises = (
            [np.arange(468, 473), np.arange(473, 478)] if len(model.v_template) >= 478 else []
        )
        u, w = np.meshgrid(np.linspace(0, np.pi, 24), np.linspace(0, 2 * np.pi, 48))
        self._sphere = np.stack([np.sin(u) * np.cos(w), np.cos(u), np.sin(u) * np.sin(w)], -1)
        self._sphere = self._sphere.reshape(-1, 3)
        top, back = self._sphere[:, 1] > 0.35, self._sphere[:, 2] < -0.2
        self._hair = top | (back & (self._sphere[:, 1] > -0.3))
        self.open_dir = edit_direction(model, "open_mouth")
        self.smile_dir = edit_direction(model, "smile")
        self.blink_dir = edit_direction(model, "blink")

    def _vertex_colours(self) -> np.ndarray:
        m = self.model
        verts = m.v_template
        lm = m.landmarks(verts, "ibug68")
        colours = np.tile(SKIN, (len(verts), 1))
        outer = cv2.convexHull(lm[48:60, :2].astype(np.float32))
        for i, v in enumerate(verts):
            if cv2.pointPolygonTest(outer, (float(v[0]), float(v[1])), False) >= 0:
                colours[i] = LIPS
        for brow in (lm[17:22], lm[22:27]):
            for i, v in enumerate(verts):
                d = np.min(np.linalg.norm(brow[:, :2] - v[:2], axis=1))
                if d < 0.005 and v[1] > lm[37, 1]:
                    colours[i] = BROW
        return colours

    def params_at(self, t: float, rng_phase: np.ndarray) -> FaceParams:
        c, m = self.config, self.model
        yaw = 14 * np.sin(2 * np.pi * 0.13 * t + rng_phase[0])
        pitch = 7 * np.sin(2 * np.pi * 0.21 * t + rng_phase[1])
        roll = 5 * np.sin(2 * np.pi * 0.09 * t + rng_phase[2])
        syllable = max(0.0, np.sin(2 * np.pi * 4.2 * t + rng_phase[3]))
        burst = 0.5 + 0.5 * np.sin(2 * np.pi * 0.35 * t + rng_phase[4])
        blink_phase = (t + rng_phase[5]) % 3.3
        blink = max(0.0, 1.0 - abs(blink_phase - 0.1) / 0.1)
        psi = (0.9 * syllable * burst) * self.open_dir
        psi += 0.3 * (0.5 + 0.5 * np.sin(2 * np.pi * 0.17 * t)) * self.smile_dir
        psi += blink * self.blink_dir
        pose = np.zeros((len(JOINTS), 3))
        pose[0] = matrix_to_axis_angle(euler_to_matrix(yaw, pitch, roll))
        eyes = np.radians(c.gaze_yaw + c.gaze_sweep * np.sin(2 * np.pi * 0.4 * t))
        pose[3:5, 1] = eyes
        height = np.ptp(m.v_template[:, 1])
        scale = c.face_scale * c.size / height
        trans = np.array([c.size / 2 + 6 * np.sin(0.7 * t), c.size * 0.47, 0.0])
        return FaceParams(np.zeros(m.n_shape), psi, pose, float(scale), trans, c.size)

    def render(self, params: FaceParams) -> np.ndarray:
        c = self.config
        s = 2  # draw at twice the size, then shrink: smooth edges
        img = np.full((c.size * s, c.size * s, 3), BACKGROUND, np.uint8)
        mesh = mesh_in_crop(self.model, params)
        pts, depth = mesh[:, :2] * s, mesh[:, 2]
        self._head_and_neck(img, params, s)
        for loop in (self.mouth,):
            cv2.fillPoly(img, [np.rint(pts[loop] * 16).astype(np.int32)], MOUTH, cv2.LINE_AA, 4)
        for loop in self.eyes:
            cv2.fillPoly(img, [np.rint(pts[loop] * 16).astype(np.int32)], SCLERA, cv2.LINE_AA, 4)
        for iris in self.irises:
            centre = pts[iris[0]]
            radius = np.mean(np.linalg.norm(pts[iris[1:]] - centre, axis=1))
            cv2.circle(img, tuple(np.rint(centre * 16).astype(int)), int(radius * 16), IRIS,
                       -1, cv2.LINE_AA, 4)  # fmt: skip
        self._skin(img, mesh, pts, depth)
        return cv2.resize(img, (c.size, c.size), interpolation=cv2.INTER_AREA)

    def _head_and_neck(self, img, params: FaceParams, s: int) -> None:
        """A neck, then a head ellipsoid turned with the face, hair on its top and back.

        The head must turn with the face: a detector reads the outline of the head as much
        as the features, and a flat outline makes it under-read every turn.
        """
        v = self.model.v_template
        lo, hi = v.min(0), v.max(0)
        centre = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2 + 0.1 * (hi[1] - lo[1]),
                           lo[2] - 0.25 * (hi[2] - lo[2])])  # fmt: skip
        radii = np.array([0.56, 0.62, 0.75]) * (hi - lo)[[0, 1, 1]]
        ball = centre + self._sphere * radii
        crop = lambda p: params.to_crop(p)[:, :2] * s  # noqa: E731
        neck_top = centre + np.array([0.0, -0.45, -0.1]) * radii
        w = 0.55 * radii[0] * params.scale * s
        top = crop(neck_top[None])[0]
        bottom = img.shape[0]
        neck = np.array([[top[0] - w, top[1]], [top[0] + w, top[1]],
                         [top[0] + 1.2 * w, bottom], [top[0] - 1.2 * w, bottom]])  # fmt: skip
        neck_colour = tuple(float(c) for c in SKIN * 0.75)
        cv2.fillConvexPoly(img, np.rint(neck).astype(np.int32), neck_colour)
        for points, colour in ((ball, SKIN * 0.85), (ball[self._hair], HAIR)):
            hull = cv2.convexHull(np.rint(crop(points) * 16).astype(np.int32))
            cv2.fillConvexPoly(img, hull, tuple(float(c) for c in colour), cv2.LINE_AA, 4)

    def _skin(self, img, mesh, pts, depth) -> None:
        tris = self.skin[np.argsort(-depth[self.skin].mean(1))]
        a, b, cc = (mesh[tris[:, i]] for i in range(3))
        normals = np.cross(b - a, cc - a)
        normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
        light = np.clip(0.35 + 0.65 * np.abs(normals @ (LIGHT * [1, -1, -1])), 0, 1)
        colour = self.colours[tris].mean(1) * light[:, None]
        fixed = np.rint(pts[tris] * 16).astype(np.int32)
        for i in range(len(tris)):  # far to near: the near side covers the far
            cv2.fillConvexPoly(img, fixed[i], tuple(float(v) for v in colour[i]), cv2.LINE_AA, 4)


def make_clip(model: FlameModel, config: SyntheticConfig = SyntheticConfig()) -> SyntheticClip:
    head = TalkingHead(model, config)
    phase = np.random.default_rng(config.seed).uniform(0, 2 * np.pi, 6)
    n = round(config.seconds * config.fps)
    params = [head.params_at(i / config.fps, phase) for i in range(n)]
    frames = np.stack([head.render(p) for p in params])
    return SyntheticClip(frames, params, np.array([p.euler for p in params]))


def save_clip(clip: SyntheticClip, video_path, fps: float) -> None:
    """The video, and its ground truth as an .npz beside it (same name)."""
    from pathlib import Path

    from codec.video import VideoWriter

    Path(video_path).parent.mkdir(parents=True, exist_ok=True)
    with VideoWriter(video_path, fps) as w:
        for f in clip.frames:
            w.write(f)
    p = clip.params
    np.savez(
        Path(video_path).with_suffix(".npz"), euler_deg=clip.euler,
        pose=np.stack([q.pose for q in p]), psi=np.stack([q.psi for q in p]),
        scale=np.array([q.scale for q in p]), trans=np.stack([q.trans for q in p]),
    )  # fmt: skip
