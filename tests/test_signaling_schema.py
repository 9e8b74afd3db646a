"""Schemathesis against the signaling server's own OpenAPI spec, over a real socket.

Runs the schemathesis command line (its pytest plugin does not load under this pytest),
with every check, against uvicorn on loopback.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from signaling.app import create_app
from signaling.config import SignalingConfig
from tests.servers import ServerThread


def _schemathesis() -> str:
    exe = Path(sys.executable).with_name("schemathesis")
    found = str(exe) if exe.exists() else shutil.which("schemathesis")
    if not found:
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    return found


def test_api_conforms_to_its_spec(tmp_path):
    exe = _schemathesis()
    app = create_app(SignalingConfig(secret=b"schema-test", rooms_per_minute_per_ip=25))
    with ServerThread(app) as srv:
        run = subprocess.run(
            [exe, "run", f"{srv.url}/openapi.json", "--checks", "all", "--max-examples", "30",
             "--request-timeout", "30", "--workers", "1"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,  # its cache dir
        )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "passed" in run.stdout.lower()
