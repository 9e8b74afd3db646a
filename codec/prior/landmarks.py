"""Face landmarks (MediaPipe's 478-point mesh, run on onnxruntime) behind a small interface.

Returns landmarks in pixel units of the given image: x right, y down, z in the same scale as
x with smaller values closer to the camera (MediaPipe's convention). A frame without a face
gives None, never an exception.

In tracking mode the region the mesh looks at follows the mesh's own answer on the previous
frame, and the face detector runs only to find the face again; for single pictures each
image is searched afresh. This is MediaPipe's face-mesh graph, rebuilt on the converted
models of `codec.prior.facemesh` (mediapipe 0.10.21's points to 0.001 px on single pictures,
0.04 px in video mode; `facecodec bench landmarks`).
"""

from __future__ import annotations

import numpy as np

from codec.prior.facemesh.detector import FaceDetector
from codec.prior.facemesh.mesh import FaceMesh
from codec.prior.facemesh.rect import Rect, rect_around, rect_from_landmarks

N_LANDMARKS = 478


class LandmarkDetector:
    """Face landmarks for video (`tracking=True`) or single pictures (`tracking=False`)."""

    def __init__(self, tracking: bool = True, min_confidence: float = 0.5):
        self.tracking = tracking
        self._detect = FaceDetector(min_score=min_confidence)
        self._mesh = FaceMesh(min_presence=min_confidence)
        self._rect: Rect | None = None

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        """RGB uint8 H×W×3 -> (478, 3) float64 pixel landmarks, or None when no face is found."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 H×W×3 image, got {image.dtype} {image.shape}")
        h, w = image.shape[:2]
        rect = self._rect
        if rect is None:
            found = self._detect(image)
            if found is None:
                return None
            rect = rect_around(found.box, found.keypoints[0], found.keypoints[1], (w, h))
        points = self._mesh(image, rect)
        if points is None:
            self._rect = None
            return None
        if self.tracking:  # the next frame looks where this face is now
            self._rect = rect_from_landmarks(points, (w, h))
        return points * (w, h, w)

    @property
    def region(self) -> Rect | None:
        """Where a tracking detector will look on the next image (None: it will search)."""
        return self._rect

    def in_region(self, image: np.ndarray, rect: Rect) -> np.ndarray | None:
        """Landmarks of the face in a region the caller chose (no search, no state kept)."""
        h, w = image.shape[:2]
        points = self._mesh(image, rect)
        return None if points is None else points * (w, h, w)

    def close(self) -> None:
        self._rect = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
