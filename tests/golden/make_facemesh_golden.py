"""Write tests/golden/facemesh_mediapipe.npz: MediaPipe 0.10.21's own landmarks on dev clips.

The converted models (codec/prior/facemesh) are tested against these. Needs the original:
`pip install mediapipe==0.10.21` (Python 3.11 or 3.12, numpy < 2), and ../shared/data/dev.

    python tests/golden/make_facemesh_golden.py
"""

from pathlib import Path

import numpy as np

from benchmarks.landmark_parity import Reference
from codec.video import read_frames

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "dev"
OUT = Path(__file__).with_name("facemesh_mediapipe.npz")
TRACKED = ("dagan_driving.mp4", 12)  # a sequence in tracking mode
SINGLE = ("spectre_mead_w023_level_2_surprised_010.mp4", "lp_driving_d9.mp4",
          "fye_temple_video.mp4")


def main() -> None:
    clip, n = TRACKED
    mesh = Reference(tracking=True)
    tracked = [mesh(f) for f in read_frames(DEV / clip, max_frames=n)]
    mesh = Reference(tracking=False)
    single = [mesh(next(iter(read_frames(DEV / name, max_frames=1)))) for name in SINGLE]
    np.savez_compressed(OUT, tracked=np.stack(tracked).astype(np.float32),
                        single=np.stack(single).astype(np.float32),
                        tracked_clip=clip, single_clips=np.array(SINGLE))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
