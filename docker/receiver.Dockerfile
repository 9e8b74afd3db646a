# The GPU receiver: `facecodec receive` with torch built for CUDA, for the neural renderer.
# Without a GPU (or weights) it still runs, with the CPU mesh-warp renderer.
#   docker build -f docker/receiver.Dockerfile -t facecodec-receiver .
#   docker run --rm --gpus all -p 8080:8080 facecodec-receiver receive --signal ... --http 8080
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04

ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends software-properties-common \
    && add-apt-repository -y ppa:deadsnakes/ppa \
    && apt-get install -y --no-install-recommends \
        python3.11 python3.11-venv libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
RUN python3.11 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# torch first, from the CUDA wheel index, so the project's pin does not pull a CPU build.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cu128
RUN pip install --no-cache-dir --index-url ${TORCH_INDEX} torch==2.13.0

RUN useradd --create-home --uid 1000 facecodec
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
