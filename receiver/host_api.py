"""The host's small HTTP API: add and end calls, read the figures.

    GET    /healthz        {"ok": true, "calls": N}             (no key: for probes)
    GET    /status         whole-host and per-call figures
    POST   /calls          {"room": ..., "token": ...} -> 201, 409 (that room has a call),
                           429 (the host is full)
    DELETE /calls/{room}   the call's summary, 404 if no such call

Every route but /healthz needs `Authorization: Bearer <key>` when the host has a key; a
host without one only listens on loopback (`host_cli` enforces it).
"""

from __future__ import annotations

import secrets

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

from receiver.host import CallExistsError, Host, HostFullError

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
        return {"room": request.room, "calls": len(host.calls)}

    @app.delete("/calls/{room}", dependencies=[Depends(authorized)])
    async def end_call(room: str) -> dict:
        try:
            return await host.end(room)
        except KeyError:
            raise HTTPException(404, f"no call in room {room[:64]!r} on this host") from None

    return app
