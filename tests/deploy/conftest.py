"""Shared fixtures of the deployment tests: a reachable Docker daemon and the service image.

The Docker tests skip only where no daemon can run here (``docker info`` fails) *and*
``CI`` is not ``"true"``; in CI a missing daemon fails them instead.
"""

from __future__ import annotations

import os

import pytest

from tests.deploy._docker import docker_reachable


@pytest.fixture(scope="session")
def docker_daemon() -> None:
    """Skips (outside CI) or fails (in CI) when no Docker daemon answers."""
    if docker_reachable():
        return
    message = "no Docker daemon (`docker info` failed); as root run `bash scripts/docker.sh`"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def service_image(docker_daemon: None) -> str:
    """The service image for this checkout, built (or found cached) once per session."""
    from rlvr_gym.server.image import build_service_image

    return build_service_image()  # progress on stderr: shown when a test fails
