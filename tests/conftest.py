import os

# Before anything imports numpy: see codec/__init__.py (BLAS threads across worker threads).
# torch's OpenMP pool likewise: tests share 2 cores with the services' own threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path

import pytest

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev"


@pytest.fixture(scope="session")
def dev_dir() -> Path:
    if not DEV.is_dir():
        pytest.skip(f"real clips not found at {DEV} (only present beside the CI checkout)")
    return DEV
