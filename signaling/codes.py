"""Every code the signaling server closes a WebSocket with, in one table.

4000-4999 are left to applications by RFC 6455; ours follow the HTTP status they resemble, so
4401 reads as 401. Clients treat 4400, 4401, 4403 and 4404 as final (no retry changes them)
and retry the rest after a pause.
"""

from __future__ import annotations

import enum


class CloseCode(enum.IntEnum):
    UNSUPPORTED = 1003  # a binary message: peers speak JSON text
    POLICY = 1008  # more messages a second than allowed
    TOO_BIG = 1009  # a message over max_message_bytes
    INTERNAL = 1011  # the server failed on this peer's input (one line in its log)
    TRY_LATER = 1013  # too many connections, in all or from this address
    BAD_REQUEST = 4400  # a token in the URL (access logs keep URLs)
    UNAUTHORIZED = 4401  # no join in time, a malformed, forged or expired token
    FORBIDDEN = 4403  # a token for another room
    NOT_FOUND = 4404  # no such room (expired or never created)
    TOO_SLOW = 4408  # the peer stopped reading: its queue filled or a send timed out
    CONFLICT = 4409  # the seat is taken or the room is full
    TOO_MANY_JOINS = 4429  # joins from this address or with this token come too often
    UNAVAILABLE = 4503  # too many rooms on this server


FINAL = (CloseCode.BAD_REQUEST, CloseCode.UNAUTHORIZED, CloseCode.FORBIDDEN,
         CloseCode.NOT_FOUND)  # fmt: skip
