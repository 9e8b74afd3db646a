"""Live sender service: capture, pacing, WebRTC peer, stats (not built yet)."""
