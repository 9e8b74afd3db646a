"""Thread pools sized on purpose for a call on a laptop that is never idle.

OpenCV runs each call on as many threads as there are cores. Every per-frame call in a call
is small (a 256² crop: optical flow, warps, remaps), so those threads cost more in hand-offs
than they give, and when the browser or a build keeps the cores busy they queue behind it
with everything else. The codec already runs its own few threads where work is independent
(the second landmark look, the backward flow, encode and render workers); onnxruntime's
sessions are single-threaded (`prior/facemesh/runtime.py`). Benchmarks set the same.
"""

from __future__ import annotations


def size_for_a_call() -> None:
    """One thread per OpenCV call, process-wide (the live commands call this first)."""
    import cv2

    cv2.setNumThreads(1)
