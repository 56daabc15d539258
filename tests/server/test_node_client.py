"""A Node.js client built only from the .proto files scores against ``rlvr-gym serve``.

Proves the wire API is language-neutral: health, the ScoreBatch request shape (oneof
task, repeated responses) and the Score/ScoreStatus reply decode the same way outside
Python. Needs ``node`` and the client's packages: ``bash scripts/node.sh`` (scripts/test.sh
runs it). Missing, the test fails with that instruction; it never skips.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server._procs import first_line, rlvr_gym

NODE_DIR = Path(__file__).parent / "node"
STARTUP_S = 60.0
STOP_S = 30.0
SERVING = re.compile(r"rlvr-gym: serving on (127\.0\.0\.1:\d+)")
SETUP_HINT = "run `bash scripts/node.sh` (installs nodejs/npm and `npm ci`s tests/server/node)"


@pytest.fixture
def node_client() -> list[str]:
    """The command that runs client.js; fails (never skips) when Node.js is not set up."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node is not installed: {SETUP_HINT}")
    for package in ("@grpc/grpc-js", "@grpc/proto-loader"):
        if not (NODE_DIR / "node_modules" / package / "package.json").is_file():
            pytest.fail(f"{NODE_DIR}/node_modules lacks {package}: {SETUP_HINT}")
    return [node, str(NODE_DIR / "client.js")]


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[str]:
    """``rlvr-gym serve`` on a free loopback port: its ``HOST:PORT``; SIGTERM at the end."""
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [rlvr_gym(), "serve", "--address", "127.0.0.1:0", "--metrics-address", ""],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    try:
        line = first_line(proc, STARTUP_S)
        if not line:
            status = "exited" if proc.poll() is not None else f"not ready within {STARTUP_S}s"
            pytest.fail(f"rlvr-gym serve {status}; log:\n{log_path.read_text()[-3000:]}")
        match = SERVING.fullmatch(line.strip())
        assert match, f"unexpected first stdout line: {line!r}"
        yield match.group(1)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                pytest.fail(f"rlvr-gym serve did not stop within {STOP_S}s of SIGTERM")
        assert proc.stdout is not None
        proc.stdout.close()
    assert proc.returncode == 0, (
        f"exit code {proc.returncode}; log:\n{log_path.read_text()[-3000:]}"
    )


def test_node_client_health_and_score_batch(node_client: list[str], serve_process: str) -> None:
    run = subprocess.run(
        [*node_client, serve_process], capture_output=True, text=True, timeout=60, cwd=NODE_DIR
    )
    assert run.returncode == 0, f"client.js failed ({run.returncode}): {run.stderr}"
    lines = run.stdout.splitlines()
    assert len(lines) == 1, run.stdout
    result = json.loads(lines[0])
    assert result["target"] == serve_process
    assert result["health"] == "SERVING"
    assert [(s["status"], s["reward"]) for s in result["scores"]] == [
        ("SCORE_STATUS_CORRECT", 1),
        ("SCORE_STATUS_INCORRECT", 0),
        ("SCORE_STATUS_NO_ANSWER", 0),
    ]
    assert [s["extracted"] for s in result["scores"]] == ["42", "41", ""]
    assert result["columns"] == result["scores"]  # the compact form, read from Node.js too


def test_node_client_reports_errors_with_exit_code(node_client: list[str]) -> None:
    # Nothing listens on port 1: the client must say so and exit non-zero, not hang.
    run = subprocess.run([*node_client, "127.0.0.1:1"], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert run.stdout == ""
    assert "UNAVAILABLE" in run.stderr
