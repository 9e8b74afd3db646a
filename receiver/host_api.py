"""The host's small HTTP API: add and end calls, read the figures.

    GET    /healthz        {"ok": true, "calls": N}             (no key: for probes)
    GET    /status         whole-host and per-call figures
    POST   /calls          {"room": ..., "token": ...} -> 201, 409 (that room has a call),
                           429 (the host is full)
    DELETE /calls/{room}   the call's summary, 404 if no such call
    GET    /view/{secret}/ the call's page (WebRTC video, else polled pictures, and figures),
                           as `receive --http` serves it; the secret comes with POST /calls,
                           so a link can be shared without the key

Every route but /healthz needs `Authorization: Bearer <key>` when the host has a key; a
host without one only listens on loopback (`host_cli` enforces it).
"""

from __future__ import annotations

import secrets

from fastapi import Depends, FastAPI, Header, HTTPException, Response
from pydantic import BaseModel, Field

from receiver.host import CallExistsError, Host, HostFullError
from receiver.web import ViewerOffer, answer_viewer, frame_response, page_response

ROOM_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class CallRequest(BaseModel):
    room: str = Field(pattern=ROOM_PATTERN)
    token: str = Field(min_length=1, max_length=512)


def create_host_app(host: Host, api_key: str | None = None) -> FastAPI:
    app = FastAPI(title="facecodec host", docs_url=None, redoc_url=None, openapi_url=None)

    def authorized(authorization: str | None = Header(default=None)) -> None:
        if api_key is None:
            return
        given = (authorization or "").removeprefix("Bearer ")
        if not secrets.compare_digest(given.encode(), api_key.encode()):
            raise HTTPException(401, "needs 'Authorization: Bearer <host api key>'")

    @app.get("/healthz")
    def healthz() -> dict:
        return {"ok": True, "calls": len(host.calls)}

    @app.get("/status", dependencies=[Depends(authorized)])
    def status() -> dict:
        return host.status()

    @app.post("/calls", status_code=201, dependencies=[Depends(authorized)])
    async def add_call(request: CallRequest) -> dict:
        try:
            await host.add(request.room, request.token)
        except CallExistsError as exc:
            raise HTTPException(409, str(exc)) from None
        except HostFullError as exc:
            raise HTTPException(429, str(exc)) from None
        call = host.calls[request.room]
        return {"room": request.room, "calls": len(host.calls), "page": f"/view/{call.view}/"}

    @app.delete("/calls/{room}", dependencies=[Depends(authorized)])
    async def end_call(room: str) -> dict:
        try:
            return await host.end(room)
        except KeyError:
            raise HTTPException(404, f"no call in room {room[:64]!r} on this host") from None

    def viewed(secret: str):
        call = host.viewing(secret)
        if call is None:
            raise HTTPException(404, "no such call page")
        return call

    @app.get("/view/{secret}/", response_class=Response)
    def page(secret: str) -> Response:
        viewed(secret)
        return page_response()

    @app.get("/view/{secret}/frame.jpg", response_class=Response)
    def frame(secret: str) -> Response:
        return frame_response(viewed(secret).latest)

    @app.get("/view/{secret}/stats")
    def live(secret: str) -> dict:
        return viewed(secret).receiver.stats.live()

    @app.post("/view/{secret}/webrtc")
    async def watch(secret: str, offer: ViewerOffer) -> dict:
        return await answer_viewer(viewed(secret).viewers, offer)

    return app
