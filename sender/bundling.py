"""How many frames go in one data-channel message, from what the links report.

One Motion packet per message keeps latency lowest, but each message costs ~85 bytes of
UDP, DTLS and SCTP headers around ~35 bytes of payload. When a path slows (its SCTP
round-trip time climbs: a queue is building, e.g. a capped uplink losing packets), bundling
several frames per message cuts the packets four-fold and the wire bytes by about half,
for at most a few frames of added delay. The RTT must stay high for a moment before the
sender bundles (random loss makes it spike, a standing queue keeps it up) and low for a
while before it goes back, so it does not flap. While bundling, new Reference pictures are
coded smaller too (`picture_quality`): a head-turn refresh queues behind the motion on such a
path, and a smaller picture is on screen sooner.
"""

from __future__ import annotations

from sender.config import SenderConfig


class Bundling:
    def __init__(self, config: SenderConfig):
        self.config = config
        self.size = config.frames_per_message
        self._fast_since: float | None = None
        self._slow_since: float | None = None

    @property
    def slow(self) -> bool:
        return self.size > self.config.frames_per_message

    def picture_quality(self, base: int) -> int:
        """Quality for new Reference pictures: `base`, lowered while the path is slow."""
        lowered = self.config.slow_picture_quality
        return min(base, lowered) if self.slow and lowered is not None else base

    def update(self, rtts_ms: list[float | None], now: float) -> int | None:
        """Take the links' latest RTTs (ms); returns the new frames-per-message when it
        changes, else None."""
        c = self.config
        worst = max((r for r in rtts_ms if r is not None), default=None)
        if c.slow_rtt_ms is None or worst is None:
            return None
        slow = max(c.slow_frames_per_message, c.frames_per_message)
        if self.size < slow:
            if worst <= c.slow_rtt_ms:
                self._slow_since = None  # a spike (a retransmission), not a queue
            elif self._slow_since is None:
                self._slow_since = now
            elif now - self._slow_since >= c.slow_for_s:
                self.size, self._slow_since, self._fast_since = slow, None, None
                return self.size
            return None
        if self.size == slow and slow > c.frames_per_message:
            if worst >= c.fast_rtt_ms:
                self._fast_since = None
            elif self._fast_since is None:
                self._fast_since = now
            elif now - self._fast_since >= c.settle_s:
                self.size, self._fast_since = c.frames_per_message, None
                return self.size
        return None
