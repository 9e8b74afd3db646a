"""Rate-distortion, speed and prior-fit benchmarks."""

import os

# Benchmarks time one process on a 2-core machine: BLAS threads spinning beside MediaPipe's
# and the video codecs' own threads made every figure several times slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
