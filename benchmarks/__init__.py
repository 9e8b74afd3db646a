"""Rate-distortion, speed and prior-fit benchmarks."""
