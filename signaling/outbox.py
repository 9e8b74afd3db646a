"""A peer's outgoing messages, written by one task of their own.

The relay never awaits another peer's socket: a message for a peer goes into its outbox, a
bounded queue its own task drains. A peer that stops reading fills its socket's buffers,
then its outbox; past `limit` waiting messages, or when one write takes longer than
`deadline_s`, `on_stall` is told, once, and the outbox stops. So a stalled peer never holds
up the one relaying to it, and the server drops it (close 4408) instead of keeping its seat.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class Outbox:
    def __init__(self, write: Callable[[dict], Awaitable[None]], limit: int, deadline_s: float,
                 on_stall: Callable[[str], None]):
        self.write, self.deadline_s, self.on_stall = write, deadline_s, on_stall
        self.queue: asyncio.Queue[dict] = asyncio.Queue(limit)
        self.stalled = False
        self.task = asyncio.create_task(self._run())

    async def send(self, data: dict) -> None:
        """Queue one message (never waits)."""
        if self.stalled:
            return
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self._stall(f"{self.queue.maxsize} messages waiting")

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task

    async def _run(self) -> None:
        while True:
            data = await self.queue.get()
            try:
                await asyncio.wait_for(self.write(data), self.deadline_s)
            except TimeoutError:
                return self._stall(f"a send took over {self.deadline_s:g} s")
            except Exception:  # the connection is gone; its own loop will notice
                return

    def _stall(self, why: str) -> None:
        if not self.stalled:
            self.stalled = True
            self.on_stall(why)
