"""Live sender service: capture (webcam, file, synthetic head), pacing, WebRTC peer, stats."""
