"""CPU time and memory of a process together with its children, read from /proc.

A host renders its calls in child processes (`codec.render.processes`), so its own
`getrusage` misses most of what it costs; its `/status` and `facecodec bench host` both read
the whole tree here. Where /proc is missing (not Linux) the figures are this process's own.
"""

from __future__ import annotations

import contextlib
import os
import resource
import time
from pathlib import Path


def tree(pid: int) -> list[int]:
    """`pid` and every process below it."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for children in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(OSError):  # it just exited
                todo += [int(c) for c in children.read_text().split()]
    return found


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (default: this one) and its children."""
    pid = os.getpid() if pid is None else pid
    if not Path("/proc/self/stat").exists():
        return time.process_time()
    return sum(_own_cpu_seconds(p) for p in tree(pid))


def rss_mib(pid: int | None = None) -> float:
    """Resident memory now of a process (default: this one) and its children, MiB."""
    pid = os.getpid() if pid is None else pid
    if not Path("/proc/self/status").exists():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = 0
    for p in tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:  # it just exited
            continue
        total += next((int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmRSS:")), 0)  # fmt: skip
    return total / 1024


def _own_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # it just exited
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
