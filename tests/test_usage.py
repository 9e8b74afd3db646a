"""The host's CPU and memory figures count its child (render) processes."""

from __future__ import annotations

import os
import subprocess
import sys

from codec import usage

_SPIN = ("import time\n"
         "while time.process_time() < 0.5: pass\n"
         "print('spun', flush=True)\n"
         "time.sleep(60)\n")  # fmt: skip


def test_a_childs_cpu_and_memory_are_counted():
    cpu0, rss0 = usage.cpu_seconds(), usage.rss_mib()
    child = subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "spun\n"
        assert child.pid in usage.tree(os.getpid())
        assert usage.cpu_seconds() - cpu0 >= 0.45
        assert usage.rss_mib() > rss0 + 3  # an interpreter's few MiB
    finally:
        child.kill()
        child.wait(10)


def test_a_process_that_is_gone_counts_nothing():  # waited for: /proc has no entry
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(10)
    assert usage.cpu_seconds(child.pid) == 0.0 and usage.rss_mib(child.pid) == 0.0
