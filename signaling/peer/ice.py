"""ICE server options as plain dicts, so peers pass `--ice-server` flags straight to WebRTC."""

from __future__ import annotations

from urllib.parse import unquote


class IceError(ConnectionError):
    """The peers found no network path to each other."""


ICE_FAILED = ("ICE could not connect: no network path between the peers (a NAT or firewall "
              "in the way?); pass a STUN server with --ice-server stun:HOST:PORT, or a relay "
              "with --ice-server turn:USER:PASS@HOST:PORT")


def parse_ice_server(text: str) -> dict:
    """`stun:host:port` or `turn:user:password@host:port[?transport=udp]` -> RTCIceServer kwargs."""
    scheme, sep, rest = text.partition(":")
    if not sep or scheme not in ("stun", "stuns", "turn", "turns") or not rest:
        want = "stun:HOST:PORT or turn:USER:PASS@HOST:PORT"
        raise ValueError(f"ICE server {text!r}: expected {want}")
    if "@" not in rest:
        return {"urls": text}
    cred, _, host = rest.rpartition("@")
    user, _, password = cred.partition(":")
    return {"urls": f"{scheme}:{host}", "username": unquote(user), "credential": unquote(password)}
