"""Live receiver settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReceiverConfig:
    ice_servers: tuple[dict, ...] = ()
    max_queued_motion: int = 8  # older Motion packets fall out when rendering lags
    max_queued_control: int = 64
