#!/usr/bin/env bash
# CI's Docker check: build both images and carry one call through containers.
#
# No base image can be pulled here, so the base is made locally: a Debian bookworm root by
# debootstrap (cached under /var/cache/facecodec), trusting what this machine trusts, turned
# into an image by `docker import`. Both Dockerfiles take it as their BASE build argument
# (their defaults are what a user pulls: python:3.11-slim-bookworm and the CUDA runtime).
# The CUDA image is built on that same local base with the CPU torch wheel served from this
# machine, since neither the CUDA base nor the CUDA wheel index can be had here.
#
# Then, all on host networking: `facecodec signal` and `facecodec host` run from the CPU
# image, the fixture clip is encoded and replayed by `facecodec send --replay` from the CPU
# image, and the host's /status must show the call's frames rendered.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "docker-ci: $*"; }

if ! command -v docker >/dev/null || ! command -v debootstrap >/dev/null; then
  say "SKIPPED: docker or debootstrap missing (apt-get install docker.io debootstrap)"
  exit 0
fi
if ! docker info >/dev/null 2>&1; then
  (dockerd >/tmp/facecodec-dockerd.log 2>&1 &)
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { say "SKIPPED: dockerd did not start"; exit 0; }
fi

cache=/var/cache/facecodec
mkdir -p "$cache"
if ! docker image inspect facecodec-base:bookworm >/dev/null 2>&1; then
  if [ ! -s "$cache/bookworm.tar" ]; then
    root=$(mktemp -d)
    debootstrap --variant=minbase --include=python3,python3-venv,libgl1,libglib2.0-0,ca-certificates \
      bookworm "$root" http://deb.debian.org/debian >/tmp/facecodec-debootstrap.log
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$root/etc/pip.conf"
    tar -C "$root" -c . >"$cache/bookworm.tar.tmp" && mv "$cache/bookworm.tar.tmp" "$cache/bookworm.tar"
    rm -rf "$root"
  fi
  docker import "$cache/bookworm.tar" facecodec-base:bookworm >/dev/null
fi
say "base image facecodec-base:bookworm (debootstrap bookworm, local)"

start=$SECONDS
docker build -q --network host --build-arg BASE=facecodec-base:bookworm \
  -f docker/sender.Dockerfile -t facecodec-cpu . >/dev/null
say "built facecodec-cpu from docker/sender.Dockerfile in $((SECONDS - start)) s"

wheel=$(ls /opt/wheels/torch-2.13.0+cpu-cp311-*.whl 2>/dev/null | head -1 || true)
if [ -n "$wheel" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (cd "$(dirname "$wheel")" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
  server=$!
  start=$SECONDS
  docker build -q --network host --build-arg BASE=facecodec-base:bookworm \
    --build-arg TORCH_PIP="--find-links http://127.0.0.1:$port/" \
    -f docker/receiver.Dockerfile -t facecodec-receiver . >/dev/null
  kill "$server"
  docker run --rm --network host facecodec-receiver host --help >/dev/null
  say "built facecodec-receiver from docker/receiver.Dockerfile in $((SECONDS - start)) s" \
      "with BASE=facecodec-base:bookworm instead of the CUDA runtime (not pullable here) and" \
      "the CPU torch wheel; 'facecodec host' runs from it"
else
  say "facecodec-receiver NOT built: no local torch wheel to stand in for the CUDA index"
fi

names="fc-signal-$$ fc-host-$$"
cleanup() { docker rm -f $names >/dev/null 2>&1 || true; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
sig=$(free_port); api=$(free_port); key=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
docker run -d --name "fc-signal-$$" --network host -e FACECODEC_SIGNAL_SECRET="$key$key" \
  facecodec-cpu signal --port "$sig" >/dev/null
docker run -d --name "fc-host-$$" --network host facecodec-cpu host \
  --signal "http://127.0.0.1:$sig" --http "$api" --api-key "$key" --max-calls 4 >/dev/null
work=$(mktemp -d); chmod 777 "$work"
docker run --rm --network host -v "$PWD/tests/fixtures/tiny_head:/clip:ro" -v "$work:/out" \
  facecodec-cpu encode /clip/head.mp4 /out/head.fcs >/dev/null 2>&1
python3 docker/ci_call.py "$sig" "$api" "$key" "$work/head.fcs"
