"""One landmark look or two, from how long encoding takes: a busy laptop keeps its call live.

Two looks per crop (tracked and fresh, averaged) fit the face best, but the second is a whole
face-mesh run more. When other programs take the cores, encoding a frame takes longer than
the frame period allows and the call falls behind: frames wait, then are dropped. So while
the median encode time over the last frames stays above `busy_share` of the period, the
sender skips the second look, and searches the background's follow a quarter as often
(`BUSY_SEARCHES`); once one look stays under `idle_share` it takes both again.
On the 16 held-out clips one look changed AKD by -0.005 px and the mouth by +0.03 px
(README, "A lighter sender"): a small price next to frames that never arrive.
"""

from __future__ import annotations

from collections import deque
from statistics import median

from sender.config import SenderConfig

BUSY_SEARCHES = 4  # a busy sender searches the background's follow this many times less often


class Looks:
    def __init__(self, config: SenderConfig, fps: float, most: int):
        self.config, self.most = config, most
        self.period_ms = 1000.0 / fps
        self.looks = most
        self.share = 0.0  # the last median encode time over the frame period
        self._times: deque[float] = deque(maxlen=config.load_window)

    def update(self, encode_ms: float) -> int | None:
        """Take one frame's encode time; returns the new number of looks when it changes."""
        c = self.config
        if c.busy_share is None or self.most < 2:
            return None
        self._times.append(encode_ms)
        if len(self._times) < self._times.maxlen:  # type: ignore[operator]
            return None
        self.share = share = median(self._times) / self.period_ms
        if self.looks == 2 and share > c.busy_share:
            self.looks = 1
        elif self.looks == 1 and share < c.idle_share:
            self.looks = 2
        else:
            return None
        self._times.clear()  # the new setting is judged on its own frames
        return self.looks
