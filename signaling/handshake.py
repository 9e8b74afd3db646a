"""Connections counted and timed from their first byte, before the app sees them.

The app counts WebSockets once uvicorn hands them over; until then a connection that sends
nothing, or a request one byte a second (slowloris), would hold a file descriptor for ever
and count against nothing. `HandshakeGuard` counts every connection whose request is not
complete yet, per address and in all, refuses (closes) past the limits, and closes one
whose request is not complete within `deadline_s`. A connection leaves the guard when its
request is complete: a WebSocket then counts in the app, an HTTP request ends quickly and
uvicorn's keep-alive timeout closes it when idle.

It is uvicorn's h11 protocol with four methods around its own, given to uvicorn as
`http=` (see `server_options`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("facecodec.signaling")


class HandshakeGuard:
    def __init__(self, per_ip: int, total: int, deadline_s: float):
        self.per_ip, self.total, self.deadline_s = per_ip, total, deadline_s
        self.pending: dict[str, int] = defaultdict(int)
        self.refused = self.expired = 0

    @property
    def count(self) -> int:
        return sum(self.pending.values())

    def admit(self, ip: str) -> bool:
        if self.pending[ip] >= self.per_ip or self.count >= self.total:
            self.refused += 1
            if not self.pending[ip]:
                del self.pending[ip]
            return False
        self.pending[ip] += 1
        return True

    def release(self, ip: str) -> None:
        self.pending[ip] -= 1
        if self.pending[ip] <= 0:
            del self.pending[ip]

    def protocol(self) -> type[H11Protocol]:
        """An h11 protocol class that reports to this guard."""
        guard = self

        class Guarded(H11Protocol):
            _ip: str | None = None
            _timer: Any = None

            def connection_made(self, transport) -> None:
                super().connection_made(transport)
                ip = self.client[0] if self.client else "?"
                if not guard.admit(ip):
                    transport.close()
                    return
                self._ip = ip
                self._timer = self.loop.call_later(guard.deadline_s, self._too_slow)

            def handle_events(self) -> None:
                super().handle_events()
                if self.scope is not None:  # the request is complete: the app has it
                    self._done()

            def connection_lost(self, exc: Exception | None) -> None:
                self._done()
                super().connection_lost(exc)

            def _too_slow(self) -> None:
                guard.expired += 1
                self._done()
                self.transport.close()

            def _done(self) -> None:
                if self._timer is not None:
                    self._timer.cancel()
                if self._ip is not None:
                    guard.release(self._ip)
                self._ip = self._timer = None

        return Guarded


def server_options(config) -> dict:
    """uvicorn options for a signaling server with this `SignalingConfig`."""
    guard = HandshakeGuard(config.max_connections_per_ip, config.max_connections,
                           config.handshake_timeout_s)  # fmt: skip
    # On SIGTERM uvicorn waits for every connection's task to end; a peer whose socket
    # does not answer the close must not hold the server up: after 5 s its task is cancelled.
    return {"http": guard.protocol(), "ws_max_size": config.max_message_bytes,
            "timeout_keep_alive": 5, "timeout_graceful_shutdown": 5}  # fmt: skip
