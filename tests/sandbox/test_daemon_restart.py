"""A Docker daemon restart mid-run: never a wrong verdict, and the pool heals itself.

Runs first among the Docker tests (file order) and leaves the daemon running again via
``scripts/docker.sh``, which is what started it in CI.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from rlvr_gym.sandbox.docker_backend import POOL_LABEL, DockerSandboxPool
from rlvr_gym.sandbox.types import ExecutionLimits, ExecutionRequest, ExecutionResponse
from tests.sandbox.test_docker_pool import assert_no_containers, needs_docker

PIDFILE = Path("/var/run/rlvr-gym-dockerd.pid")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.docker, pytest.mark.slow, needs_docker]


def _restart_daemon() -> None:
    pid = int(PIDFILE.read_text().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists(), "dockerd did not stop"
    proc = subprocess.run(
        ["bash", "-c", f"source {ROOT / 'scripts' / 'docker.sh'}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(
    os.geteuid() != 0 or not PIDFILE.exists(),
    reason="needs root and the dockerd started by scripts/docker.sh",
)
def test_daemon_restart_mid_run_never_gives_a_wrong_verdict_and_the_pool_heals() -> None:
    pool = DockerSandboxPool(1, reap_interval_s=None)
    slow = ExecutionRequest(
        run=["python3", "main.py"],
        files={"main.py": b"import time\ntime.sleep(30)\nprint('done')\n"},
        limits=ExecutionLimits(cpu_s=5, wall_s=40),
    )
    fast = ExecutionRequest(run=["python3", "main.py"], files={"main.py": b"print(6 * 7)"})
    box: dict[str, ExecutionResponse] = {}
    try:
        thread = threading.Thread(target=lambda: box.setdefault("r", pool.execute(slow)))
        thread.start()
        time.sleep(1.5)  # the program is sleeping inside the container
        _restart_daemon()
        thread.join(timeout=120)
        assert not thread.is_alive()
        # The daemon stopped the container before the program could finish: our fault.
        assert box["r"].runs[0].status == "infra_error", box["r"]
        after = [pool.execute(fast).runs[0] for _ in range(3)]
        assert [(r.status, r.stdout) for r in after] == [("ok", b"42\n")] * 3
    finally:
        pool.close()
    assert_no_containers(f"{POOL_LABEL}={pool.pool_id}")
