"""Wire <-> library conversions: round trips, and bad fields named in the error."""

from __future__ import annotations

import math

import pytest

from rlvr_gym.errors import ConfigError
from rlvr_gym.proto.v1 import sandbox_service_pb2 as sandbox_pb
from rlvr_gym.proto.v1 import score_pb2 as pb
from rlvr_gym.rewards.code.tasks import CallCase, CodeTask, IOTest
from rlvr_gym.rewards.types import RewardResult, Status
from rlvr_gym.sandbox.api import ExecutionResult
from rlvr_gym.sandbox.types import ExecutionLimits
from rlvr_gym.server.convert import (
    MathGold,
    TaskId,
    code_task_from_proto,
    limits_from_proto,
    run_to_proto,
    score_from_proto,
    score_to_proto,
    task_from_proto,
    task_to_proto,
)

IO_TASK = CodeTask(
    task_id="sum",
    prompt="add",
    io_tests=(IOTest("1 2\n", "3\n"),),
    comparator="float",
    abs_tol=1e-3,
    rel_tol=1e-4,
)
CALL_TASK = CodeTask(
    task_id="sq",
    prompt="square",
    kind="call",
    entry_point="square",
    call_cases=(CallCase((3,), 9), CallCase(([1, 2],), [1, 4], atol=0.5)),
    test_code="assert square(2) == 4\n",
)


@pytest.mark.parametrize(
    "task", [TaskId("HumanEval/0"), MathGold("\\frac{1}{2}"), IO_TASK, CALL_TASK]
)
def test_tasks_round_trip(task: object) -> None:
    wire = pb.Task.FromString(task_to_proto(task).SerializeToString())  # type: ignore[arg-type]
    assert task_from_proto(wire) == task


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (pb.Task(), "task is missing"),
        (pb.Task(task_id=""), "task.task_id is empty"),
        (pb.Task(math=pb.MathTask(answer=" ")), "task.math.answer"),
        (pb.Task(code=pb.CodeTask(prompt="x")), "task.code: give io_tests"),
        (
            pb.Task(code=pb.CodeTask(entry_point="f", io_tests=[pb.IOTest(stdin="1")])),
            "not both",
        ),
        (pb.Task(code=pb.CodeTask(language="rust", entry_point="f")), "task.code.language"),
        (pb.Task(code=pb.CodeTask(io_tests=[pb.IOTest()], comparator="set")), "comparator"),
        (pb.Task(code=pb.CodeTask(io_tests=[pb.IOTest()], comparator="checker")), "checker"),
        (pb.Task(code=pb.CodeTask(io_tests=[pb.IOTest()], abs_tol=-1)), "task.code.abs_tol"),
        (pb.Task(code=pb.CodeTask(io_tests=[pb.IOTest()], rel_tol=math.nan)), "rel_tol"),
        (pb.Task(code=pb.CodeTask(entry_point="f")), "needs call_cases or test_code"),
        (
            pb.Task(code=pb.CodeTask(entry_point="f", call_cases=[pb.CallCase(args_json="[1")])),
            "task.code.call_cases[0].args_json",
        ),
        (
            pb.Task(code=pb.CodeTask(entry_point="f", call_cases=[pb.CallCase(args_json="1")])),
            "JSON array",
        ),
        (
            pb.Task(
                code=pb.CodeTask(
                    entry_point="f", call_cases=[pb.CallCase(args_json="[]", expected_json="")]
                )
            ),
            "expected_json",
        ),
        (
            pb.Task(code=pb.CodeTask(language="cpp", entry_point="f", test_code="x")),
            "must be 'python'",
        ),
    ],
)
def test_bad_tasks_name_the_field(message: pb.Task, field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        task_from_proto(message)


def test_defaults_of_an_inline_io_task() -> None:
    task = code_task_from_proto(pb.CodeTask(io_tests=[pb.IOTest(stdin="1", expected="1")]))
    assert (task.task_id, task.language, task.comparator, task.kind) == (
        "inline",
        "python",
        "tokens",
        "io",
    )


@pytest.mark.parametrize("status", list(Status))
def test_every_status_round_trips(status: Status) -> None:
    result = RewardResult(0.5, status, "x = 1", {"tests_passed": 1.0}, "why")
    wire = pb.Score.FromString(score_to_proto(result, 1.5, 20.0).SerializeToString())
    assert score_from_proto(wire) == result
    assert (wire.timing.queue_ms, wire.timing.grading_ms) == (1.5, 20.0)


def test_an_unknown_status_from_a_newer_server_is_masked() -> None:
    wire = pb.Score(reward=1.0, status=99, detail="new")  # type: ignore[arg-type]
    result = score_from_proto(wire)
    assert result.status is Status.INFRA_ERROR and result.reward == 0.0


def test_limits_keep_defaults_for_unset_fields_and_refuse_negatives() -> None:
    base = ExecutionLimits()
    assert limits_from_proto(sandbox_pb.Limits(), base) == base
    got = limits_from_proto(sandbox_pb.Limits(cpu_s=1.5, nofile=32), base)
    assert (got.cpu_s, got.nofile, got.wall_s) == (1.5, 32, base.wall_s)
    with pytest.raises(ConfigError, match=r"limits\.wall_s"):
        limits_from_proto(sandbox_pb.Limits(wall_s=-1), base)


def test_run_results_keep_bytes_and_optional_codes() -> None:
    run = ExecutionResult(
        status="runtime_error",
        exit_code=None,
        signal=9,
        stdout="\ufffd",
        stderr="",
        stdout_bytes=b"\xff",
        stderr_bytes=b"",
        stdout_truncated=True,
        stderr_truncated=False,
        cpu_s=0.25,
        wall_s=0.5,
        peak_memory_bytes=1 << 20,
    )
    wire = sandbox_pb.RunResult.FromString(run_to_proto(run).SerializeToString())
    assert wire.status == sandbox_pb.RUN_STATUS_RUNTIME_ERROR
    assert (wire.HasField("exit_code"), wire.signal, wire.stdout) == (False, 9, b"\xff")
    assert wire.stdout_truncated and wire.peak_memory_bytes == 1 << 20
