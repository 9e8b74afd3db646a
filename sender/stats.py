"""The sender's running figures: totals for the final report, a window for the live line."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

RECENT = 3000  # encode times kept for the percentiles: two minutes at 25 fps


@dataclass
class SenderStats:
    frames: int = 0  # frames captured and encoded
    motion_frames: int = 0  # frames with a face (a Motion packet)
    encode_errors: int = 0  # frames skipped because encoding raised
    bundling_changes: int = 0  # switches of frames per message (sender/bundling.py)
    looks_changes: int = 0  # switches between one and two landmark looks (sender/looks.py)
    dropped: int = 0  # motion messages dropped before leaving: simulated loss, full send buffer
    payload_bytes: int = 0  # motion packet bytes
    wire_bytes: int = 0  # the same with each message's transport overhead (one receiver)
    reference_bytes: int = 0  # base references and bank pictures
    references: int = 0  # base references
    bank_pictures: int = 0
    encode_ms: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT))
    window_start: float = field(default_factory=time.monotonic)
    _window: tuple[int, int, int] = (0, 0, 0)

    def line(self, receivers: int) -> str:
        """fps and kbps since the last call, for the once-a-second status line."""
        now = time.monotonic()
        dt = max(now - self.window_start, 1e-6)
        f0, p0, w0 = self._window
        fps = (self.frames - f0) / dt
        pay = (self.payload_bytes - p0) * 8 / dt / 1000
        wire = (self.wire_bytes - w0) * 8 / dt / 1000
        self.window_start, self._window = now, (self.frames, self.payload_bytes, self.wire_bytes)
        return (f"{fps:5.1f} fps  payload {pay:5.2f} kbps  wire {wire:6.2f} kbps  "
                f"references {self.references}+{self.bank_pictures}  receivers {receivers}")

    def summary(self) -> dict:
        n = max(self.motion_frames, 1)
        ms = sorted(self.encode_ms)
        return {
            "frames_sent": self.motion_frames,
            "frames_captured": self.frames,
            "messages_dropped_at_sender": self.dropped,
            "bundling_changes": self.bundling_changes,
            "landmark_looks_changes": self.looks_changes,
            "encode_errors": self.encode_errors,
            "payload_bytes_per_frame": round(self.payload_bytes / n, 2),
            "wire_bytes_per_frame": round(self.wire_bytes / n, 2),
            "reference_bytes": self.reference_bytes,
            "references": self.references,
            "bank_pictures": self.bank_pictures,
            "encode_ms_p50": round(ms[len(ms) // 2], 2) if ms else None,
        }
