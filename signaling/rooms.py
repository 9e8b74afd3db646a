"""Rooms and their peers, in memory: one sender seat and a few receiver seats per room.

Knows nothing of HTTP or WebSockets: a peer is an id, a role and an async `send` callable,
so the seat rules and expiry are testable without a server.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from signaling.codes import CloseCode

Send = Callable[[dict], Awaitable[None]]
PEER_ID = re.compile(r"[A-Za-z0-9_-]{4,32}")


def _new_room_id() -> str:
    """72 random bits, URL-safe; never with a leading '-', which a command line would take
    for an option (`--room -Xy…`: "expected one argument"; its tokens start with it too)."""
    while (room_id := secrets.token_urlsafe(9)).startswith("-"):
        pass
    return room_id


class RoomError(Exception):
    """A peer cannot be seated; `code` is the WebSocket close code to send."""

    def __init__(self, why: str, code: int):
        super().__init__(why)
        self.code = code


@dataclass
class Peer:
    id: str
    role: str
    send: Send


@dataclass
class Room:
    id: str
    expires_at: float
    last_active: float
    peers: dict[str, Peer] = field(default_factory=dict)

    def sender(self) -> Peer | None:
        return next((p for p in self.peers.values() if p.role == "sender"), None)

    def count(self, role: str) -> int:
        return sum(p.role == role for p in self.peers.values())


class Rooms:
    def __init__(self, max_rooms: int, max_receivers: int, idle_s: float):
        self.max_rooms, self.max_receivers, self.idle_s = max_rooms, max_receivers, idle_s
        self.rooms: dict[str, Room] = {}
        self._ids = itertools.count(1)

    def create(self, ttl_s: float, now: float | None = None) -> Room:
        now = time.time() if now is None else now
        self.sweep(now)
        if len(self.rooms) >= self.max_rooms:
            raise RoomError("too many rooms; try again later", CloseCode.UNAVAILABLE)
        room = Room(_new_room_id(), now + ttl_s, now)
        self.rooms[room.id] = room
        return room

    def join(self, room_id: str, role: str, send: Send, expires_at: float | None = None,
             peer_id: str | None = None) -> tuple[Room, Peer]:
        """Seat a peer. `expires_at` (from a valid token) brings back a room this server
        forgot, e.g. across a restart; `peer_id` (the client's own, stable across its
        reconnects) supersedes a stale seat of the same id and role."""
        now = time.time()
        room = self.rooms.get(room_id)
        if room is None and expires_at is not None and expires_at > now:
            if len(self.rooms) >= self.max_rooms:
                raise RoomError("too many rooms; try again later", CloseCode.UNAVAILABLE)
            room = self.rooms[room_id] = Room(room_id, expires_at, now)
        if room is None or room.expires_at < now:
            raise RoomError("no such room (expired or never created)", CloseCode.NOT_FOUND)
        stale = room.peers.get(peer_id) if peer_id else None
        if stale is not None and stale.role == role:
            del room.peers[stale.id]
        elif stale is not None:
            raise RoomError("that peer id is taken in this room", CloseCode.CONFLICT)
        if role == "sender" and room.sender() is not None:
            raise RoomError("the room already has a sender", CloseCode.CONFLICT)
        if role == "receiver" and room.count("receiver") >= self.max_receivers:
            raise RoomError(f"the room is full ({self.max_receivers} receivers)",
                            CloseCode.CONFLICT)
        fresh = f"{role[0]}{next(self._ids)}"
        peer = Peer(peer_id if peer_id and PEER_ID.fullmatch(peer_id) else fresh, role, send)
        room.peers[peer.id] = peer
        room.last_active = time.time()
        return room, peer

    def leave(self, room: Room, peer: Peer) -> bool:
        """Unseat `peer`; False when its seat was already taken over by a reconnect."""
        room.last_active = time.time()
        if room.peers.get(peer.id) is not peer:
            return False
        del room.peers[peer.id]
        return True

    def sweep(self, now: float | None = None) -> list[str]:
        """Drop rooms past their expiry, and empty rooms idle longer than `idle_s`."""
        now = time.time() if now is None else now
        dead = [
            r.id for r in self.rooms.values()
            if r.expires_at < now or (not r.peers and now - r.last_active > self.idle_s)
        ]  # fmt: skip
        for rid in dead:
            del self.rooms[rid]
        return dead
