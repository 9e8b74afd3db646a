"""Torch networks for the neural receiver and their training loop (not built yet)."""
