"""MediaPipe face mesh (478 points) behind a small interface.

Returns landmarks in pixel units of the given image: x right, y down, z in the same scale as
x with smaller values closer to the camera (MediaPipe's convention). A frame without a face
gives None, never an exception.
"""

from __future__ import annotations

import os

import numpy as np

from codec.quiet import quiet_stderr

N_LANDMARKS = 478


class LandmarkDetector:
    """Face landmarks for video (`tracking=True`) or single pictures (`tracking=False`)."""

    def __init__(self, tracking: bool = True, min_confidence: float = 0.5):
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        from mediapipe.python.solutions import face_mesh

        with quiet_stderr():
            self._mesh = face_mesh.FaceMesh(
                static_image_mode=not tracking,
                max_num_faces=1,
                refine_landmarks=True,
                min_detection_confidence=min_confidence,
                min_tracking_confidence=min_confidence,
            )
        self._warned = False  # MediaPipe logs once on the first frame with a face

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        """RGB uint8 H×W×3 -> (478, 3) float64 pixel landmarks, or None when no face is found."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 H×W×3 image, got {image.dtype} {image.shape}")
        if self._warned:
            result = self._mesh.process(np.ascontiguousarray(image))
        else:
            with quiet_stderr():
                result = self._mesh.process(np.ascontiguousarray(image))
        if not result.multi_face_landmarks:
            return None
        self._warned = True
        pts = result.multi_face_landmarks[0].landmark
        h, w = image.shape[:2]
        out = np.array([(p.x, p.y, p.z) for p in pts], dtype=np.float64)
        out *= (w, h, w)
        return out

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

