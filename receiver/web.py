"""The receiver's web page: the rendered stream and the live figures, on `--http PORT`.

The page asks for the stream as WebRTC video first (`POST webrtc`, `receiver/viewer.py`);
where that cannot connect (or with `?mode=jpeg`) it polls `frame.jpg`, short requests that
work behind any proxy. Figures come from polling `stats`. Every URL is relative, so the
same page serves a host's calls under `/view/SECRET/`.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, Field

from receiver.sinks import LatestFrame
from receiver.stats import ReceiverStats
from receiver.viewer import ViewerLimitError, Viewers

MAX_OFFER = 64 * 1024  # a browser's offer with its candidates is a few KiB
MAX_BODY = 128 * 1024  # any request body to a receiver's or host's server

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>facecodec receiver</title>
<style>
body { background:#111; color:#ddd; font:14px system-ui, sans-serif; margin:24px; }
img, video { width:384px; height:384px; background:#333; display:block; }
[hidden] { display:none !important; }
#stats { margin-top:12px; font-variant-numeric:tabular-nums; }
</style></head>
<body>
<h3>facecodec receiver</h3>
<img id="video" alt="waiting for the sender">
<video id="live" autoplay muted playsinline hidden></video>
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
async function webrtc() {
  const live = document.getElementById("live");
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", {direction: "recvonly"});
  pc.ontrack = (e) => {
    live.srcObject = new MediaStream([e.track]); live.hidden = false; img.hidden = true;
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") done(); };
    if (pc.iceGatheringState === "complete") done();
    setTimeout(done, 3000);
  });
  const r = await fetch("webrtc", {method: "POST", headers: {"Content-Type": "application/json"},
                                   body: JSON.stringify({sdp: pc.localDescription.sdp})});
  if (!r.ok) throw new Error("no WebRTC here");
  await pc.setRemoteDescription({type: "answer", sdp: (await r.json()).sdp});
  setTimeout(() => {  // no video within 15 s: pictures instead
    if (pc.connectionState !== "connected") {
      pc.close(); live.hidden = true; img.hidden = false; frame();
    }
  }, 15000);
}
if (new URLSearchParams(location.search).get("mode") === "jpeg") frame();
else webrtc().catch(() => frame());
figures();
</script></body></html>
"""


class ViewerOffer(BaseModel):
    sdp: str = Field(min_length=1, max_length=MAX_OFFER)


def create_page_app(latest: LatestFrame, stats: ReceiverStats,
                    viewers: Viewers | None = None) -> FastAPI:
    app = FastAPI(title="facecodec receiver", docs_url=None, redoc_url=None)

    @app.post("/webrtc")
    async def webrtc(offer: ViewerOffer) -> dict:
        return await answer_viewer(viewers, offer)

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


async def answer_viewer(viewers: Viewers | None, offer: ViewerOffer) -> dict:
    """A browser's offer answered with the call's video (404 without viewers here, 429 at the
    bound, 400 for an offer that cannot be answered)."""
    if viewers is None:
        raise HTTPException(404, "no WebRTC video here")
    try:
        return {"type": "answer", "sdp": await viewers.answer(offer.sdp)}
    except ViewerLimitError as exc:
        raise HTTPException(429, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def page_response() -> Response:
    return Response(PAGE, media_type="text/html")


def frame_response(latest: LatestFrame) -> Response:
    """The newest frame (204 before the first), never cached."""
    jpeg = latest.jpeg()
    if jpeg is None:
        return Response(status_code=204)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


class BodyLimit:
    """ASGI wrapper: a request body past `limit` bytes is refused (413 when declared by its
    Content-Length, else the app sees the client go once the count passes it), so no
    request, authenticated or not, can make the server hold more than that."""

    def __init__(self, app, limit: int = MAX_BODY):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"text/plain")]})
            return await send({"type": "http.response.body", "body": b"request too large"})
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            return {"type": "http.disconnect"} if seen > self.limit else message

        return await self.app(scope, counted, send)


class BackgroundServer:
    """A uvicorn server on the running event loop (port 0 picks a free port); request
    bodies bounded by `BodyLimit`."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, **options):
        import uvicorn

        config = uvicorn.Config(BodyLimit(app), host=host, port=port, log_level="warning",
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


class PageServer:
    """A receiver's page with its WebRTC viewers, on the running event loop: the frames it
    shows come from a `LatestFrame` added to the receiver's sinks."""

    def __init__(self, receiver, host: str = "127.0.0.1", port: int = 0,
                 ice_servers: tuple[dict, ...] = ()):
        self.latest = LatestFrame()
        receiver.sinks.append(self.latest)
        self.viewers = Viewers(self.latest, ice_servers)
        self.server = BackgroundServer(create_page_app(self.latest, receiver.stats,
                                                       self.viewers), host, port)

    async def start(self) -> int:
        return await self.server.start()

    async def stop(self) -> None:
        await self.viewers.close()
        await self.server.stop()
