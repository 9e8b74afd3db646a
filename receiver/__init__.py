"""Live receiver service: WebRTC peer, decode + render loop, sinks (not built yet)."""
