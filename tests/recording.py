"""A mesh-warp renderer that keeps every DrivingState it was asked to render, in order."""

from benchmarks.live_peer import Recording

__all__ = ["Recording"]
