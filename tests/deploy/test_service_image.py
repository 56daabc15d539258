"""The service image: built without a registry, cached by content hash, runnable.

The pure tests (Dockerfile agreement, hash inputs) always run; the others need a daemon
(see conftest.py). A cold build takes about 20 s once the sandbox base image exists.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

import rlvr_gym
from rlvr_gym.sandbox.image import CONTENT_HASH_LABEL, ImageRecipe, base_tag
from rlvr_gym.server.image import (
    REPOSITORY,
    SERVICE_UID,
    build_service_image,
    dockerfile_text,
    service_hash,
)
from tests.deploy._docker import REPO, docker

REGISTRY_DOCKERFILE = REPO / "deploy" / "service" / "Dockerfile"


def final_stage(text: str) -> list[str]:
    """Instruction lines of the last stage, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    start = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    return lines[start + 1 :]


def test_registry_dockerfile_mirrors_the_builder() -> None:
    ours = final_stage(dockerfile_text(base_tag(ImageRecipe())))
    theirs = final_stage(REGISTRY_DOCKERFILE.read_text(encoding="utf-8"))
    for keyword in ("ENV", "RUN docker", "EXPOSE", "USER", "WORKDIR", "CMD", "RUN groupadd"):
        mine = [line for line in ours if line.startswith(keyword)]
        assert mine, keyword
        assert mine == [line for line in theirs if line.startswith(keyword)], keyword
    assert f"USER {SERVICE_UID}:{SERVICE_UID}" in ours
    assert 'CMD ["rlvr-gym", "serve"]' in ours
    assert "EXPOSE 50051 9464" in ours
    registry_text = REGISTRY_DOCKERFILE.read_text(encoding="utf-8")
    assert '".[grpc,docker]"' in registry_text
    assert "[grpc,docker]" in dockerfile_text("base")


def test_hash_covers_sources_and_docker_client(tmp_path: Path) -> None:
    client = tmp_path / "docker"
    client.write_bytes(b"client v1")
    recipe = ImageRecipe()
    sources = {"pyproject.toml": b"x", "src/rlvr_gym/a.py": b"print(1)\n"}
    digest = service_hash(sources, client, recipe)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert service_hash(dict(sources), client, recipe) == digest
    assert service_hash({**sources, "src/rlvr_gym/a.py": b"print(2)\n"}, client, recipe) != digest
    assert service_hash({**sources, "src/rlvr_gym/b.py": b""}, client, recipe) != digest
    client.write_bytes(b"client v2")
    assert service_hash(sources, client, recipe) != digest


@pytest.mark.docker
def test_builder_tags_and_labels_the_image(service_image: str) -> None:
    assert re.fullmatch(rf"{REPOSITORY}:[0-9a-f]{{12}}", service_image)
    ids = {
        ref: docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()
        for ref in (service_image, f"{REPOSITORY}:latest")
    }
    assert len(set(ids.values())) == 1 and all(ids.values()), ids
    label = docker(
        "image", "inspect", "--format", f'{{{{index .Config.Labels "{CONTENT_HASH_LABEL}"}}}}',
        service_image,
    ).stdout.strip()  # fmt: skip
    assert label.startswith(service_image.rsplit(":", 1)[1])
    config = docker(
        "image", "inspect", "--format", "{{.Config.User}} {{json .Config.Cmd}}", service_image
    ).stdout.strip()
    assert config == f'{SERVICE_UID}:{SERVICE_UID} ["rlvr-gym","serve"]'


@pytest.mark.docker
def test_rebuild_is_a_fast_cache_hit(service_image: str) -> None:
    before = docker("image", "inspect", "--format", "{{.Id}}", service_image).stdout.strip()
    messages: list[str] = []
    started = time.monotonic()
    again = build_service_image(progress=messages.append)
    elapsed = time.monotonic() - started
    assert again == service_image
    assert docker("image", "inspect", "--format", "{{.Id}}", again).stdout.strip() == before
    assert any("is cached" in m for m in messages), messages
    assert not any(m.startswith("docker build") for m in messages), messages
    assert elapsed < 10.0, f"cache hit took {elapsed:.1f} s"


@pytest.mark.docker
def test_image_runs_the_cli_as_non_root_with_a_docker_client(service_image: str) -> None:
    proc = docker("run", "--rm", f"{REPOSITORY}:latest", "rlvr-gym", "--version", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"rlvr-gym {rlvr_gym.__version__}"
    script = "id -u; docker --version; python --version; test ! -e /build && echo clean"
    proc = docker("run", "--rm", service_image, "sh", "-c", script, timeout=120)
    assert proc.returncode == 0, proc.stderr
    uid, client, python, clean = proc.stdout.split("\n")[:4]
    assert uid == str(SERVICE_UID)
    assert client.startswith("Docker version")
    assert python.startswith("Python 3.11")
    assert clean == "clean"  # wheels and pip stayed in the build stages
