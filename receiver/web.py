"""The receiver's web page: the rendered stream and the live figures, on `--http PORT`.

The page polls `/frame.jpg` and `/stats`; polling instead of an endless MJPEG response
keeps every request short, so the page also works behind proxies and in headless browsers.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI, Response

from receiver.sinks import LatestFrame
from receiver.stats import ReceiverStats

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>facecodec receiver</title>
<style>
body { background:#111; color:#ddd; font:14px system-ui, sans-serif; margin:24px; }
img { width:384px; height:384px; background:#333; image-rendering:auto; display:block; }
#stats { margin-top:12px; font-variant-numeric:tabular-nums; }
</style></head>
<body>
<h3>facecodec receiver</h3>
<img id="video" alt="waiting for the sender">
<div id="stats">waiting for the sender</div>
<script>
const img = document.getElementById("video"), stats = document.getElementById("stats");
let shown = 0;  // pictures drawn so far, as data-frames on the image
async function frame() {
  try {
    const r = await fetch("frame.jpg?t=" + Date.now(), {cache: "no-store"});
    if (r.status === 200) {
      const url = URL.createObjectURL(await r.blob());
      img.onload = () => { URL.revokeObjectURL(url); img.dataset.frames = ++shown; };
      img.src = url;
    }
  } catch (e) {}
  setTimeout(frame, 40);
}
async function figures() {
  try {
    const s = await (await fetch("stats", {cache: "no-store"})).json();
    const lat = s.latency_ms_p50 === null ? "n/a" : s.latency_ms_p50.toFixed(0) + " ms";
    stats.textContent = `${s.fps} fps · payload ${s.payload_kbps} kbps · ` +
      `wire ${s.wire_kbps} kbps · latency ${lat} · frames ${s.frames_rendered}`;
  } catch (e) {}
  setTimeout(figures, 1000);
}
frame(); figures();
</script></body></html>
"""


def create_page_app(latest: LatestFrame, stats: ReceiverStats) -> FastAPI:
    app = FastAPI(title="facecodec receiver", docs_url=None, redoc_url=None)

    @app.get("/", response_class=Response)
    def page():
        return page_response()

    @app.get("/frame.jpg", response_class=Response)
    def frame():
        return frame_response(latest)

    @app.get("/stats")
    def live_stats():
        return stats.live()

    return app


def page_response() -> Response:
    return Response(PAGE, media_type="text/html")


def frame_response(latest: LatestFrame) -> Response:
    """The newest frame (204 before the first), never cached."""
    jpeg = latest.jpeg()
    if jpeg is None:
        return Response(status_code=204)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


class BackgroundServer:
    """A uvicorn server on the running event loop (port 0 picks a free port)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, **options):
        import uvicorn

        config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                                access_log=False, **options)
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task | None = None

    async def start(self, timeout: float = 10.0) -> int:
        """Start serving; returns the bound port."""
        self.task = asyncio.create_task(self.server.serve())
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.server.started:
            if self.task.done():
                with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind
                    self.task.result()
                raise OSError(f"cannot serve on port {self.server.config.port} (in use?)")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the web server did not start")
            await asyncio.sleep(0.02)
        return self.server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            with contextlib.suppress(Exception):
                await self.task
