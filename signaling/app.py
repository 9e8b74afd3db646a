"""The signaling app: create rooms, admit peers by token, relay offer/answer/control.

Peers speak JSON text over one WebSocket each. A peer's first message is `join` with its
room token (tokens never travel in URLs, which access logs and proxies keep). The server
then greets it with `welcome`
(its id, role and who is in the room), announces `peer-joined` / `peer-left` to the others,
and relays `offer`, `answer` and `control` messages addressed with `to`, stamping `from`.
A sender may address any receiver, a receiver only the sender. It never looks inside SDP.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import defaultdict, deque
from dataclasses import replace

from fastapi import FastAPI, Header, HTTPException, Request, WebSocket
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect, WebSocketState

from signaling.codes import CloseCode
from signaling.config import SignalingConfig
from signaling.messages import (
    Error,
    Join,
    MessageError,
    PeerInfo,
    PeerJoined,
    PeerLeft,
    Welcome,
    loads,
    parse,
    parse_relayed,
    to_json,
)
from signaling.outbox import Outbox
from signaling.rooms import Peer, Room, RoomError, Rooms
from signaling.tokens import TokenError, check_token, make_token, token_expiry

log = logging.getLogger("facecodec.signaling")

class RoomCreated(BaseModel):
    room: str
    sender_token: str
    receiver_token: str
    expires_at: float
    ws_path: str


class Health(BaseModel):
    status: str
    rooms: int
    connections: int


def create_app(config: SignalingConfig) -> FastAPI:
    state = _State(config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        task = asyncio.create_task(state.sweeper())
        yield
        task.cancel()

    app = FastAPI(
        title="facecodec signaling",
        version="1",
        description="Rooms, tokens and the WebRTC offer/answer relay for facecodec calls.",
        lifespan=lifespan,
    )

    @app.post("/rooms", response_model=RoomCreated, status_code=201,
              responses={401: {}, 429: {}, 503: {}})
    async def create_room(request: Request, authorization: str | None = Header(default=None)):
        """Create a room; returns one sender token and one receiver token (shared by viewers)."""
        # async: it runs on the event loop, as the sweeper and every join do, so room state
        # is only ever changed by one thread and the room cap is exact
        state.authorize(authorization)
        state.rate_limit(_ip(request))
        try:
            room = state.rooms.create(config.token_ttl_s)
        except RoomError as exc:
            raise HTTPException(503, str(exc)) from None
        sign = lambda role: make_token(config.secret, room.id, role, room.expires_at)  # noqa: E731
        log.info("room %s created", room.id)
        return RoomCreated(room=room.id, sender_token=sign("sender"),
                           receiver_token=sign("receiver"), expires_at=room.expires_at,
                           ws_path=f"/rooms/{room.id}/ws")

    @app.get("/healthz", response_model=Health)
    async def healthz():
        return Health(status="ok", rooms=len(state.rooms.rooms), connections=state.open)

    @app.websocket("/rooms/{room_id}/ws")
    async def peer_socket(websocket: WebSocket, room_id: str):
        await state.serve(websocket, room_id)

    app.state.signaling = state
    return app


class _State:
    def __init__(self, config: SignalingConfig):
        self.config = config
        self.rooms = Rooms(config.max_rooms, config.max_receivers, config.room_idle_s)
        self.open = 0
        self.per_ip: dict[str, int] = defaultdict(int)
        self.created: dict[str, deque] = defaultdict(deque)
        self.joins = _JoinLimit(config.joins_per_minute_per_ip,
                                config.joins_per_minute_per_token)
        self.refusals = _QuietLog(log, per_s=2.0, burst=20)

    def authorize(self, header: str | None) -> None:
        key = self.config.api_key
        if key is not None and header != f"Bearer {key}":
            raise HTTPException(401, "POST /rooms needs 'Authorization: Bearer <api key>'")

    def rate_limit(self, ip: str) -> None:
        now, recent = time.monotonic(), self.created[ip]
        if _full(recent, now, self.config.rooms_per_minute_per_ip):
            raise HTTPException(429, "too many rooms created from this address; wait a minute")
        recent.append(now)

    async def sweeper(self) -> None:
        while True:
            await asyncio.sleep(self.config.sweep_every_s)
            try:
                self.sweep()
            except Exception as exc:  # one bad pass must not stop expiry for good
                log.error("sweep failed: %s: %s", type(exc).__name__, exc)

    def sweep(self) -> None:
        for rid in self.rooms.sweep():
            log.info("room %s expired", rid)
        _drop_empty(self.created, time.monotonic(), 60.0)
        self.joins.sweep()

    async def serve(self, ws: WebSocket, room_id: str) -> None:
        ip = _ip(ws)
        if self.open >= self.config.max_connections or (
            self.per_ip[ip] >= self.config.max_connections_per_ip
        ):
            self.refusals.warning("refused a connection from %s: too many connections", ip)
            await ws.accept()  # closed after the handshake, so the client sees the code
            return await _close(ws, CloseCode.TRY_LATER, "too many connections; try later")
        self.open += 1
        self.per_ip[ip] += 1
        try:
            await ws.accept()
            if "token" in ws.query_params:
                return await _close(ws, CloseCode.BAD_REQUEST,
                                    "send the token in the join message, not the URL")
            join = await self._join(ws)
            if join is not None:
                await self._session(ws, room_id, join, ip)
        except Exception as exc:  # one line, never a traceback through the ASGI server
            log.error("peer from %s failed: %s: %s", ip, type(exc).__name__, exc)
            await _close(ws, CloseCode.INTERNAL, "server error")
        finally:
            self.open -= 1
            self.per_ip[ip] -= 1
            if not self.per_ip[ip]:
                del self.per_ip[ip]

    async def _join(self, ws: WebSocket) -> Join | None:
        """The peer's first message, or None (and the socket closed)."""
        try:
            message = await asyncio.wait_for(ws.receive(), self.config.join_timeout_s)
        except TimeoutError:
            await _close(ws, CloseCode.UNAUTHORIZED, "no join message")
            return None
        text = message.get("text")
        if message["type"] == "websocket.disconnect":
            return None
        try:
            join = parse(loads(text)) if text and len(text) <= 4096 else None
        except MessageError:
            join = None
        if not isinstance(join, Join):
            await _close(ws, CloseCode.UNAUTHORIZED,
                         'the first message must be {"type": "join", "token": ...}')
            return None
        return join

    async def _session(self, ws: WebSocket, room_id: str, join: Join, ip: str) -> None:
        token, session = join.token, asyncio.current_task()
        assert session is not None
        stalled: list[str] = []

        def on_stall(why: str) -> None:
            stalled.append(why)
            session.cancel()

        c = self.config
        outbox = Outbox(ws.send_json, c.max_queued_messages, c.send_deadline_s, on_stall)
        try:
            role = check_token(c.secret, token, room_id)
            self.joins.take(ip, token)
            room, peer = self.rooms.join(room_id, role, outbox.send, token_expiry(token),
                                         join.peer)
        except (TokenError, RoomError) as exc:
            await outbox.close()
            self.refusals.warning("refused a peer from %s for room %s: %s", ip, room_id[:32],
                                  exc)
            return await _close(ws, exc.code, str(exc))
        log.info("room %s: %s %s joined from %s", room.id, role, peer.id, ip)
        others = tuple(PeerInfo(p.id, p.role) for p in room.peers.values() if p is not peer)
        try:
            await outbox.send(to_json(Welcome(peer.id, role, room.id, others)))
            await self._broadcast(room, peer, to_json(PeerJoined(peer.id, role)))
            await self._relay_loop(ws, room, peer)
        except WebSocketDisconnect:
            pass
        except asyncio.CancelledError:
            if not stalled:
                raise
            self.refusals.warning("room %s: dropped %s, it stopped reading (%s)", room.id,
                                  peer.id, stalled[0])
        finally:
            await outbox.close()
            if self.rooms.leave(room, peer):
                log.info("room %s: %s left", room.id, peer.id)
                await self._broadcast(room, peer, to_json(PeerLeft(peer.id)))
        if stalled:
            await _close(ws, CloseCode.TOO_SLOW, "not reading")

    async def _relay_loop(self, ws: WebSocket, room: Room, peer: Peer) -> None:
        bucket = _Bucket(self.config.max_messages_per_s, 2 * self.config.max_messages_per_s)
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                return await _close(ws, CloseCode.UNSUPPORTED, "send JSON text messages")
            if len(text) > self.config.max_message_bytes:
                return await _close(ws, CloseCode.TOO_BIG, "message too big")
            if not bucket.take():
                return await _close(ws, CloseCode.POLICY, "too many messages")
            error = await self._relay(room, peer, text)
            if error:
                await peer.send(to_json(Error(error)))

    async def _relay(self, room: Room, peer: Peer, text: str) -> str | None:
        try:
            data = loads(text)
        except MessageError as exc:
            return str(exc)
        try:
            msg = parse_relayed(data if isinstance(data, dict) else {})
        except MessageError as exc:
            return str(exc)
        target = room.peers.get(msg.to)
        if target is None or target is peer:
            return "'to' must name another peer in the room"
        if "sender" not in (peer.role, target.role):
            return "receivers may only message the sender"
        room.last_active = time.time()
        await target.send(to_json(replace(msg, from_peer=peer.id)))  # queued, never waits
        return None

    async def _broadcast(self, room: Room, source: Peer, data: dict) -> None:
        for other in list(room.peers.values()):
            if other is not source:
                await other.send(data)


class _JoinLimit:
    """Joins per address and per token in the last minute: a peer that joins and leaves in a
    loop would make the sender build a peer connection each time."""

    def __init__(self, per_ip: int, per_token: int):
        self.limits = {"address": per_ip, "token": per_token}
        self.seen: dict[str, dict[str, deque]] = {k: defaultdict(deque) for k in self.limits}

    def take(self, ip: str, token: str) -> None:
        now = time.monotonic()
        keys = {"address": ip, "token": hashlib.sha256(token.encode()).hexdigest()}
        for kind, key in keys.items():
            if _full(self.seen[kind][key], now, self.limits[kind]):
                raise RoomError(f"too many joins with this {kind}; wait a minute",
                                CloseCode.TOO_MANY_JOINS)
        for kind, key in keys.items():
            self.seen[kind][key].append(now)

    def sweep(self) -> None:
        now = time.monotonic()
        for seen in self.seen.values():
            _drop_empty(seen, now, 60.0)


def _full(recent: deque, now: float, limit: int, span: float = 60.0) -> bool:
    """Whether a sliding window of event times already holds `limit` events of the last
    `span` seconds (older ones are dropped from it first)."""
    while recent and now - recent[0] > span:
        recent.popleft()
    return len(recent) >= limit


def _drop_empty(windows: dict[str, deque], now: float, span: float) -> None:
    """Forget keys whose sliding window holds nothing younger than `span` seconds."""
    for key in [k for k, q in windows.items() if not q or now - q[-1] > span]:
        del windows[key]


class _QuietLog:
    """Warnings at most `per_s` a second on average (bursts of `burst`); what is left out is
    counted and said with the next line let through, so a flood cannot fill the log."""

    def __init__(self, logger: logging.Logger, per_s: float, burst: int):
        self.logger, self.bucket, self.dropped = logger, _Bucket(per_s, burst), 0

    def warning(self, message: str, *args) -> None:
        if not self.bucket.take():
            self.dropped += 1
            return
        if self.dropped:
            self.logger.warning("(%d refusals not logged)", self.dropped)
            self.dropped = 0
        self.logger.warning(message, *args)


class _Bucket:
    """Token bucket: `rate` messages a second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst, self.level, self.t = rate, burst, burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.level = min(self.burst, self.level + (now - self.t) * self.rate)
        self.t = now
        if self.level < 1:
            return False
        self.level -= 1
        return True


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    """Close with `code` unless the socket is already gone (its send is bounded: a peer that
    stopped reading cannot hold the close up)."""
    if ws.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(code=code, reason=reason), 2.0)


def _ip(conn) -> str:
    return conn.client.host if conn.client else "?"
