import os

# Before anything imports numpy: see codec/__init__.py (BLAS threads across worker threads).
# torch's OpenMP pool likewise: tests share 2 cores with the services' own threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

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
