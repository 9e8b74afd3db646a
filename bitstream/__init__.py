"""The wire format: packets, quantizers, entropy coding, the .fcs container (not built yet)."""
