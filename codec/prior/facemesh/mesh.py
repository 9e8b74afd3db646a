"""MediaPipe's 478-point face mesh with attention (refined lips, eyes and irises) in a region.

The network sees the region at 192×192 and answers 468 mesh points plus separate lips (80),
eye contours (71 each) and irises (5 each); the refinements replace the mesh's own points at
the indices the model's crop operators were built on, and each iris takes the mean depth of
its eye's contour. Which mesh index each refined point stands for is read from the model's
crop subsets at conversion time (they are the same lists, in the same order).
"""

from __future__ import annotations

import cv2
import numpy as np

from codec.prior.facemesh.rect import Rect, cut, project
from codec.prior.facemesh.runtime import Session, metadata

SIZE = 192
EYE_CONTOUR = 16  # the first 16 of each eye list: the lid contour whose depth an iris takes


class FaceMesh:
    """(image, region) -> (478, 3) landmarks normalized by the image size, or None."""

    def __init__(self, min_presence: float = 0.5):
        self.min_presence = min_presence
        self._net = Session("face_mesh.onnx")
        self._refined = {name: ids for name, ids in self._net.metadata.items()
                         if name.startswith("output_")}

    def __call__(self, image: np.ndarray, rect: Rect) -> np.ndarray | None:
        tensor = cut(image, rect, SIZE, cv2.BORDER_REPLICATE).astype(np.float32) / 255
        out = self._net(tensor)
        presence = 1 / (1 + np.exp(-float(out["conv_faceflag"].reshape(-1)[0])))
        if presence < self.min_presence:
            return None
        points = np.zeros((478, 3))
        points[:468] = out["output_mesh_identity"].reshape(468, 3)
        for name, ids in self._refined.items():
            points[ids, :2] = out[name].reshape(-1, 2)
        for iris, first, eye in (("output_left_iris", 468, "output_left_eye"),
                                 ("output_right_iris", 473, "output_right_eye")):
            points[first:first + 5, :2] = out[iris].reshape(5, 2)
            points[first:first + 5, 2] = points[self._refined[eye][:EYE_CONTOUR], 2].mean()
        return project(points / SIZE, rect)


def refined_points(head: str) -> np.ndarray:
    """The mesh indices a refinement head ("lips", "left_eye", "right_eye") answers for,
    without loading the model again where a detector already has."""
    return np.asarray(metadata("face_mesh.onnx")[f"output_{head}"], np.int64)
