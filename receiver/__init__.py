"""Live receiver service: WebRTC peer, decode + render loop, sinks (file, window, web page),
stats, and the one-command loopback demo."""
