"""A small Chrome DevTools Protocol client for page tests: Debian's chromium, driven over
its debugging WebSocket, with explicit waits and deadlines (no virtual time, no sleeps)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import websockets

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--window-size=500,520", "--remote-debugging-port=0",
         "--remote-allow-origins=*"]
LISTENING = re.compile(rb"DevTools listening on (ws://\S+)")


class Browser:
    """One headless chromium with one page; `async with Browser(url, profile) as page`."""

    def __init__(self, url: str, profile: Path, start_timeout: float = 60.0):
        self.url, self.profile, self.start_timeout = url, profile, start_timeout
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Page:
        self.proc = await asyncio.create_subprocess_exec(
            CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "about:blank",
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        browser_ws = await asyncio.wait_for(self._listening(), self.start_timeout)
        port = browser_ws.split(":")[2].split("/")[0]
        targets = await asyncio.to_thread(_get_json, f"http://127.0.0.1:{port}/json/list")
        page_ws = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        self.page = Page(await websockets.connect(page_ws, max_size=2**26))
        await self.page.call("Page.enable")
        await self.page.call("Page.navigate", url=self.url)
        return self.page

    async def _listening(self) -> str:
        while True:
            line = await self.proc.stderr.readline()
            if not line:
                raise RuntimeError("chromium exited before opening its debugging port")
            found = LISTENING.search(line)
            if found:
                asyncio.get_running_loop().create_task(self._drain())
                return found.group(1).decode()

    async def _drain(self) -> None:
        with contextlib.suppress(Exception):
            while await self.proc.stderr.read(65536):
                pass

    async def __aexit__(self, *exc) -> None:
        if getattr(self, "page", None) is not None:
            await self.page.ws.close()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


class Page:
    def __init__(self, ws):
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, method: str, **params) -> dict:
        """Send one command and wait for its reply (events in between are skipped)."""
        msg_id = next(self.ids)
        await self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            reply = json.loads(await self.ws.recv())
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    async def evaluate(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float, poll: float = 0.05):
        """Poll a JavaScript expression until it is truthy; its value, or TimeoutError."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"still false after {timeout:.0f} s: {expression}")
            await asyncio.sleep(poll)

    async def screenshot(self) -> np.ndarray:
        data = (await self.call("Page.captureScreenshot", format="png"))["data"]
        image = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)
        return image

    async def element_box(self, selector: str) -> tuple[int, int, int, int]:
        """(x, y, width, height) of an element in CSS pixels."""
        box = await self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()"
        )
        return tuple(round(v) for v in box)


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())
