"""deploy/compose.yaml end to end: up, gRPC health, real scores, graceful down, no leaks.

The project gets a unique name and free loopback ports (compose variable substitution),
binds 127.0.0.1 only, and is torn down even when an assertion fails. The static checks of
the compose file and its server.toml always run; the rest needs a daemon and Compose
(installed by scripts/compose.sh when missing and run as root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from rlvr_gym.sandbox._containers import HOST_LABEL, LABEL
from rlvr_gym.server.config import load_config
from tests.deploy._docker import REPO, docker

COMPOSE_FILE = REPO / "deploy" / "compose.yaml"
PROJECT_LABEL = "com.docker.compose.project"
REWARD_SERVICE = "rlvr_gym.proto.v1.RewardService"


# ----------------------------------------------------------------------------- static


def test_compose_file_shape() -> None:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    (service,) = doc["services"].values()
    assert service["network_mode"] == "host"
    assert "ports" not in service  # meaningless with host networking
    assert any(v.endswith(":/var/run/docker.sock") for v in service["volumes"])
    assert any(v.endswith(":/etc/rlvr-gym/server.toml:ro") for v in service["volumes"])
    assert "${RLVR_GYM_PORT:-50051}" in " ".join(service["command"])
    assert service["healthcheck"]["test"][-1] == "127.0.0.1:${RLVR_GYM_PORT:-50051}"
    assert service["user"] == "10002:10002"
    grace = int(service["stop_grace_period"].removesuffix("s"))
    assert load_config(COMPOSE_FILE.parent / "server.toml").shutdown_grace_s + 10 <= grace


def test_compose_server_toml_is_the_documented_defaults() -> None:
    from rlvr_gym.server.config import ServerConfig

    config = load_config(COMPOSE_FILE.parent / "server.toml")
    defaults = ServerConfig()
    changed = {
        name: getattr(config, name)
        for name in defaults.__dataclass_fields__
        if getattr(config, name) != getattr(defaults, name)
    }
    assert changed == {"sandbox_backend": "docker"}  # fail loudly, never fall back


# ----------------------------------------------------------------------------- docker


def _compose_command() -> list[str]:
    def works(cmd: list[str]) -> bool:
        if shutil.which(cmd[0]) is None:
            return False
        return subprocess.run([*cmd, "version"], capture_output=True, timeout=60).returncode == 0

    for cmd in (["docker", "compose"], ["docker-compose"]):
        if works(cmd):
            return cmd
    if os.geteuid() == 0:
        proc = subprocess.run(
            ["bash", str(REPO / "scripts" / "compose.sh")],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"scripts/compose.sh failed:\n{proc.stderr}"
        for cmd in (["docker", "compose"], ["docker-compose"]):
            if works(cmd):
                return cmd
    pytest.fail("Docker Compose is not installed; as root run `bash scripts/compose.sh`")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _socket_gid() -> int:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    assert host.startswith("unix://"), "the compose file mounts a unix socket"
    return os.stat(host.removeprefix("unix://")).st_gid


@dataclass
class Project:
    compose: list[str]
    name: str
    port: int
    metrics_port: int
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        cmd = [*self.compose, "-f", str(COMPOSE_FILE), "-p", self.name, *args]
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=self.env, check=False
        )

    def containers(self) -> list[str]:
        return docker("ps", "-aq", "--filter", f"label={PROJECT_LABEL}={self.name}").stdout.split()

    def sandboxes(self) -> list[str]:
        # The service's sandbox containers carry its hostname (RLVR_GYM_HOSTNAME) in the
        # owner label ("<hostname>/<pid namespace>").
        fmt = f'{{{{.ID}}}} {{{{.Label "{HOST_LABEL}"}}}}'
        rows = docker("ps", "-a", "--filter", f"label={LABEL}=1", "--format", fmt).stdout
        pairs = [line.split(" ", 1) for line in rows.splitlines() if " " in line]
        return [cid for cid, host in pairs if host.startswith(f"{self.name}/")]

    def logs(self) -> str:
        return self.run("logs", "--no-color", timeout=60).stdout[-6000:]


@pytest.fixture
def project(service_image: str) -> Iterator[Project]:
    compose = _compose_command()
    name = f"rlvrtest{uuid.uuid4().hex[:10]}"  # lowercase alphanumerics: valid for v1 and v2
    port, metrics_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "RLVR_GYM_IMAGE": service_image,
        "RLVR_GYM_DOCKER_GID": str(_socket_gid()),
        "RLVR_GYM_HOST": "127.0.0.1",
        "RLVR_GYM_PORT": str(port),
        "RLVR_GYM_METRICS_PORT": str(metrics_port),
        "RLVR_GYM_HOSTNAME": name,
    }
    env.pop("RLVR_GYM_AUTH_TOKENS", None)
    env.pop("RLVR_GYM_CONFIG", None)
    proj = Project(compose, name, port, metrics_port, env)
    try:
        yield proj
    finally:
        proj.run("down", "--remove-orphans", "--timeout", "45", timeout=240)
        leftovers = proj.containers() + proj.sandboxes()
        if leftovers:
            docker("rm", "-f", *leftovers, timeout=120)


def _wait_serving(target: str, deadline_s: float) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + deadline_s
    last = "no answer"
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=REWARD_SERVICE), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.RpcError as exc:
                last = f"{exc.code().name}: {exc.details()}"
            time.sleep(0.5)
    raise AssertionError(f"{target} not SERVING after {deadline_s:.0f} s (last: {last})")


def _wait_docker_healthy(container: str, deadline_s: float) -> str:
    deadline = time.monotonic() + deadline_s
    status = ""
    while time.monotonic() < deadline:
        status = docker("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()
        if status in ("healthy", "unhealthy"):
            break
        time.sleep(1)
    return status


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_compose_up_scores_and_tears_down_cleanly(project: Project) -> None:
    import grpc

    from rlvr_gym.proto.v1 import reward_service_pb2, reward_service_pb2_grpc, score_pb2

    up = project.run("up", "-d")
    assert up.returncode == 0, f"compose up failed:\n{up.stderr}"
    (container,) = project.containers()
    target = f"127.0.0.1:{project.port}"
    try:
        _wait_serving(target, deadline_s=120)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- compose logs ---\n{project.logs()}") from None
    # The compose healthcheck itself (its python one-liner in the image) agrees.
    assert _wait_docker_healthy(container, deadline_s=60) == "healthy", project.logs()

    with grpc.insecure_channel(target) as channel:
        stub = reward_service_pb2_grpc.RewardServiceStub(channel)
        math = stub.ScoreBatch(
            reward_service_pb2.ScoreBatchRequest(
                env_id="rlvr_gym/Math-v0",
                task=score_pb2.Task(math=score_pb2.MathTask(answer="42")),
                responses=["\\boxed{42}", "\\boxed{41}"],
            ),
            timeout=60,
        )
        assert [s.status for s in math.scores] == [
            score_pb2.SCORE_STATUS_CORRECT,
            score_pb2.SCORE_STATUS_INCORRECT,
        ]
        assert [s.reward for s in math.scores] == [1.0, 0.0]
        adder = score_pb2.CodeTask(
            task_id="add",
            prompt="Read two integers and print their sum.",
            language="python",
            io_tests=[score_pb2.IOTest(stdin="2 3\n", expected="5")],
        )
        program = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
        code = stub.ScoreBatch(
            reward_service_pb2.ScoreBatchRequest(
                env_id="rlvr_gym/Code-v0", task=score_pb2.Task(code=adder), responses=[program]
            ),
            timeout=180,
        )
        assert [s.status for s in code.scores] == [score_pb2.SCORE_STATUS_CORRECT], code.scores[
            0
        ].detail
    # The program ran in sibling sandbox containers, owned by the service's hostname.
    assert project.sandboxes(), "no sandbox container carries the service's hostname"

    # SIGTERM: graceful shutdown, exit 0, the sandbox pool removed by the service itself.
    stop = project.run("stop", "--timeout", "45", timeout=120)
    assert stop.returncode == 0, stop.stderr
    exit_code = docker("inspect", "--format", "{{.State.ExitCode}}", container).stdout.strip()
    assert exit_code == "0", project.logs()
    assert project.sandboxes() == []

    down = project.run("down", "--remove-orphans", "--timeout", "45", timeout=240)
    assert down.returncode == 0, down.stderr
    assert project.containers() == []
    networks = docker("network", "ls", "-q", "--filter", f"label={PROJECT_LABEL}={project.name}")
    assert networks.stdout.split() == []
    assert project.sandboxes() == []


@pytest.mark.docker
@pytest.mark.slow
def test_compose_refuses_to_start_without_the_socket_group(project: Project) -> None:
    env = {k: v for k, v in project.env.items() if k != "RLVR_GYM_DOCKER_GID"}
    project.env = env
    up = project.run("up", "-d", timeout=60)
    assert up.returncode != 0
    assert "RLVR_GYM_DOCKER_GID" in up.stderr
    assert project.containers() == []
