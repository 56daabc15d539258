"""SandboxService.Execute over real gRPC, in the server's Docker pool.

Every run's status, output and exit code come back per input, in order; a request the
sandbox must not take (no main file, unknown language, limits above the pool's, file
names escaping the work dir) is ``INVALID_ARGUMENT`` naming what is wrong.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from rlvr_gym.proto.v1 import sandbox_service_pb2 as spb
from tests.sandbox.test_docker_pool import needs_docker
from tests.server.conftest import RunningServer, rpc_error

pytestmark = [pytest.mark.docker, needs_docker]

R = spb.RunStatus
INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture(scope="module")
def stub(server: RunningServer) -> Any:
    return server.sandbox_stub()


def execute(stub: Any, **fields: Any) -> list[spb.RunResult]:
    return list(stub.Execute(spb.ExecuteRequest(**fields), timeout=60).results)


def test_python_runs_once_per_stdin_in_order(stub: Any) -> None:
    program = b"import sys\nn = int(sys.stdin.read())\nprint(n * n)\nsys.exit(n % 2)\n"
    results = execute(
        stub, language="python", files={"main.py": program}, stdin=[b"3", b"4", b"10", b"7"]
    )
    assert [r.stdout for r in results] == [b"9\n", b"16\n", b"100\n", b"49\n"]
    assert [r.exit_code for r in results] == [1, 0, 0, 1]
    assert [r.status for r in results] == [
        R.RUN_STATUS_RUNTIME_ERROR,
        R.RUN_STATUS_OK,
        R.RUN_STATUS_OK,
        R.RUN_STATUS_RUNTIME_ERROR,
    ]
    assert all(r.wall_s > 0 for r in results)


def test_language_defaults_to_python_and_stdin_to_one_empty_run(stub: Any) -> None:
    results = execute(stub, files={"main.py": b"import sys\nprint(repr(sys.stdin.read()))\n"})
    assert [(r.status, r.stdout) for r in results] == [(R.RUN_STATUS_OK, b"''\n")]


def test_extra_files_are_beside_the_main_file(stub: Any) -> None:
    files = {"main.py": b"import helper\nprint(helper.VALUE)\n", "helper.py": b"VALUE = 41 + 1\n"}
    assert [r.stdout for r in execute(stub, files=files)] == [b"42\n"]


def test_cpp_compiles_once_and_runs_every_input(stub: Any) -> None:
    program = b"#include <iostream>\nint main(){long a,b;std::cin>>a>>b;std::cout<<a*b<<'\\n';}\n"
    results = execute(stub, language="cpp", files={"main.cpp": program}, stdin=[b"6 7", b"-2 5"])
    assert [(r.status, r.stdout) for r in results] == [
        (R.RUN_STATUS_OK, b"42\n"),
        (R.RUN_STATUS_OK, b"-10\n"),
    ]


def test_cpp_compile_error_is_every_runs_status(stub: Any) -> None:
    results = execute(stub, language="cpp", files={"main.cpp": b"int main( {"}, stdin=[b"", b""])
    assert [r.status for r in results] == [R.RUN_STATUS_COMPILE_ERROR] * 2
    assert b"error" in results[0].stderr or "error" in results[0].detail


def test_limits_are_enforced_per_run(stub: Any) -> None:
    results = execute(
        stub,
        files={"main.py": b"while True:\n    pass\n"},
        limits=spb.Limits(cpu_s=1, wall_s=2),
    )
    assert [r.status for r in results] == [R.RUN_STATUS_TIMEOUT]
    noisy = execute(
        stub,
        files={"main.py": b"print('x' * 100000)\n"},
        limits=spb.Limits(output_bytes=1000),
    )
    assert noisy[0].status == R.RUN_STATUS_OUTPUT_LIMIT and noisy[0].stdout_truncated
    assert len(noisy[0].stdout) <= 1000


def test_stop_on_first_failure_ends_the_list(stub: Any) -> None:
    program = b"import sys\nsys.exit(int(sys.stdin.read()))\n"
    results = execute(
        stub, files={"main.py": program}, stdin=[b"0", b"3", b"0"], stop_on_first_failure=True
    )
    assert [r.status for r in results] == [R.RUN_STATUS_OK, R.RUN_STATUS_RUNTIME_ERROR]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"files": {"solution.py": b"print(1)"}}, "'main.py' is missing", id="no-main"),
        pytest.param(
            {"language": "cpp", "files": {"main.py": b"print(1)"}},
            "'main.cpp' is missing",
            id="no-main-cpp",
        ),
        pytest.param(
            {"language": "cobol", "files": {"main.py": b"x"}}, "language: 'cobol'", id="language"
        ),
        pytest.param(
            {"files": {"main.py": b"x"}, "limits": spb.Limits(cpu_s=-1)},
            "limits.cpu_s",
            id="negative-limit",
        ),
        pytest.param(
            {"files": {"main.py": b"x"}, "limits": spb.Limits(wall_s=float("inf"))},
            "limits.wall_s",
            id="infinite-limit",
        ),
        pytest.param(
            {"files": {"main.py": b"x"}, "limits": spb.Limits(memory_bytes=1 << 40)},
            "exceed the pool's",
            id="over-pool-memory",
        ),
        pytest.param(
            {"files": {"main.py": b"x", "../escape.py": b"x"}}, "escape.py", id="path-escape"
        ),
    ],
)
def test_bad_requests_are_invalid_argument(
    stub: Any, fields: dict[str, Any], expected: str
) -> None:
    details = rpc_error(INVALID, execute, stub, **fields)
    assert expected in details, details


def test_the_pool_still_serves_after_refusals(stub: Any) -> None:
    for _ in range(2):
        rpc_error(INVALID, execute, stub, files={"x.py": b""})
    assert [r.stdout for r in execute(stub, files={"main.py": b"print('ok')"})] == [b"ok\n"]
