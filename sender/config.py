"""Live sender settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from codec.config import EncoderConfig


@dataclass(frozen=True)
class SenderConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    frames_per_message: int = 1  # Motion packets bundled per data-channel message
    ice_servers: tuple[dict, ...] = ()  # none on loopback; STUN/TURN for real networks
    simulate_loss: float = 0.0  # drop this share of motion messages (tests and benchmarks)
    # A Motion message is skipped while this many bytes wait in the motion channel's send
    # buffer (behind SCTP's congestion window): on a congested or capped link the call drops
    # frames instead of queueing them. At ~35 bytes a frame that is about 4 frames, so the
    # queue adds at most ~160 ms at 25 fps however slow the path gets.
    max_buffered_motion: int = 160
    # Bundling by round-trip time (sender/bundling.py): when any link's SCTP RTT stays over
    # `slow_rtt_ms` for `slow_for_s` (a queue is building on the path), send
    # `slow_frames_per_message` frames per message (a quarter of the packets, ~half the wire
    # bytes); back to `frames_per_message` once every RTT stays under `fast_rtt_ms` for
    # `settle_s`. Measured on 48 kbit/s + 20 % loss: README, "On real networks".
    slow_rtt_ms: float | None = 150.0  # None: never adapt
    fast_rtt_ms: float = 60.0
    slow_frames_per_message: int = 4
    slow_for_s: float = 1.5  # the RTT stays above slow_rtt_ms this long before bundling
    settle_s: float = 10.0
    # While bundling, new Reference pictures (head-turn refreshes) are coded at this quality
    # (0..100; None: unchanged): a refresh crawls over a slow path behind the motion, and a
    # smaller picture is shown sooner. Back to the encoder's quality with the bundling.
    slow_picture_quality: int | None = 30
    # Landmark looks by load (sender/looks.py): while the median encode time over the last
    # `load_window` frames is over `busy_share` of the frame period, the second look is
    # skipped; it comes back once one look stays under `idle_share`. None: never adapt.
    busy_share: float | None = 0.6
    idle_share: float = 0.35
    load_window: int = 25
    loss_seed: int = 0
    stats_every_s: float = 1.0
    max_frames: int | None = None  # stop after this many frames (demo, tests)
