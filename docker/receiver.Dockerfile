# The GPU receiver: `facecodec receive` / `facecodec host` with torch built for CUDA, for the
# neural renderer. Without a GPU (or weights) it still runs, with the CPU mesh warp.
#   docker build -f docker/receiver.Dockerfile -t facecodec-receiver .
#   docker run --rm --gpus all -p 8080:8080 facecodec-receiver receive --signal ... --http 8080
# BASE: any Debian-like image with Python 3.11-3.13 and `python3-venv` in its archive
# (Ubuntu 24.04 has 3.12). TORCH_PIP: where torch comes from (the CUDA 12.8 wheel index by
# default; CI, which cannot pull the CUDA base or reach that index, builds this file on a
# local bookworm root with the CPU wheel served from this machine: docker/ci.sh).
ARG BASE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
FROM ${BASE}
ARG TORCH_PIP="--index-url https://download.pytorch.org/whl/cu128"

ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# torch first, from its own index, so the project's pin does not pull another build.
RUN pip install --no-cache-dir ${TORCH_PIP} torch==2.13.0

RUN useradd --create-home --uid 1001 facecodec
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bitstream bitstream
COPY codec codec
COPY sender sender
COPY receiver receiver
COPY signaling signaling
COPY models models
COPY benchmarks benchmarks
RUN pip install --no-cache-dir ".[train]"

USER facecodec
EXPOSE 8080
ENTRYPOINT ["facecodec"]
CMD ["receive", "--help"]
