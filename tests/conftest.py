import os

# Before anything imports numpy: see codec/__init__.py (BLAS threads across worker threads).
# torch's OpenMP pool likewise: tests share 2 cores with the services' own threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.data import dev_clips

DEV = dev_clips()


@pytest.fixture(scope="session")
def dev_dir() -> Path:
    if not DEV.is_dir():
        pytest.skip(f"real clips not found at {DEV} (set FACECODEC_DATA, or put them at "
                    "../shared/data/dev beside the checkout)")
    return DEV


@pytest.fixture(scope="session")
def tiny_head_fcs(tmp_path_factory) -> Path:
    """The committed tiny head clip encoded once by `facecodec encode`: a recorded stream
    for the replay sender and the host tests."""
    clip = Path(__file__).parent / "fixtures" / "tiny_head" / "head.mp4"
    out = tmp_path_factory.mktemp("recorded") / "head.fcs"
    done = subprocess.run([sys.executable, "-m", "codec", "encode", str(clip), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out
