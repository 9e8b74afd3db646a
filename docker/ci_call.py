"""One call through containers, for docker/ci.sh: a room on the containerized signaling
server, the call added to the containerized host, a containerized replay sender, and the
host's /status read until the call's frames are rendered. Standard library only (it runs
on the CI machine's own python3).

    python3 docker/ci_call.py SIGNAL_PORT HOST_PORT HOST_KEY STREAM.fcs
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

FRAMES = 60


def request(url: str, method: str = "GET", key: str | None = None, body: dict | None = None):
    req = urllib.request.Request(url, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            request(url)
            return
        except OSError:
            if time.monotonic() > deadline:
                why = f"docker-ci: FAILED: {url} did not answer in {seconds:.0f} s"
                raise SystemExit(why) from None
            time.sleep(0.5)


def main() -> int:
    sig, api, key, fcs = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
    signal, host = f"http://127.0.0.1:{sig}", f"http://127.0.0.1:{api}"
    wait_for(f"{signal}/healthz")
    wait_for(f"{host}/healthz")
    room = request(f"{signal}/rooms", "POST", body={})
    request(f"{host}/calls", "POST", key, {"room": room["room"], "token": room["receiver_token"]})
    sender = subprocess.run(
        ["docker", "run", "--rm", "--network", "host", "-v", f"{fcs.parent}:/in:ro",
         "facecodec-cpu", "send", "--replay", f"/in/{fcs.name}", "--loop", "--frames",
         str(FRAMES), "--signal", signal, "--room", room["room"], "--token",
         room["sender_token"], "--json"], capture_output=True, text=True, timeout=120)
    if sender.returncode:
        raise SystemExit(f"docker-ci: FAILED: the replay sender exited {sender.returncode}: "
                         f"{sender.stderr.strip()[-500:]}")
    deadline = time.monotonic() + 30
    while True:
        call = request(f"{host}/status", key=key)["per_call"].get(room["room"], {})
        if call.get("frames_rendered", 0) >= 0.8 * FRAMES or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    rendered = call.get("frames_rendered", 0)
    if rendered < 0.8 * FRAMES:
        raise SystemExit(f"docker-ci: FAILED: the host rendered {rendered} of {FRAMES} frames")
    print(f"docker-ci: call carried through containers (signal, host, replay sender from "
          f"facecodec-cpu): {rendered} of {FRAMES} frames rendered, p95 latency "
          f"{call.get('latency_ms_p95')} ms, {call.get('bad_packets')} bad packets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
