"""Image and landmark metrics shared by the benchmarks: PSNR, SSIM, AKD with dlib's 68 points.

AKD uses dlib's 68-point shape predictor from the `face_recognition_models` package: an
independent detector, so a codec built on MediaPipe is not graded by MediaPipe.
"""

from __future__ import annotations

import cv2
import numpy as np

MOUTH = slice(48, 68)
GROUPS = {"jaw": slice(0, 17), "brows": slice(17, 27), "nose": slice(27, 36),
          "eyes": slice(36, 48), "outer_mouth": slice(48, 60), "inner_mouth": slice(60, 68)}
IRIS_CENTRES = [468, 473]  # MediaPipe's


class IrisCentres:
    """MediaPipe's two iris centres (px) per picture, for the gaze error: the codec's own
    detector, so it grades what the receiver shows against what the sender saw."""

    def __init__(self):
        from codec.prior.landmarks import LandmarkDetector

        self.detector = LandmarkDetector(tracking=False)

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        pts = self.detector(rgb)
        return None if pts is None else pts[IRIS_CENTRES, :2]

    def close(self) -> None:
        self.detector.close()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def region_psnr(a: np.ndarray, b: np.ndarray, points: np.ndarray, margin: float = 0.25) -> float:
    """PSNR inside the box around `points` (landmarks of the original), grown by `margin` of
    its larger side: the mouth or the eyes, where a viewer looks."""
    xy = np.asarray(points)[:, :2]
    lo, hi = xy.min(0), xy.max(0)
    grow = margin * float(max(hi - lo))
    h, w = a.shape[:2]
    x0, y0 = (max(int(v), 0) for v in np.floor(lo - grow))
    x1, y1 = min(int(np.ceil(hi[0] + grow)), w), min(int(np.ceil(hi[1] + grow)), h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return float("nan")
    mse = np.mean((a[y0:y1, x0:x1].astype(np.float64) - b[y0:y1, x0:x1]) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM over the luma channel (Wang et al. 2004: 11×11 Gaussian, σ = 1.5)."""
    x = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float64)
    y = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(z):
        return cv2.GaussianBlur(z, (11, 11), 1.5)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(s.mean())


def _dlib_models_folder():
    """face_recognition_models' data folder, found without importing the package (its
    __init__ needs pkg_resources, which new setuptools no longer ship)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("face_recognition_models is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class DlibLandmarks:
    """dlib's HOG face detector + 68-point predictor; None when dlib is not installed."""

    def __init__(self):
        import dlib

        models = _dlib_models_folder()
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
        self.embedder = dlib.face_recognition_model_v1(
            str(models / "dlib_face_recognition_resnet_model_v1.dat"))
        self._dlib = dlib

    @classmethod
    def available(cls) -> DlibLandmarks | None:
        try:
            return cls()
        except ImportError:
            return None

    def box(self, rgb: np.ndarray):
        faces = self.detector(rgb, 0)  # no upsampling: faces fill a 256² crop
        return max(faces, key=lambda r: r.area()) if faces else None

    def __call__(self, rgb: np.ndarray, box=None) -> np.ndarray | None:
        """(68, 2) pixel landmarks, detecting the face unless a box is given."""
        box = box or self.box(rgb)
        if box is None:
            return None
        shape = self.predictor(rgb, box)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


    def embedding(self, rgb: np.ndarray, box=None) -> np.ndarray | None:
        """dlib's 128-d face embedding (the AED metric), or None without a face."""
        box = box or self.box(rgb)
        if box is None:
            return None
        shape = self.predictor(rgb, box)
        return np.array(self.embedder.compute_face_descriptor(rgb, shape))


def keypoint_distance(a: np.ndarray, b: np.ndarray, which=slice(None)) -> float:
    return float(np.linalg.norm(a[which] - b[which], axis=1).mean())
