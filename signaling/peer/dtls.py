"""DTLS handshake datagrams sent twice, so one lost packet does not cost a second.

A lost DTLS handshake flight is resent only when OpenSSL's timer fires: 1 s, then 2, 4, …
(pyOpenSSL gives no way to set it). A flight is several datagrams and losing any one loses
the flight, so at 20 % loss on the sender's uplink about half its flights were lost: in
`bench network` the DTLS step took 1.0-7.5 s in four of six runs, and once, in CI, the first
frame came after 32 s (1 + 2 + 4 + 8 + 16). Each handshake datagram is therefore sent a
second time `REPEAT_AFTER_S` later: a flight is lost only when both copies of a datagram
are, and a copy that arrives twice is a retransmission DTLS already expects (RFC 6347
4.2.4: the peer at most resends its last flight). It costs the handshake's few KB once per
call; data after the handshake is sent once.

aiortc sends through its ICE transport's `_send`; the adapter wraps that per transport while
aiortc's `_write_ssl` flushes a handshake flight. `doubling_applies` says whether the private
names it relies on are still there, and the test fails loudly when they are not.
"""

from __future__ import annotations

import asyncio
import contextlib

REPEAT_AFTER_S = 0.02  # apart, so a burst that takes one copy may spare the other
_MARK = "_facecodec_doubling"
_pending: set[asyncio.Future] = set()


def use_doubled_handshake() -> None:
    """Wrap aiortc's DTLS flush (once per process) so handshake datagrams go out twice."""
    from aiortc.rtcdtlstransport import RTCDtlsTransport, State

    original = RTCDtlsTransport._write_ssl
    if getattr(original, _MARK, False) or not doubling_applies():
        return

    async def write_ssl(self) -> None:
        if self._state != State.CONNECTING:
            return await original(self)
        ice = self.transport
        _wrap(ice)
        setattr(ice, _MARK, True)
        try:
            await original(self)
        finally:
            setattr(ice, _MARK, False)

    setattr(write_ssl, _MARK, True)
    write_ssl.__wrapped__ = original  # type: ignore[attr-defined]
    RTCDtlsTransport._write_ssl = write_ssl  # type: ignore[method-assign]


def doubling_applies() -> bool:
    """Whether aiortc still flushes DTLS through `_write_ssl` into its ICE transport's
    `_send`, with the handshake state in `_state`."""
    from aiortc.rtcdtlstransport import RTCDtlsTransport
    from aiortc.rtcicetransport import RTCIceTransport

    flush = getattr(RTCDtlsTransport, "_write_ssl", None)
    code = getattr(getattr(flush, "__wrapped__", flush), "__code__", None)
    return (code is not None and "_send" in code.co_names
            and "_state" in RTCDtlsTransport.__init__.__code__.co_names
            and "_send" in RTCIceTransport.__init__.__code__.co_names)  # fmt: skip


def _wrap(ice) -> None:
    """Give this ICE transport a `_send` that repeats what is sent while it is marked."""
    if getattr(ice, "_facecodec_send", None) is not None:
        return
    send = ice._send

    async def doubled(data: bytes) -> None:
        await send(data)
        if getattr(ice, _MARK, False):
            asyncio.get_running_loop().call_later(REPEAT_AFTER_S, _again, send, data)

    ice._facecodec_send = send
    ice._send = doubled


def _again(send, data: bytes) -> None:
    async def once() -> None:
        with contextlib.suppress(Exception):  # the transport closed meanwhile: nothing to do
            await send(data)

    task = asyncio.ensure_future(once())
    _pending.add(task)  # held until done, as asyncio asks
    task.add_done_callback(_pending.discard)
