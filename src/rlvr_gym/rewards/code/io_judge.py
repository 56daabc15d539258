"""Judge a program on a stdin/stdout task: run it in the sandbox, compare every output.

Why one batch: the program is compiled once and run once per test in a single sandbox
round trip (:meth:`Sandbox.run_batch`), so a C++ task with 50 tests costs one compile.

Verdict rules, in order:

1. Any run that the sandbox could not carry out (``infra_error``) makes the whole result
   ``infra_error``: a reward must be masked, never computed from a half-judged program.
   This is checked over every run that ran (a sick sandbox taints the batch).
2. A failed compile is ``compile_error`` with the compiler's output as the detail.
3. Each ``ok`` run is compared with the expected output by the task's comparator
   (:mod:`rlvr_gym.rewards.code.compare`): ``passed`` or ``wrong_answer``. A run stopped
   by a limit or a crash keeps the sandbox's name for it (``timeout``, ...).
4. ``passed`` when every test passed, else ``failed``.

The ``checker`` comparator runs the task's trusted Python checker in the sandbox, once
per ``ok`` run, in a fresh work dir holding ``input.txt`` (the test's stdin),
``output.txt`` (the program's stdout, raw bytes) and ``answer.txt`` (the expected
output), like a testlib checker; it is started as ``checker.py input.txt output.txt
answer.txt`` (in ``sys.argv``). Exit code 0 accepts; any other exit (``sys.exit(1)``,
``sys.exit("why")``, a failing ``assert``) rejects, with what the checker printed as the
reason. Exit code 3 (testlib's "fail"), any other uncaught exception, or the checker
hitting a limit is a *checker* failure, a dataset bug: the result is ``infra_error``. So
a checker must reject malformed output itself rather than crash on it.

Judging is written once, as a generator that yields each checker run it needs and
receives the result; :func:`judge_io` drives it and :func:`ajudge_io` runs that in a
worker thread, so the sync and asyncio paths cannot drift apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from rlvr_gym.errors import ConfigError
from rlvr_gym.rewards.code.compare import get_comparator
from rlvr_gym.rewards.code.results import (
    DETAIL_CHARS,
    JudgeResult,
    TestOutcome,
    TestStatus,
    truncate,
)
from rlvr_gym.rewards.code.tasks import CodeTask, IOTest
from rlvr_gym.sandbox.protocol import MAX_FRAME_BYTES

if TYPE_CHECKING:
    from rlvr_gym.sandbox.api import ExecutionResult, Sandbox
    from rlvr_gym.sandbox.types import ExecutionLimits

__all__ = ["CHECKER_FAIL_EXIT", "ajudge_io", "judge_io"]

_MIN_OUTPUT_CAP = 64 * 1024
CHECKER_FAIL_EXIT = 3
"""Exit code of a checker that failed itself (testlib's ``_fail``): ``infra_error``."""

# Trusted wrapper run as main.py: gives the checker testlib-like argv, and turns an
# uncaught exception (other than a failing assert, a deliberate rejection) into the
# checker-failure exit code, so a crash is never mistaken for a rejection.
_CHECKER_MAIN = f"""\
import runpy
import sys
import traceback

sys.argv = ["checker.py", "input.txt", "output.txt", "answer.txt"]
try:
    runpy.run_path("checker.py", run_name="__main__")
except SystemExit:
    raise
except AssertionError as error:
    print(str(error) or "assertion failed (no message)", file=sys.stderr)
    sys.exit(1)
except BaseException:
    traceback.print_exc()
    sys.exit({CHECKER_FAIL_EXIT})
"""

_CheckerFiles = Mapping[str, "str | bytes"]
_Judging = Generator[_CheckerFiles, "ExecutionResult", JudgeResult]


def judge_io(
    sandbox: Sandbox,
    task: CodeTask,
    program: str,
    *,
    limits: ExecutionLimits | None = None,
    stop_on_first_failure: bool = False,
) -> JudgeResult:
    """Run ``program`` on every io test of ``task`` and judge the outputs.

    Args:
        sandbox: where the program (and a checker) runs.
        task: an ``io`` task with at least one test.
        program: the source to judge (see :func:`~rlvr_gym.rewards.code.extract.extract_program`).
        limits: limits of each run, and of each checker run (default: the sandbox's).
        stop_on_first_failure: stop at the first failing test; the rest are ``not_run``
            (the sandbox stops the batch at the first crash or limit; after a wrong
            answer the remaining runs still happen, but are not checked).

    Returns:
        The verdict; ``infra_error`` when the sandbox or the checker failed (mask it).
        A blank program is ``no_answer``.

    Raises:
        ConfigError: the task is not an ``io`` task, has no tests, names an unknown
            comparator or language, or says ``checker`` without checker source.
    """
    inputs = _inputs(task)
    if not program.strip():
        return _no_answer(task)
    runs: list[ExecutionResult] = []
    run_limits = _run_limits(sandbox, task, limits)
    for chunk in _chunks(inputs, run_limits.output_bytes):
        runs += sandbox.run_batch(
            program,
            chunk,
            language=task.language,
            limits=run_limits,
            stop_on_first_failure=stop_on_first_failure,
        )
        if _stopped(runs, stop_on_first_failure):
            break
    judging = _judging(task, runs, stop_on_first_failure)
    try:
        files = next(judging)
        while True:
            files = judging.send(sandbox.run(files, language="python", limits=limits))
    except StopIteration as done:
        result: JudgeResult = done.value
        return result


async def ajudge_io(
    sandbox: Sandbox,
    task: CodeTask,
    program: str,
    *,
    limits: ExecutionLimits | None = None,
    stop_on_first_failure: bool = False,
) -> JudgeResult:
    """:func:`judge_io` for asyncio, in a worker thread (sandbox calls block).

    Raises:
        ConfigError: as :func:`judge_io`.
    """
    return await asyncio.to_thread(
        judge_io,
        sandbox,
        task,
        program,
        limits=limits,
        stop_on_first_failure=stop_on_first_failure,
    )


def _run_limits(
    sandbox: Sandbox, task: CodeTask, limits: ExecutionLimits | None
) -> ExecutionLimits:
    """The run limits, with the output cap cut to what a right answer can need.

    A program printing far more than the longest expected output is wrong anyway, and a
    small cap lets many tests share one sandbox round trip (replies are size-bounded).
    """
    base = limits or sandbox.limits
    longest = max(len(test.expected.encode("utf-8")) for test in task.io_tests)
    cap = max(_MIN_OUTPUT_CAP, 4 * longest + 4096)
    return replace(base, output_bytes=min(base.output_bytes, cap))


def _chunks(inputs: list[str], output_bytes: int) -> list[list[str]]:
    """Split the tests so that each batch's worst-case reply fits in one protocol frame."""
    per_run = 2 * (output_bytes * 4 // 3 + 1024) + 4096  # two base64 streams + fields
    size = max(1, (MAX_FRAME_BYTES - (1 << 20)) // per_run)
    return [inputs[i : i + size] for i in range(0, len(inputs), size)]


def _stopped(runs: Sequence[ExecutionResult], stop: bool) -> bool:
    """Whether a batch ended early (compile error, infra error, or a failure with stop)."""
    if not runs:
        return True
    last = runs[-1]
    return last.status in ("compile_error", "infra_error") or (stop and last.status != "ok")


def _inputs(task: CodeTask) -> list[str]:
    """Validate ``task`` for io judging (before anything runs) and return its stdins."""
    if task.kind != "io":
        raise ConfigError(
            f"task {task.task_id!r} is a {task.kind!r} task; judge_io needs kind='io' "
            "(function-call tasks go to the call judge)"
        )
    if not task.io_tests:
        raise ConfigError(
            f"task {task.task_id!r} has no io tests: nothing to judge (fix its loader)"
        )
    if task.comparator == "checker":
        if not (task.checker and task.checker.strip()):
            raise ConfigError(
                f"task {task.task_id!r} uses comparator 'checker' but has no checker "
                "source; set CodeTask.checker or pick another comparator"
            )
    else:
        get_comparator(task.comparator)  # ConfigError with did-you-mean
    return [test.stdin for test in task.io_tests]


def _no_answer(task: CodeTask) -> JudgeResult:
    return JudgeResult("no_answer", total=len(task.io_tests), detail="the program is blank")


def _judging(task: CodeTask, runs: Sequence[ExecutionResult], stop: bool) -> _Judging:
    """Judge every run in order, yielding checker runs; returns the verdict."""
    total = len(task.io_tests)
    for i, ran in enumerate(runs):
        if ran.status == "infra_error":
            return JudgeResult("infra_error", total=total, detail=f"test {i}: {ran.detail}")
    if runs and runs[0].status == "compile_error":
        detail = truncate(_tail(runs[0].stderr) or runs[0].detail)
        return JudgeResult("compile_error", total=total, detail=detail)
    outcomes: list[TestOutcome] = []
    failed = False
    for i, test in enumerate(task.io_tests):
        run = runs[i] if i < len(runs) else None
        if run is None or (stop and failed):
            outcomes.append(_outcome(i, test, "not_run"))
            continue
        if run.status != "ok":
            outcome = _outcome(i, test, _run_status(run), run, _why(run))
        elif task.comparator == "checker":
            assert task.checker is not None  # checked by _inputs
            check = yield _checker_files(task.checker, test, run)
            verdict = _checker_verdict(check)
            if verdict is None:
                detail = f"checker failed on test {i}: {_why(check)}"
                return JudgeResult("infra_error", total=total, detail=truncate(detail))
            accepted, reason = verdict
            status: TestStatus = "passed" if accepted else "wrong_answer"
            outcome = _outcome(i, test, status, run, reason)
        else:
            same, reason = get_comparator(task.comparator)(
                run.stdout, test.expected, abs_tol=task.abs_tol, rel_tol=task.rel_tol
            )
            outcome = _outcome(i, test, "passed" if same else "wrong_answer", run, reason)
        outcomes.append(outcome)
        failed = failed or not outcome.passed
    passed = sum(o.passed for o in outcomes)
    return JudgeResult(
        "passed" if passed == total else "failed",
        tests=tuple(outcomes),
        passed=passed,
        total=total,
    )


def _outcome(
    index: int,
    test: IOTest,
    status: TestStatus,
    run: ExecutionResult | None = None,
    detail: str = "",
) -> TestOutcome:
    return TestOutcome(
        index=index,
        status=status,
        input=truncate(test.stdin),
        expected=truncate(test.expected),
        got=truncate(run.stdout) if run is not None else "",
        detail=truncate(detail),
        cpu_s=run.cpu_s if run is not None else 0.0,
    )


def _run_status(run: ExecutionResult) -> TestStatus:
    """The test status of a run that did not end normally (same names as the sandbox's)."""
    if run.status in ("runtime_error", "timeout", "memory_limit", "output_limit"):
        return run.status
    raise AssertionError(f"unexpected run status {run.status!r}")  # filtered by _judging


def _why(run: ExecutionResult) -> str:
    """A one-line cause plus the end of stderr (where tracebacks put the error)."""
    if run.status == "timeout":
        cause = f"time limit exceeded ({run.cpu_s:.2f}s CPU, {run.wall_s:.2f}s wall)"
    elif run.status == "memory_limit":
        cause = f"memory limit exceeded (peak {run.peak_memory_bytes / 2**20:.0f} MiB)"
    elif run.status == "output_limit":
        cause = "output limit exceeded"
    elif run.signal is not None:
        cause = f"killed by signal {run.signal}"
    elif run.exit_code is not None:
        cause = f"exit code {run.exit_code}"
    else:
        cause = run.status
    if run.detail:
        cause += f": {run.detail}"
    stderr = _tail(run.stderr)
    return f"{cause}\n{stderr}" if stderr else cause


def _tail(text: str) -> str:
    """The last part of ``text`` that fits in a detail, marking the cut at the front."""
    text = text.strip()
    keep = DETAIL_CHARS - 40
    if len(text) <= keep:
        return text
    return f"[{len(text) - keep} earlier chars] ...{text[-keep:]}"


def _checker_files(checker: str, test: IOTest, run: ExecutionResult) -> _CheckerFiles:
    return {
        "main.py": _CHECKER_MAIN,
        "checker.py": checker,
        "input.txt": test.stdin,
        "output.txt": run.stdout_bytes,
        "answer.txt": test.expected,
    }


def _checker_verdict(check: ExecutionResult) -> tuple[bool, str] | None:
    """``(accepted, reason)`` from a checker run, or ``None`` if the checker failed."""
    if check.status == "ok":
        return True, ""
    if (
        check.status == "runtime_error"
        and check.signal is None
        and check.exit_code not in (None, CHECKER_FAIL_EXIT)
    ):
        said = "\n".join(s for s in (check.stdout.strip(), _tail(check.stderr)) if s)
        return False, said or f"rejected by the checker (exit code {check.exit_code})"
    return None
