"""FastAPI signaling server: rooms, HMAC tokens, offer/answer relay. Knows nothing of faces."""
