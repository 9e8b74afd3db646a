"""Live receiver settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReceiverConfig:
    ice_servers: tuple[dict, ...] = ()
    max_queued_motion: int = 8  # older Motion packets fall out when rendering lags
    # A Motion that has waited this long for the render worker (a busy laptop) is dropped
    # before it is decoded when a newer one waits (counted as stale): the picture stays
    # current. A bundle's frames arrive together and wait a render time each, well under it.
    # 60 ms was tried: with both cores busy it held latency p95 at 121-151 ms where 100 ms let
    # it reach 162-192, but an idle receiver writing its --out file then dropped a fifth of
    # the frames of a dev clip (tests/test_live.py).
    max_wait_s: float = 0.1
    max_queued_control: int = 64
