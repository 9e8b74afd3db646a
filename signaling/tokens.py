"""Room tokens: `room.role.expiry.signature`, HMAC-SHA256 over the first three parts.

Stateless, so a token can be checked without a lookup, and it names its room and role so a
receiver token can never take the sender's seat or enter another room.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

from signaling.codes import CloseCode

ROLES = ("sender", "receiver")
# What make_token writes: URL-safe room ids and base64, a role, digits, dots. Anything else
# (non-ASCII, a lone surrogate) is refused before it reaches the HMAC or an encoder.
TOKEN = re.compile(r"[A-Za-z0-9_.-]{1,256}")


class TokenError(Exception):
    """A token that admits nobody; `code` is the WebSocket close code to send."""

    def __init__(self, why: str, code: int = CloseCode.UNAUTHORIZED):
        super().__init__(why)
        self.code = code


def make_token(secret: bytes, room: str, role: str, expires_at: float) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    body = f"{room}.{role}.{int(expires_at)}"
    return f"{body}.{_sign(secret, body)}"


def check_token(secret: bytes, token: str, room: str, now: float | None = None) -> str:
    """The role a token admits to `room`; raises `TokenError` saying why not."""
    ok = isinstance(token, str) and TOKEN.fullmatch(token) is not None
    parts = token.split(".") if ok else []
    if len(parts) != 4:
        raise TokenError("malformed token")
    t_room, role, expiry, sig = parts
    if not hmac.compare_digest(sig, _sign(secret, f"{t_room}.{role}.{expiry}")):
        raise TokenError("bad token signature")
    if role not in ROLES or not expiry.isdigit():
        raise TokenError("malformed token")
    if t_room != room:
        raise TokenError("token is for another room", CloseCode.FORBIDDEN)
    if int(expiry) < (time.time() if now is None else now):
        raise TokenError("token expired")
    return role


def token_expiry(token: str) -> float:
    """The expiry stamped in a token (call after `check_token` accepted it)."""
    return float(token.split(".")[2])


def _sign(secret: bytes, body: str) -> str:
    mac = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")
