# The CPU image: the live sender (`facecodec send`), and the signaling server, which needs
# no GPU either. No torch: the sender never imports it.
#   docker build -f docker/sender.Dockerfile -t facecodec-cpu .
#   docker run --rm --device /dev/video0 facecodec-cpu send --signal http://HOST:8765
FROM python:3.11-slim-bookworm

# OpenCV needs these shared libraries at import time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

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
