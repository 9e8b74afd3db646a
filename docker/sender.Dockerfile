# The CPU image: the live sender (`facecodec send`), the signaling server and the CPU host
# (`facecodec host` with the mesh warp), none of which needs a GPU. No torch: none of them
# imports it.
#   docker build -f docker/sender.Dockerfile -t facecodec-cpu .
#   docker run --rm --device /dev/video0 facecodec-cpu send --signal http://HOST:8765
# BASE is any Debian-like image with Python 3.11-3.13 (the default is what a user pulls;
# CI, which cannot pull, passes a bookworm root made by debootstrap: docker/ci.sh).
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1
# OpenCV needs these shared libraries at import time; venv for a Debian base's python3.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

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
RUN pip install --no-cache-dir .

USER facecodec
EXPOSE 8765
ENTRYPOINT ["facecodec"]
CMD ["--help"]
