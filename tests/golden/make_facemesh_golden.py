"""Write tests/golden/facemesh_mediapipe.npz: MediaPipe 0.10.21's own landmarks on dev clips.

The converted models (codec/prior/facemesh) are tested against these. Needs the original:
`pip install mediapipe==0.10.21` (Python 3.11 or 3.12, numpy < 2), and ../shared/data/dev.

    python tests/golden/make_facemesh_golden.py
"""

from pathlib import Path

import numpy as np

from codec.video import read_frames

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "dev"
OUT = Path(__file__).with_name("facemesh_mediapipe.npz")
TRACKED = ("dagan_driving.mp4", 12)  # a sequence in tracking mode
SINGLE = ("spectre_mead_w023_level_2_surprised_010.mp4", "lp_driving_d9.mp4",
          "fye_temple_video.mp4")


def mediapipe_mesh(static: bool):
    from mediapipe.python.solutions import face_mesh

    return face_mesh.FaceMesh(static_image_mode=static, max_num_faces=1, refine_landmarks=True,
                              min_detection_confidence=0.5, min_tracking_confidence=0.5)


def landmarks(mesh, image: np.ndarray) -> np.ndarray:
    result = mesh.process(np.ascontiguousarray(image))
    pts = result.multi_face_landmarks[0].landmark
    h, w = image.shape[:2]
    return np.array([(p.x * w, p.y * h, p.z * w) for p in pts], np.float32)


def main() -> None:
    clip, n = TRACKED
    with mediapipe_mesh(static=False) as mesh:
        tracked = [landmarks(mesh, f) for f in read_frames(DEV / clip, max_frames=n)]
    single = []
    with mediapipe_mesh(static=True) as mesh:
        for name in SINGLE:
            single.append(landmarks(mesh, next(iter(read_frames(DEV / name, max_frames=1)))))
    np.savez_compressed(OUT, tracked=np.stack(tracked), single=np.stack(single),
                        tracked_clip=clip, single_clips=np.array(SINGLE))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
