"""The receiver's running figures: totals, a one-second window, and recent latencies."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from codec.wire import TRANSPORT_OVERHEAD


@dataclass
class ReceiverStats:
    messages: int = 0  # motion messages received
    frames_received: int = 0  # Motion packets received (a bundle holds several)
    frames_rendered: int = 0
    stale: int = 0  # Motion packets older than the last rendered frame, dropped
    bad_packets: int = 0
    before_reference: int = 0  # Motion that came before its Hello or Reference, skipped
    payload_bytes: int = 0
    wire_bytes: int = 0
    reference_bytes: int = 0
    latency_ms: deque = field(default_factory=lambda: deque(maxlen=2000))
    render_ms: deque = field(default_factory=lambda: deque(maxlen=2000))
    last_render: float | None = None
    # When each step of joining a call first happened (monotonic s): the offer, ICE, DTLS,
    # the data channels, the Hello, the first Reference, the first frame. Where the seconds
    # to a first picture go on a bad link.
    joined: dict[str, float] = field(default_factory=dict)
    _window: deque = field(default_factory=lambda: deque(maxlen=600))  # (t, packets, payload, wire)

    def message(self, payload: int, packets: int) -> None:
        self.messages += 1
        self.frames_received += packets
        self.payload_bytes += payload
        self.wire_bytes += payload + TRANSPORT_OVERHEAD
        self._window.append((time.monotonic(), packets, payload, payload + TRANSPORT_OVERHEAD))

    @property
    def first_render(self) -> float | None:
        """When the first frame was rendered (monotonic s), None before."""
        return self.joined.get("first frame")

    def mark(self, step: str) -> None:
        """Note the first time `step` of joining happened; later ones change nothing."""
        self.joined.setdefault(step, time.monotonic())

    def join_steps_s(self) -> dict[str, float]:
        """Each step of joining, in seconds after the offer arrived (in the order they came)."""
        start = self.joined.get("offer")
        if start is None:
            return {}
        steps = sorted(self.joined.items(), key=lambda kv: kv[1])
        return {name: round(t - start, 3) for name, t in steps}

    def rendered(self, render_ms: float, latency_ms: float | None) -> None:
        now = time.monotonic()
        self.frames_rendered += 1
        self.mark("first frame")
        self.last_render = now
        self.render_ms.append(render_ms)
        if latency_ms is not None:
            self.latency_ms.append(latency_ms)

    def live(self) -> dict:
        """fps and kbps over the last second, latency median over recent frames."""
        now = time.monotonic()
        recent = [w for w in self._window if now - w[0] <= 1.0]
        return {
            "fps": sum(w[1] for w in recent),  # one Motion packet per frame
            "payload_kbps": round(sum(w[2] for w in recent) * 8 / 1000, 2),
            "wire_kbps": round(sum(w[3] for w in recent) * 8 / 1000, 2),
            "latency_ms_p50": _median(self.latency_ms),
            "frames_rendered": self.frames_rendered,
        }

    def summary(self) -> dict:
        n = max(self.frames_received, 1)
        span = (self.last_render or 0) - (self.first_render or 0)
        return {
            "frames_received": self.frames_received,
            "frames_rendered": self.frames_rendered,
            "stale_dropped": self.stale,
            "bad_packets": self.bad_packets,
            "before_reference": self.before_reference,
            "received_payload_bytes_per_frame": round(self.payload_bytes / n, 2),
            "received_wire_bytes_per_frame": round(self.wire_bytes / n, 2),
            "latency_ms_p50": _median(self.latency_ms),
            "latency_ms_p95": _quantile(self.latency_ms, 0.95),
            "render_ms_p50": _median(self.render_ms),
            "receiver_fps": round((self.frames_rendered - 1) / span, 2) if span > 0 else None,
            "join_steps_s": self.join_steps_s(),
        }


def _median(values) -> float | None:
    return _quantile(values, 0.5)


def _quantile(values, q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(float(s[min(len(s) - 1, int(q * len(s)))]), 2)
