"""Sandbox image: built without a registry, cached by content hash, usable locked down.

The Docker tests need a daemon. They skip only where none can run here (``docker info``
fails) *and* ``CI`` is not ``"true"``; in CI a missing daemon fails them instead.
The hash and recipe tests are pure and always run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from rlvr_gym.cli import main
from rlvr_gym.errors import ConfigError
from rlvr_gym.sandbox.errors import DockerUnavailableError, SandboxError
from rlvr_gym.sandbox.image import (
    CONTENT_HASH_LABEL,
    DEFAULT_PACKAGES,
    ImageRecipe,
    dockerfile_text,
    ensure_image,
    image_exists,
    recipe_hash,
)

REPO = Path(__file__).resolve().parents[2]


def _docker_reachable() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        proc = subprocess.run(["docker", "info"], capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0


needs_docker = pytest.mark.skipif(
    os.environ.get("CI") != "true" and not _docker_reachable(),
    reason="no Docker daemon (`docker info` failed); as root run `bash scripts/docker.sh`",
)


def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def image_id(ref: str) -> str:
    proc = docker("image", "inspect", "--format", "{{.Id}}", ref)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def tag() -> str:
    """The default image, built once per module (a cold build takes about a minute)."""
    return ensure_image()


# ----------------------------------------------------------------------------- docker


@pytest.mark.docker
@needs_docker
def test_image_exists_after_ensure_image(tag: str) -> None:
    assert tag == f"rlvr-gym-sandbox:{recipe_hash(ImageRecipe())[:12]}"
    assert image_exists(tag)
    assert image_id("rlvr-gym-sandbox:latest") == image_id(tag)
    assert not image_exists(f"rlvr-gym-sandbox:no-such-{uuid.uuid4().hex[:8]}")


@pytest.mark.docker
@needs_docker
def test_second_call_is_a_cache_hit(tag: str) -> None:
    before = image_id(tag)
    messages: list[str] = []
    started = time.monotonic()
    assert ensure_image(progress=messages.append) == tag
    elapsed = time.monotonic() - started
    assert image_id(tag) == before  # not rebuilt
    assert any("cached" in m for m in messages), messages
    assert not any(w in m for m in messages for w in ("debootstrap", "import", "build")), messages
    assert elapsed < 5, f"cached ensure_image took {elapsed:.2f} s"


@pytest.mark.docker
@needs_docker
def test_latest_is_repointed_when_cached(tag: str) -> None:
    # Someone moved :latest elsewhere; a cached ensure_image points it back.
    base = f"rlvr-gym-sandbox-base:{_base_hash12()}"
    assert docker("tag", base, "rlvr-gym-sandbox:latest").returncode == 0
    assert image_id("rlvr-gym-sandbox:latest") != image_id(tag)
    ensure_image(progress=lambda _: None)
    assert image_id("rlvr-gym-sandbox:latest") == image_id(tag)


def _base_hash12() -> str:
    match = re.search(r"^FROM \S+:([0-9a-f]{12})$", dockerfile_text(ImageRecipe()), re.M)
    assert match
    return match.group(1)


@pytest.mark.docker
@needs_docker
def test_label_and_config(tag: str) -> None:
    proc = docker("image", "inspect", "--format", "{{json .Config}}", tag)
    assert proc.returncode == 0, proc.stderr
    config = json.loads(proc.stdout)
    assert config["Labels"][CONTENT_HASH_LABEL] == recipe_hash(ImageRecipe())
    assert config["User"] == "10001:10001"
    assert config["Cmd"] == ["python3", "-I", "/opt/rlvr/supervisor"]
    assert config["WorkingDir"] == "/work"
    assert {"PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"} <= set(config["Env"])


SCRIPT = r"""
set -e
python3 -c 'import numpy; print("numpy", numpy.arange(4).sum())'
printf '#include <iostream>\nint main() { std::cout << "hello from g++" << std::endl; }\n' \
  > /work/hello.cpp
g++ -O2 -o /work/hello /work/hello.cpp
/work/hello
echo "uid=$(id -u)"
cmp -s /opt/rlvr/supervisor/runner.py /dev/stdin && echo "supervisor=same"
# adversarial: the image must not be writable, not even the supervisor
if echo pwned > /opt/rlvr/supervisor/runner.py 2>/dev/null; then echo "supervisor=WRITABLE"; fi
if touch /usr/bin/python3 2>/dev/null; then echo "interpreter=WRITABLE"; fi
python3 -c '
import socket
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    print("network=UP")
except OSError:
    print("network=none")
'
"""


@pytest.mark.docker
@needs_docker
def test_locked_down_container_runs_python_numpy_and_gpp(tag: str) -> None:
    name = f"rlvr-gym-test-image-{uuid.uuid4().hex[:12]}"
    supervisor = (REPO / "src/rlvr_gym/sandbox/supervisor/runner.py").read_bytes()
    try:
        proc = subprocess.run(
            [
                "docker", "run", "--rm", "-i", "--name", name,
                "--label", "org.rlvr-gym.test=1",
                "--network", "none", "--read-only", "--user", "10001",
                # Docker's --tmpfs defaults to noexec and a root-owned 0755 root dir:
                # compiled programs need exec, the sandbox user needs to own it, and
                # g++ needs a writable TMPDIR (/tmp is on the read-only root).
                "--tmpfs", "/work:rw,exec,nosuid,nodev,size=64m,uid=10001,gid=10001",
                "--env", "TMPDIR=/work",
                tag, "sh", "-c", SCRIPT,
            ],
            input=supervisor,
            capture_output=True,
            timeout=120,
            check=False,
        )  # fmt: skip
    finally:
        docker("rm", "-f", name)
    out = proc.stdout.decode(errors="replace")
    assert proc.returncode == 0, (out, proc.stderr.decode(errors="replace"))
    lines = out.split()
    assert "hello from g++" in out
    assert lines[:2] == ["numpy", "6"]
    assert "uid=10001" in lines
    assert "supervisor=same" in lines
    assert "network=none" in lines
    assert not any("WRITABLE" in line or "UP" in line for line in lines)
    assert docker("ps", "-aq", "--filter", f"name={name}").stdout.strip() == ""


@pytest.mark.docker
@needs_docker
def test_cli_sandbox_build_prints_the_tag(tag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "build"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == tag
    assert "cached" in captured.err


# ------------------------------------------------------------------------- pure tests


def test_unreachable_daemon_error_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/rlvr-gym-test.sock")
    with pytest.raises(DockerUnavailableError, match=r"scripts/docker\.sh"):
        image_exists("rlvr-gym-sandbox:latest")


def _package(tmp_path: Path, main: str) -> Path:
    """A stand-in supervisor package directory."""
    package = tmp_path / "supervisor"
    package.mkdir()
    (package / "__main__.py").write_text(main)
    return package


def test_recipe_hash_is_stable_and_order_insensitive(tmp_path: Path) -> None:
    sup = _package(tmp_path, "print('v1')\n")
    a = ImageRecipe(packages=("python3", "g++"), supervisor=sup)
    b = ImageRecipe(packages=("g++", "python3"), supervisor=sup)
    assert recipe_hash(a) == recipe_hash(b)
    assert re.fullmatch(r"[0-9a-f]{64}", recipe_hash(a))


def test_recipe_hash_changes_with_supervisor_source(tmp_path: Path) -> None:
    sup = _package(tmp_path, "print('v1')\n")
    recipe = ImageRecipe(supervisor=sup)
    first = recipe_hash(recipe)
    (sup / "__main__.py").write_text("print('v2')\n")
    assert recipe_hash(recipe) != first


def test_recipe_hash_changes_with_package_list(tmp_path: Path) -> None:
    sup = _package(tmp_path, "print('v1')\n")
    base = ImageRecipe(supervisor=sup)
    more = ImageRecipe(packages=(*DEFAULT_PACKAGES, "python3-sympy"), supervisor=sup)
    assert recipe_hash(base) != recipe_hash(more)
    # ...and the base image (debootstrap rootfs) changes with it, not with the supervisor.
    assert dockerfile_text(base) != dockerfile_text(more)


def test_recipe_hash_changes_with_uid_and_suite(tmp_path: Path) -> None:
    sup = _package(tmp_path, "")
    hashes = {
        recipe_hash(ImageRecipe(supervisor=sup)),
        recipe_hash(ImageRecipe(supervisor=sup, uid=20002)),
        recipe_hash(ImageRecipe(supervisor=sup, suite="trixie")),
    }
    assert len(hashes) == 3


def test_mirror_does_not_change_the_hash(tmp_path: Path) -> None:
    sup = _package(tmp_path, "")
    a = ImageRecipe(supervisor=sup)
    b = ImageRecipe(supervisor=sup, mirror="http://ftp.de.debian.org/debian")
    assert recipe_hash(a) == recipe_hash(b)


def test_missing_supervisor_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="supervisor"):
        recipe_hash(ImageRecipe(supervisor=tmp_path / "missing"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"packages": ()},
        {"packages": "python3"},
        {"packages": ("python3", "--allow-unauthenticated")},
        {"packages": ("python3,g++",)},
        {"suite": "bookworm main"},
        {"uid": 0},
        {"repository": "Bad Name"},
        {"mirror": "ftp://example.org/debian"},
    ],
)
def test_recipe_rejects_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ImageRecipe(**kwargs)  # type: ignore[arg-type]


def test_registry_dockerfile_installs_the_same_packages() -> None:
    text = (REPO / "deploy/sandbox/Dockerfile").read_text()
    match = re.search(r"apt-get install -y --no-install-recommends \\\n\s*([^\\]+?)\s*\\", text)
    assert match, "apt-get install line not found in deploy/sandbox/Dockerfile"
    assert sorted(match.group(1).split()) == sorted(DEFAULT_PACKAGES)
    for line in (
        "USER 10001:10001",
        'CMD ["python3", "-I", "/opt/rlvr/supervisor"]',
        "COPY sandbox/supervisor/*.py /opt/rlvr/supervisor/",
        "COPY rewards/code/harness.py /opt/rlvr/preload/rlvr_harness.py",
        "COPY rewards/code/wire.py /opt/rlvr/preload/rlvr_wire.py",
    ):
        assert line in text
        assert line in dockerfile_text(ImageRecipe())
