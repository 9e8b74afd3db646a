"""Transport-agnostic face codec: the face prior, encoder, decoder and renderers."""

import os

# One BLAS thread per call. The codec's matrices are small, and the live services run the
# encoder and the renderer on their own threads: OpenBLAS's spinning thread pool, called
# from two Python threads at once, made rendering 50x slower (12 -> 930 ms/frame measured).
# Set before numpy loads; a caller that already loaded numpy keeps its own setting.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
