"""BlazeFace (MediaPipe's short-range face detector): the most confident face in a picture.

Anchors, box decoding and weighted non-maximum suppression as in MediaPipe's face-detection
graph, so the face mesh starts from the same region MediaPipe would give it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from codec.prior.facemesh.rect import Rect, cut
from codec.prior.facemesh.runtime import Session

SIZE = 128


@dataclass(frozen=True)
class Detection:
    """Box (xmin, ymin, w, h) and six keypoints (eyes first), normalized by the image size."""

    box: tuple[float, float, float, float]
    keypoints: np.ndarray  # (6, 2)
    score: float


def anchors() -> np.ndarray:
    """(896, 2) anchor centres: 2 per cell on the 16×16 grid, 6 per cell on the 8×8 grid."""
    out = []
    for cells, per_cell in ((16, 2), (8, 6)):
        y, x = np.mgrid[0:cells, 0:cells]
        centres = np.stack([(x + 0.5) / cells, (y + 0.5) / cells], -1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(out).astype(np.float64)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of box a (4,) with boxes b (N, 4), both (xmin, ymin, xmax, ymax)."""
    lo, hi = np.maximum(a[:2], b[:, :2]), np.minimum(a[2:], b[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    union = np.prod(a[2:] - a[:2]) + np.prod(b[:, 2:] - b[:, :2], axis=1) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


class FaceDetector:
    def __init__(self, min_score: float = 0.5, overlap: float = 0.3):
        self.min_score, self.overlap = min_score, overlap
        self._net = Session("face_detector.onnx")
        self._anchors = anchors()

    def __call__(self, image: np.ndarray) -> Detection | None:
        h, w = image.shape[:2]
        side = max(w, h)  # letterboxed to a square, as the detector was trained
        rect = Rect(0.5, 0.5, side / w, side / h, 0.0)
        tensor = cut(image, rect, SIZE, cv2.BORDER_CONSTANT).astype(np.float32) / 127.5 - 1
        out = self._net(tensor)
        raw = out["regressors"][0].astype(np.float64)
        logits = np.clip(out["classificators"][0, :, 0].astype(np.float64), -100, 100)
        scores = 1 / (1 + np.exp(-logits))
        keep = scores >= self.min_score
        if not keep.any():
            return None
        raw, scores, anchor = raw[keep] / SIZE, scores[keep], self._anchors[keep]
        centre = raw[:, :2] + anchor
        boxes = np.concatenate([centre - raw[:, 2:4] / 2, centre + raw[:, 2:4] / 2], 1)
        points = raw[:, 4:16].reshape(-1, 6, 2) + anchor[:, None]
        best = int(np.argmax(scores))
        group = _iou(boxes[best], boxes) > self.overlap
        weights = scores[group] / scores[group].sum()
        box = weights @ boxes[group]
        kp = np.einsum("n,nkd->kd", weights, points[group])
        # Undo the letterbox: square-normalized -> image-normalized.
        pad = np.array([(1 - w / side) / 2, (1 - h / side) / 2])
        span = np.array([w / side, h / side])
        lo, hi = (box[:2] - pad) / span, (box[2:] - pad) / span
        kp = (kp - pad) / span
        return Detection((lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]), kp, float(scores[best]))
