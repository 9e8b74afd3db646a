"""FastAPI signaling server: rooms, tokens, offer/answer relay (not built yet)."""
