"""The Docker files as text: the compose file parses and names existing Dockerfiles, every
COPY source exists, every command is one the `facecodec` script knows, every base is a build
argument. CI builds and runs the images themselves (`docker/ci.sh`, from `.ci/run`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codec.cli import COMMANDS

yaml = pytest.importorskip("yaml", reason="pyyaml comes with the dev extras")
ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"


def test_compose_services_build_from_our_dockerfiles():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert set(compose["services"]) == {"signaling", "receiver"}
    for service in compose["services"].values():
        build = service["build"]
        assert (DOCKER / build["context"] / build["dockerfile"]).resolve().is_file()
        assert service["command"][0] in COMMANDS


@pytest.mark.parametrize("name", ["sender.Dockerfile", "receiver.Dockerfile"])
def test_dockerfile_copies_what_exists(name):
    text = (DOCKER / name).read_text()
    assert text.startswith("#") and re.search(r"^FROM \S+", text, re.M)
    sources = [s for line in re.findall(r"^COPY (.+)$", text, re.M) for s in line.split()[:-1]]
    assert sources
    for src in sources:
        assert (ROOT / src).exists(), f"{name}: COPY {src} does not exist"
    assert 'ENTRYPOINT ["facecodec"]' in text
    assert re.search(r"^ARG BASE=\S+\nFROM \$\{BASE\}$", text, re.M), "base as a build argument"
