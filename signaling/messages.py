"""The signaling protocol's messages, typed, and their one JSON form.

Peer → server, first on every connection: `Join` (the room token: never in the URL, where
proxies and access logs would keep it). Server → peer: `Welcome` (your id, role, room, who
is already there), `PeerJoined`, `PeerLeft`, `Error`. Peer → peer, relayed by the server
with `from` stamped: `Offer`, `Answer` (SDP, never looked into here) and `Control`
(free-form, for later use). `parse` turns one decoded JSON object into a message or raises
`MessageError` saying what is wrong; `to_json` is its inverse. Unknown keys are kept in
`extra` on relayed messages so the server relays what peers send unchanged.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

ROLES = ("sender", "receiver")


class MessageError(ValueError):
    """A JSON object that is not a valid signaling message; the text says why."""


class UnknownMessageError(MessageError):
    """A well-formed object whose type this version does not know."""


@dataclass(frozen=True)
class Join:
    token: str
    peer: str | None = None  # the client's own id, kept across its reconnects
    type = "join"

    def __repr__(self) -> str:  # a token printed is a seat given away
        return f"Join(token=<hidden>, peer={self.peer!r})"


@dataclass(frozen=True)
class PeerInfo:
    peer: str
    role: str


@dataclass(frozen=True)
class Welcome:
    peer: str
    role: str
    room: str
    peers: tuple[PeerInfo, ...] = ()
    type = "welcome"

    def has(self, role: str) -> bool:
        return any(p.role == role for p in self.peers)


@dataclass(frozen=True)
class PeerJoined:
    peer: str
    role: str
    type = "peer-joined"


@dataclass(frozen=True)
class PeerLeft:
    peer: str
    type = "peer-left"


@dataclass(frozen=True)
class Error:
    message: str
    type = "error"


@dataclass(frozen=True)
class Relayed:
    """A message one peer addresses to another (`to`); `from_peer` is stamped by the server."""

    to: str
    from_peer: str | None = None  # the JSON's "from", stamped by the server
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Offer(Relayed):
    sdp: str = ""
    type = "offer"


@dataclass(frozen=True)
class Answer(Relayed):
    sdp: str = ""
    type = "answer"


@dataclass(frozen=True)
class Control(Relayed):
    type = "control"


Message = Join | Welcome | PeerJoined | PeerLeft | Error | Offer | Answer | Control
RELAYED = ("offer", "answer", "control")


def to_json(msg: Message) -> dict[str, Any]:
    if isinstance(msg, Join):
        return {"type": msg.type, "token": msg.token} | (
            {"peer": msg.peer} if msg.peer is not None else {})
    if isinstance(msg, Welcome):
        peers = [{"peer": p.peer, "role": p.role} for p in msg.peers]
        return {"type": msg.type, "peer": msg.peer, "role": msg.role, "room": msg.room,
                "peers": peers}  # fmt: skip
    if isinstance(msg, PeerJoined):
        return {"type": msg.type, "peer": msg.peer, "role": msg.role}
    if isinstance(msg, PeerLeft):
        return {"type": msg.type, "peer": msg.peer}
    if isinstance(msg, Error):
        return {"type": msg.type, "message": msg.message}
    out: dict[str, Any] = {**msg.extra, "type": msg.type, "to": msg.to}
    if isinstance(msg, Offer | Answer):
        out["sdp"] = msg.sdp
    if msg.from_peer is not None:
        out["from"] = msg.from_peer
    return out


MAX_DEPTH = 32  # no message of ours nests deeper than 3
MAX_BRACKETS = 256  # arrays and objects in one message: an SDP travels as one string
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # a JSON string, escapes included
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def loads(text: str) -> Any:
    """JSON text as Python values; anything that is not, that holds more than MAX_BRACKETS
    arrays and objects, or nests deeper than MAX_DEPTH, raises MessageError. The structure is
    checked first, at C speed: a parser's recursion is no limit to rely on (Python 3.13 reads
    5,000 levels)."""
    if text.count("[") + text.count("{") > MAX_DEPTH:
        bare = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))  # brackets outside strings
        if len(bare) > 2 * MAX_BRACKETS:
            raise MessageError(f"JSON with over {MAX_BRACKETS} arrays and objects")
        if max(itertools.accumulate(_STEP[ch] for ch in bare), default=0) > MAX_DEPTH:
            raise MessageError(f"JSON nested too deep (over {MAX_DEPTH} levels)")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise MessageError("not JSON") from None


def parse(data: Any) -> Message:
    if not isinstance(data, dict):
        raise MessageError("not a JSON object")
    kind = data.get("type")
    if kind in RELAYED:
        return parse_relayed(data)
    try:
        if kind == "join":
            peer = data.get("peer")
            return Join(_str(data, "token"), peer if isinstance(peer, str) else None)
        if kind == "welcome":
            peers = tuple(PeerInfo(_str(p, "peer"), _role(p)) for p in _list(data, "peers"))
            return Welcome(_str(data, "peer"), _role(data), _str(data, "room"), peers)
        if kind == "peer-joined":
            return PeerJoined(_str(data, "peer"), _role(data))
        if kind == "peer-left":
            return PeerLeft(_str(data, "peer"))
        if kind == "error":
            return Error(_str(data, "message"))
    except (TypeError, AttributeError):
        raise MessageError(f"a malformed {kind!r} message") from None
    raise UnknownMessageError(f"unknown message type {kind!r}")


def parse_relayed(data: dict[str, Any]) -> Offer | Answer | Control:
    """An offer, answer or control message as a peer sends it (`to` required)."""
    kind = data.get("type")
    if kind not in RELAYED:
        raise MessageError(f"type must be one of {sorted(RELAYED)}")
    to, origin = data.get("to"), data.get("from")
    if not isinstance(to, str):
        raise MessageError("'to' must name another peer in the room")
    from_peer = origin if isinstance(origin, str) else None
    if kind == "control":
        extra = {k: v for k, v in data.items() if k not in ("type", "to", "from")}
        return Control(to, from_peer, extra)
    extra = {k: v for k, v in data.items() if k not in ("type", "to", "from", "sdp")}
    sdp = data.get("sdp", "")
    sdp = sdp if isinstance(sdp, str) else str(sdp)
    return (Offer if kind == "offer" else Answer)(to, from_peer, extra, sdp)


def _str(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise MessageError(f"{data.get('type')!r}: {key!r} must be a string")
    return value


def _role(data: dict) -> str:
    role = _str(data, "role")
    if role not in ROLES:
        raise MessageError(f"{data.get('type')!r}: role must be one of {ROLES}")
    return role


def _list(data: dict, key: str) -> list:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise MessageError(f"{data.get('type')!r}: {key!r} must be a list of objects")
    return value
