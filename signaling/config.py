"""Signaling server settings: one frozen dataclass, every limit with a default that works."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SignalingConfig:
    secret: bytes  # HMAC key for room tokens; a restart with a new one voids old tokens
    token_ttl_s: float = 3600.0  # a token (and its room) lives this long
    room_idle_s: float = 300.0  # a room with nobody in it is dropped after this long
    max_rooms: int = 1000
    max_receivers: int = 4  # per room; there is always exactly one sender seat
    max_message_bytes: int = 64 * 1024  # an SDP offer with all candidates is ~2-6 KiB
    max_messages_per_s: float = 20.0  # per connection, averaged over a burst of 40
    max_connections: int = 256  # open WebSockets, all rooms together
    max_connections_per_ip: int = 32
    rooms_per_minute_per_ip: int = 60
    api_key: str | None = None  # when set, POST /rooms needs "Authorization: Bearer <key>"
    sweep_every_s: float = 5.0
    join_timeout_s: float = 10.0  # a peer must send its join message (the token) this soon
    handshake_timeout_s: float = 10.0  # ...and its HTTP request (the upgrade) this soon
    joins_per_minute_per_ip: int = 60
    joins_per_minute_per_token: int = 20  # a receiver that churns makes the sender build peers
    # A peer's outbox: messages waiting for it, and how long one write may take, before the
    # peer is taken for one that stopped reading and dropped (close 4408, seat freed).
    max_queued_messages: int = 64
    send_deadline_s: float = 5.0
