"""Coding with SVT-AV1 leaves the calling thread's scheduling as it was.

Run as root, SVT-AV1 makes the thread that opens an encoder SCHED_FIFO at priority 99; every
process that thread starts inherits it. In CI (root) the test suite itself turned real-time
after its first AV1 test, and two busy loops it started later held both cores so the demo
beside them never ran. Not as root, SVT-AV1 cannot change the policy and these tests only
confirm that nothing else does."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from benchmarks.classical import encode_decode
from codec.picture import encode_picture
from codec.threads import kept_scheduling

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_getscheduler"), reason="Linux only")


def _scheduling() -> tuple[int, int]:
    return os.sched_getscheduler(0), os.sched_getparam(0).sched_priority


def test_a_reference_picture_and_the_av1_baseline_leave_the_thread_as_it_was():
    before = _scheduling()
    encode_picture(np.full((64, 64, 3), 90, np.uint8), "av1", 50)
    assert _scheduling() == before
    encode_decode(np.zeros((3, 64, 64, 3), np.uint8), "av1", 16)
    assert _scheduling() == before


def test_an_encode_thread_stays_an_ordinary_thread():
    seen = []
    thread = threading.Thread(target=lambda: (encode_picture(np.zeros((64, 64, 3), np.uint8)),
                                              seen.append(_scheduling())))  # fmt: skip
    thread.start()
    thread.join(60)
    assert seen == [(os.SCHED_OTHER, 0)]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may make a thread real-time")
def test_a_thread_made_real_time_inside_is_given_back():
    with kept_scheduling():
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    assert _scheduling() == (os.SCHED_OTHER, 0)
