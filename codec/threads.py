"""Thread pools sized on purpose for a call on a laptop that is never idle.

OpenCV runs each call on as many threads as there are cores. Every per-frame call in a call
is small (a 256² crop: optical flow, warps, remaps), so those threads cost more in hand-offs
than they give, and when the browser or a build keeps the cores busy they queue behind it
with everything else. The codec already runs its own few threads where work is independent
(the second landmark look, the backward flow, encode and render workers); onnxruntime's
sessions are single-threaded (`prior/facemesh/runtime.py`). Benchmarks set the same.

The face tracker sets it too, for reproducible landmarks: OpenCV cuts a warp into stripes by
its pool, and when another thread's call holds the pool (the reference flow, the second look)
the warp runs in one stripe instead; the stripes round differently, so the face mesh's input
moved by one level now and then and the landmarks, then the crop, drifted apart between runs
of the same clip (found 2026-12-04: `bench rd`'s crop check failed on hellomeme_xzy2, frame
149, 8.7e-5 px first).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


def size_for_a_call() -> None:
    """One thread per OpenCV call, process-wide (the live commands call this first)."""
    import cv2

    cv2.setNumThreads(1)


@contextmanager
def kept_scheduling() -> Iterator[None]:
    """Runs the body and gives the calling thread back the scheduling it had before.

    SVT-AV1 (the reference pictures' encoder, and the AV1 baseline) makes the thread that
    opens an encoder real-time, SCHED_FIFO at priority 99, when the process runs as root, as
    it does in a container. Found on 2026-12-03: a root sender's encode thread then ran ahead
    of everything else on the machine, and every process started from that thread inherited
    the policy (two busy loops started by the test suite after an AV1 test held both cores
    and starved the demo beside them). A call must share a laptop, not take it over."""
    get = getattr(os, "sched_getscheduler", None)
    if get is None:  # not Linux: nothing to keep
        yield
        return
    policy, param = get(0), os.sched_getparam(0)
    try:
        yield
    finally:
        if (get(0), os.sched_getparam(0)) != (policy, param):
            os.sched_setscheduler(0, policy, param)
