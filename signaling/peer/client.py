"""A peer's side of the signaling protocol: create a room over HTTP, join it over WebSocket.

Used by the sender and the receiver; like the server it knows nothing of faces or SDP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import ssl
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit, urlunsplit

import websockets

from signaling.codes import FINAL
from signaling.messages import (
    Join,
    Message,
    MessageError,
    UnknownMessageError,
    Welcome,
    parse,
    to_json,
)

MAX_MESSAGE = 64 * 1024


class SignalingError(Exception):
    """The signaling server refused us or went away; the message says which and why.
    `code` is the server's WebSocket close code, when it closed the connection."""

    def __init__(self, why: str, code: int | None = None):
        super().__init__(why)
        self.code = code


FINAL_CODES = tuple(int(c) for c in FINAL)  # refusals that no retry will change


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Certificates checked against the system's CAs, or only against `ca_file` (a private
    CA, or a self-signed server certificate)."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except FileNotFoundError:
        raise SignalingError(f"--ca-file {ca_file}: no such file") from None
    except ssl.SSLError as exc:
        raise SignalingError(f"--ca-file {ca_file}: not a PEM certificate ({exc.reason})") from None


def http_url(base_url: str) -> str:
    """The server's HTTP(S) base from any of http://, https://, ws:// or wss://."""
    parts = urlsplit(base_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def create_room(base_url: str, api_key: str | None = None, timeout: float = 10.0,
                ca_file: str | None = None) -> dict:
    """POST /rooms; returns the server's JSON (room, sender_token, receiver_token, ...)."""
    base = http_url(base_url)
    req = urllib.request.Request(f"{base}/rooms", method="POST", data=b"")
    if api_key:
        req.add_header("Authorization", f"Bearer {api_key}")
    context = tls_context(ca_file) if base.startswith("https:") else None
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            return json.loads(resp.read(MAX_MESSAGE))
    except urllib.error.HTTPError as exc:
        detail = exc.read(2048).decode(errors="replace")
        raise SignalingError(f"{base_url}: POST /rooms failed ({exc.code}): {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SignalingError(f"cannot reach the signaling server at {base_url}: {exc}"
                             f"{_tls_hint(exc)}") from None


def ws_url(base_url: str, room: str) -> str:
    """The room's WebSocket URL; the token goes in the first message, never in here."""
    parts = urlsplit(http_url(base_url))
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = f"{parts.path.rstrip('/')}/rooms/{quote(room, safe='')}/ws"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


class SignalingClient:
    """One WebSocket to the server, speaking typed messages (`signaling.messages`).
    `welcome` holds our peer id and who was already there."""

    def __init__(self, base_url: str, room: str, token: str, ca_file: str | None = None):
        self.url = ws_url(base_url, room)
        self.tls = tls_context(ca_file) if self.url.startswith("wss:") else None
        self.base_url, self.room, self._token = base_url, room, token
        self.peer_id = secrets.token_urlsafe(6)  # ours across reconnects
        self.ws: websockets.ClientConnection | None = None
        self.welcome: Welcome | None = None

    async def connect(self, timeout: float = 10.0) -> Welcome:
        try:
            self.ws = await asyncio.wait_for(
                websockets.connect(self.url, max_size=MAX_MESSAGE, open_timeout=timeout,
                                   ssl=self.tls), timeout
            )
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            why = f"cannot join room {self.room} at {self.base_url}: {exc}{_tls_hint(exc)}"
            raise SignalingError(why) from None
        await self.send(Join(self._token, self.peer_id))
        first = await self.recv()
        if not isinstance(first, Welcome):
            raise SignalingError(f"unexpected first message from the server: {first}")
        self.welcome = first
        return first

    async def send(self, message: Message) -> None:
        if self.ws is None:
            raise SignalingError("not connected to the signaling server")
        try:
            await self.ws.send(json.dumps(to_json(message)))
        except websockets.ConnectionClosed as exc:
            raise SignalingError(_closed(exc), _code(exc)) from None

    async def recv(self) -> Message:
        """The next message; one of a type this client does not know is skipped (a newer
        server may add some), a malformed one raises."""
        while True:
            message = await self._recv_one()
            if message is not None:
                return message

    async def _recv_one(self) -> Message | None:
        if self.ws is None:
            raise SignalingError("not connected to the signaling server")
        try:
            text = await self.ws.recv()
        except websockets.ConnectionClosed as exc:
            raise SignalingError(_closed(exc), _code(exc)) from None
        try:
            data = json.loads(text)
        except ValueError:
            raise SignalingError("the server sent a message that is not JSON") from None
        try:
            return parse(data)
        except UnknownMessageError:
            return None
        except MessageError as exc:
            raise SignalingError(f"the server sent a bad message: {exc}") from None

    async def reconnect(self, say: Callable[[str], None] = print,
                        max_delay: float = 10.0) -> Welcome:
        """After a dropped connection (a server restart, a network change): join again,
        waiting 0.5 s, then twice as long each time up to `max_delay` (±20 %), until the
        server takes us back; a final refusal (bad or expired token, no such room) raises."""
        await self.close()
        delay = 0.5
        while True:
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            try:
                return await self.connect()
            except SignalingError as exc:
                if exc.code in FINAL_CODES:
                    raise
                say(f"signaling: {exc}; trying again in {min(delay * 2, max_delay):.0f} s")
                delay = min(delay * 2, max_delay)

    async def stay_joined(self, follow: Callable[[Welcome], Awaitable[None]],
                          say: Callable[[str], None] = print) -> None:
        """Run `follow(welcome)` for as long as we are in the room: when the connection
        drops, say so, join again (`reconnect`) and follow the new welcome; a final refusal
        raises. The peer's data channels do not pass through here and carry on meanwhile."""
        if self.welcome is None:
            raise SignalingError("not connected to the signaling server")
        welcome = self.welcome
        while True:
            try:
                await follow(welcome)
            except SignalingError as exc:
                if exc.code in FINAL_CODES:
                    raise
                say(f"signaling lost ({exc}); the call goes on, reconnecting")
                welcome = await self.reconnect(say)
                say("signaling reconnected")

    async def close(self) -> None:
        if self.ws is not None:
            ws, self.ws = self.ws, None
            with contextlib.suppress(Exception):
                await ws.close()


def _tls_hint(exc: BaseException) -> str:
    text = f"{exc} {getattr(exc, 'reason', '')}"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return " (a private or self-signed certificate? pass its CA with --ca-file)"
    return ""


def _code(exc) -> int | None:
    return exc.rcvd.code if exc.rcvd is not None else None


def _closed(exc) -> str:
    rcvd = exc.rcvd
    if rcvd is None:
        return "the signaling connection dropped"
    return f"the signaling server closed the connection ({rcvd.code}: {rcvd.reason or 'no reason'})"
