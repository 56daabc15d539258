"""Conversions between protobuf messages and the library's dataclasses, at the service edge.

Why in one module: the servicers, the client and the remote env all cross the same
boundary, and a field mapped differently in two places is a reward lost in translation.
Requests are validated here, so a bad field becomes one :class:`ConfigError` naming it
(``INVALID_ARGUMENT`` at the servicer), never a half-built task.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Any, cast

from rlvr_gym.errors import ConfigError
from rlvr_gym.proto.v1 import sandbox_service_pb2 as sandbox_pb
from rlvr_gym.proto.v1 import score_pb2 as pb
from rlvr_gym.rewards.code import wire
from rlvr_gym.rewards.code.tasks import CallCase, CodeTask, IOTest
from rlvr_gym.rewards.types import RewardResult, Status
from rlvr_gym.sandbox.types import ExecutionLimits

__all__ = [
    "STATUS_FROM_PROTO",
    "STATUS_TO_PROTO",
    "MathGold",
    "TaskId",
    "TaskRef",
    "code_task_from_proto",
    "fill_score",
    "limits_from_proto",
    "run_to_proto",
    "score_from_proto",
    "score_to_proto",
    "scores_to_proto",
    "task_from_proto",
    "task_to_proto",
    "tasks_to_proto",
    "unknown_status",
]

_COMPARATORS = ("tokens", "exact", "float", "lines_unordered", "checker")


@dataclass(frozen=True)
class TaskId:
    """A task named by its id in the env's dataset."""

    task_id: str


@dataclass(frozen=True)
class MathGold:
    """An inline math task: its gold answer."""

    answer: str


TaskRef = TaskId | MathGold | CodeTask


def task_from_proto(message: pb.Task, field: str = "task") -> TaskRef:
    """The task a request names or carries.

    Raises:
        ConfigError: the task is missing or malformed; the message names the field.
    """
    which = message.WhichOneof("task")
    if which == "task_id":
        if not message.task_id:
            raise ConfigError(f"{field}.task_id is empty")
        return TaskId(message.task_id)
    if which == "math":
        if not message.math.answer.strip():
            raise ConfigError(f"{field}.math.answer is empty")
        return MathGold(message.math.answer)
    if which == "code":
        return code_task_from_proto(message.code, f"{field}.code")
    raise ConfigError(f"{field} is missing: set task_id, math or code")


def code_task_from_proto(message: pb.CodeTask, field: str = "code") -> CodeTask:
    """An inline code task, validated as the ``rlvr_gym/Code-v0`` schema is.

    Raises:
        ConfigError: a field is malformed; the message names it.
    """
    language = message.language or "python"
    if language not in ("python", "cpp"):
        raise ConfigError(f"{field}.language is {language!r}; use 'python' or 'cpp'")
    is_io, is_call = bool(message.io_tests), bool(message.entry_point)
    if is_io == is_call:
        raise ConfigError(
            f"{field}: give io_tests (a stdin/stdout task) or entry_point (a function "
            f"task), {'not both' if is_io else 'one of them'}"
        )
    task_id = message.task_id or "inline"
    if is_io:
        comparator = message.comparator or "tokens"
        if comparator not in _COMPARATORS:
            raise ConfigError(f"{field}.comparator is {comparator!r}; use one of {_COMPARATORS}")
        if comparator == "checker" and not message.checker.strip():
            raise ConfigError(f"{field}.checker is empty but comparator is 'checker'")
        for name in ("abs_tol", "rel_tol"):
            value = getattr(message, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{field}.{name} must be a finite number >= 0, got {value}")
        return CodeTask(
            task_id=task_id,
            prompt=message.prompt,
            language=language,
            kind="io",
            io_tests=tuple(IOTest(t.stdin, t.expected) for t in message.io_tests),
            comparator=comparator,
            abs_tol=message.abs_tol or 1e-6,
            rel_tol=message.rel_tol or 1e-6,
            checker=message.checker or None,
        )
    if language != "python":
        raise ConfigError(f"{field}.language must be 'python' for a function task")
    cases = tuple(
        _case(case, f"{field}.call_cases[{i}]") for i, case in enumerate(message.call_cases)
    )
    if not cases and not message.test_code.strip():
        raise ConfigError(f"{field}: a function task needs call_cases or test_code")
    return CodeTask(
        task_id=task_id,
        prompt=message.prompt,
        language="python",
        kind="call",
        entry_point=message.entry_point,
        setup_code=message.setup_code,
        test_code=message.test_code,
        call_cases=cases,
    )


def _value(message: pb.CallCase, name: str, field: str) -> Any:
    """One value of a call case: tagged when given, else plain JSON."""
    tagged, plain = getattr(message, f"{name}_tagged"), getattr(message, f"{name}_json")
    if tagged and plain:
        raise ConfigError(f"{field}: give {name}_tagged or {name}_json, not both")
    source = f"{field}.{name}_tagged" if tagged else f"{field}.{name}_json"
    try:
        node = json.loads(tagged or plain)
        return wire.decode(node) if tagged else node
    except wire.CodecError as exc:
        raise ConfigError(f"{source} is not a tagged value: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{source} is not JSON: {exc}") from None


def _case(message: pb.CallCase, field: str) -> CallCase:
    args = _value(message, "args", field)
    if not isinstance(args, list | tuple):
        raise ConfigError(f"{field}.args_json must be a JSON array of positional arguments")
    expected = _value(message, "expected", field)
    if not (math.isfinite(message.atol) and message.atol >= 0):
        raise ConfigError(f"{field}.atol must be a finite number >= 0")
    return CallCase(tuple(args), expected, message.atol)


def task_to_proto(task: TaskRef) -> pb.Task:
    """The wire form of a task (the client side of :func:`task_from_proto`).

    Raises:
        ConfigError: a call case whose values JSON cannot carry (tuples become lists).
    """
    if isinstance(task, TaskId):
        return pb.Task(task_id=task.task_id)
    if isinstance(task, MathGold):
        return pb.Task(math=pb.MathTask(answer=task.answer))
    code = pb.CodeTask(
        task_id=task.task_id,
        prompt=task.prompt,
        language=task.language,
        comparator=task.comparator if task.kind == "io" else "",
        abs_tol=task.abs_tol if task.kind == "io" else 0.0,
        rel_tol=task.rel_tol if task.kind == "io" else 0.0,
        checker=task.checker or "",
        entry_point=task.entry_point or "",
        setup_code=task.setup_code,
        test_code=task.test_code,
    )
    code.io_tests.extend(pb.IOTest(stdin=t.stdin, expected=t.expected) for t in task.io_tests)
    for case in task.call_cases:  # tagged: a tuple must arrive as a tuple
        try:
            args = json.dumps(wire.encode(list(case.args)))
            expected = json.dumps(wire.encode(case.expected))
        except (wire.CodecError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"task {task.task_id}: a call case is not plain data: {exc}"
            ) from None
        code.call_cases.append(
            pb.CallCase(args_tagged=args, expected_tagged=expected, atol=case.atol)
        )
    return pb.Task(code=code)


STATUS_TO_PROTO: dict[Status, Any] = {
    status: pb.ScoreStatus.Value(f"SCORE_STATUS_{status.name}") for status in Status
}
STATUS_FROM_PROTO = {value: status for status, value in STATUS_TO_PROTO.items()}


def fill_score(
    message: pb.Score, result: RewardResult, queue_ms: float = 0.0, grading_ms: float = 0.0
) -> pb.Score:
    """Write ``result`` into ``message`` (a fresh one), with where its time went.

    Why fields are set one by one on a message that already exists: it is the cheapest
    way the protobuf runtime offers to build the scores of a large batch (about a third
    of the cost of constructing each ``Score`` and its map from keyword arguments and
    then copying it into the reply), and a GRPO step's reply holds hundreds of them.
    """
    message.reward = result.reward
    message.status = STATUS_TO_PROTO[result.status]
    if result.extracted:
        message.extracted = result.extracted
    message.detail = result.detail
    components = message.components
    for name, value in result.components.items():
        components[name] = value
    timing = message.timing
    timing.queue_ms = queue_ms
    timing.grading_ms = grading_ms
    return message


def score_to_proto(
    result: RewardResult, queue_ms: float = 0.0, grading_ms: float = 0.0
) -> pb.Score:
    """The wire form of a reward result, with where its time went."""
    return fill_score(pb.Score(), result, queue_ms, grading_ms)


def scores_to_proto(
    results: Iterable[RewardResult], into: Any, queue_ms: float = 0.0, grading_ms: float = 0.0
) -> None:
    """Append the wire form of every result to ``into``, a repeated ``Score`` field."""
    add = into.add
    for result in results:
        fill_score(add(), result, queue_ms, grading_ms)


def unknown_status(code: int, detail: str) -> RewardResult:
    """The result for a score whose status this client does not know (see below)."""
    why = f"unknown score status {code} from the server; {detail}"
    return RewardResult(0.0, Status.INFRA_ERROR, None, {}, why)


def score_from_proto(message: pb.Score) -> RewardResult:
    """A reward result from the wire; an unknown status is ``infra_error`` (never a reward).

    Why: a newer server may add a status this client does not know; treating it as the
    service's failure masks the sample instead of training on a misread number.
    """
    status = STATUS_FROM_PROTO.get(message.status)
    if status is None:
        return unknown_status(message.status, message.detail)
    components = message.components
    return RewardResult.unchecked(
        message.reward,
        status,
        message.extracted or None,
        {name: components[name] for name in components} if components else {},
        message.detail,
    )


def tasks_to_proto(tasks: Iterable[TaskRef], into: Any, index: Any) -> None:
    """Each distinct task once into ``into`` (repeated ``Task``), and per response its index.

    Why: a GRPO step sends G responses per prompt; naming the prompt's task once and
    pointing G responses at it (``task_index``) spares both sides G - 1 encodings of the
    same task, and for inline code tasks (tests and all) most of the bytes.
    Tasks are matched by value; one that cannot be hashed is matched by identity.
    """
    seen: dict[Any, int] = {}
    positions = []
    for task in tasks:
        try:
            key: Any = task
            position = seen.get(key)
        except TypeError:  # unhashable contents (e.g. a list in a call case)
            key = ("id", id(task))
            position = seen.get(key)
        if position is None:
            position = seen[key] = len(seen)
            into.append(task_to_proto(task))
        positions.append(position)
    index.extend(positions)


def limits_from_proto(message: sandbox_pb.Limits, default: ExecutionLimits) -> ExecutionLimits:
    """Per-run limits; a field left 0 keeps ``default``'s value.

    Raises:
        ConfigError: a negative or non-finite limit (the message names it).
    """
    changes: dict[str, Any] = {}
    for spec in fields(ExecutionLimits):
        value = getattr(message, spec.name)
        if value < 0 or (isinstance(value, float) and not math.isfinite(value)):
            raise ConfigError(f"limits.{spec.name} must be a finite number >= 0, got {value}")
        if value:
            changes[spec.name] = value
    return replace(default, **changes)


def run_to_proto(result: Any) -> sandbox_pb.RunResult:
    """The wire form of a sandbox :class:`~rlvr_gym.sandbox.api.ExecutionResult`."""
    message = sandbox_pb.RunResult(
        status=cast(Any, sandbox_pb.RunStatus.Value(f"RUN_STATUS_{result.status.upper()}")),
        stdout=result.stdout_bytes,
        stderr=result.stderr_bytes,
        stdout_truncated=result.stdout_truncated,
        stderr_truncated=result.stderr_truncated,
        cpu_s=result.cpu_s,
        wall_s=result.wall_s,
        peak_memory_bytes=result.peak_memory_bytes,
        detail=result.detail,
    )
    if result.exit_code is not None:
        message.exit_code = result.exit_code
    if result.signal is not None:
        message.signal = result.signal
    return message
