"""The CLI over gRPC: ``rlvr-gym demo`` (the README's main command) and ``score --remote``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from rlvr_gym.server.demo import code_samples, math_samples, started_server
from tests.sandbox.test_docker_pool import docker_test
from tests.test_cli import run

MATH = "rlvr_gym/Math-v0"
ROW = re.compile(r"^\s*\d+ (math|code) ")
SUM_OK = "```python\nn = int(input())\nprint(sum(map(int, input().split())))\n```"


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    with started_server() as running:
        yield running


@docker_test
def test_demo_starts_the_service_and_scores_math_and_code_over_grpc() -> None:
    proc = run("demo", timeout=300)
    assert proc.returncode == 0, proc.stderr
    envs = [m.group(1) for ln in proc.stdout.splitlines() if (m := ROW.match(ln))]
    n_math, n_code = len(math_samples()), len(code_samples())
    assert envs.count("math") == n_math
    assert envs.count("code") == n_code
    assert f"as expected: {n_math + n_code}/{n_math + n_code}" in proc.stdout
    assert "scored over gRPC" in proc.stdout
    assert "rlvr-gym serve stopped cleanly" in proc.stderr  # SIGTERM: graceful, exit 0


def test_score_remote_math_matches_local(address: str) -> None:
    lines = [
        {"response": "\\boxed{391}", "answer": "391"},
        {"response": "\\boxed{390}", "answer": "391"},
        {"response": "no answer here", "answer": "7"},
        {"response": "\\boxed{1}", "answer": "   "},
        {"nothing": 1},
    ]
    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
    remote = run("score", "--env", MATH, "--input", "-", "--remote", address, stdin=data)
    local = run("score", "--env", MATH, "--input", "-", "--workers", "1", stdin=data)
    assert remote.returncode == 0, remote.stderr
    out = [json.loads(x) for x in remote.stdout.splitlines()]
    assert [o["status"] for o in out[:3]] == ["correct", "incorrect", "no_answer"]
    assert out[3]["status"] == "infra_error" and "empty gold" in out[3]["detail"]
    assert out[4]["status"] == "error" and out[4]["line"] == 5
    expected = [json.loads(x) for x in local.stdout.splitlines()]
    assert [o["reward"] for o in out[:3]] == [e["reward"] for e in expected[:3]]


@docker_test
def test_score_remote_code_by_id_and_inline(address: str) -> None:
    inline = {
        "task_id": "add",
        "prompt": "add two ints",
        "tests": [{"stdin": "2 3\n", "stdout": "5\n"}],
    }
    lines = [
        {"task_id": "demo/sum-of-list", "response": SUM_OK},
        {"task_id": "demo/sum-of-list", "response": "```python\nprint(0)\n```"},
        {"task": inline, "response": "```python\nprint(sum(map(int, input().split())))\n```"},
        {"task": {"prompt": "no tests"}, "response": SUM_OK},
    ]
    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
    proc = run(
        "score", "--env", "rlvr_gym/Code-v0", "--input", "-", "--remote", address, stdin=data
    )
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [o["status"] for o in out] == ["correct", "incorrect", "correct", "infra_error"]
    assert "bad task" in out[3]["detail"]


def test_score_remote_unreachable_server_marks_lines_infra_error() -> None:
    data = b'{"response": "\\\\boxed{1}", "answer": "1"}\n'
    proc = run(
        "score", "--env", MATH, "--input", "-", "--remote", "127.0.0.1:1", stdin=data, timeout=120
    )
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    assert proc.returncode == 1  # a scorer failure is the run's failure
    assert out[0]["status"] == "infra_error" and "UNAVAILABLE" in out[0]["error"]
