"""Silencing native libraries that write start-up logs straight to file descriptor 2."""

import contextlib
import os


@contextlib.contextmanager
def quiet_stderr():
    """Silence native log lines (SVT-AV1, OpenCV) (written to fd 2, not through Python)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
