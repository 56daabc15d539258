"""Judge a program on a function-call task with a harness the program cannot influence.

Why not run the tests next to the program: in one interpreter the program can exit
before the tests, return an object equal to everything, patch ``builtins`` or print a
forged verdict. :mod:`rlvr_gym.rewards.code.harness` (shipped as ``main.py``) keeps the
program in a separate, isolated process and only ever takes plain data back; the
expected values of ``call_cases`` never enter the sandbox at all: they are compared here,
on the host, by :func:`values_equal`. ``test_code`` (opaque trusted asserts) must run in
the sandbox; it runs in the harness's non-dumpable process, out of the program's reach.

Verdict rules:

1. The sandbox failed (``infra_error``), or the harness reports a failure that happened
   before any of the program's code ran (a bad payload, ``setup_code`` raising):
   ``infra_error``, to be masked.
2. No authentic result line (the program killed the harness, stopped it, exhausted a
   limit): ``failed`` with zero tests passed. Never ``infra_error``: that would let a
   program escape a negative reward by breaking its judge.
3. ``solution.py`` fails to load (raises, exits, times out): ``failed``, with the error.
4. Otherwise one :class:`TestOutcome` per call case, then one for ``test_code``;
   ``passed`` iff all passed. A blank program is ``no_answer``.

When ``test_code`` hands ``candidate`` something that is not plain data (a function, say),
the test fails with a detail starting ``judge limitation`` and a warning is logged. Not
``infra_error``: a program could provoke it (a value nested to the depth limit, which a
test sends back), and masking would let it dodge the reward.

Equality (:func:`values_equal`) is strict about containers and follows Python's ``==``
for numbers: ``[1, 2]`` is not ``(1, 2)``, ``set`` is not ``frozenset``, ``1 == 1.0``
and ``True == 1`` hold. A float expected value (or ``atol > 0``) allows
``|got - expected| <= atol`` or a relative error up to 1e-6 of the *expected* value (not
:func:`math.isclose`'s larger-of-both); infinities must match exactly, ``nan`` matches
only ``nan``. Set elements and dict keys compare with plain ``==``. Generators, ranges and
other iterators come back as lists.
"""

from __future__ import annotations

import asyncio
import cmath
import functools
import hashlib
import logging
import math
import secrets
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from rlvr_gym.errors import ConfigError, DataError
from rlvr_gym.rewards.code import harness
from rlvr_gym.rewards.code.results import (
    JudgeResult,
    JudgeStatus,
    TestOutcome,
    TestStatus,
    truncate,
)
from rlvr_gym.rewards.code.tasks import CallCase, CodeTask
from rlvr_gym.sandbox.api import ExecutionResult
from rlvr_gym.sandbox.errors import SandboxError
from rlvr_gym.sandbox.types import ExecutionLimits, ExecutionRequest, RunResult

if TYPE_CHECKING:
    from rlvr_gym.sandbox.api import Sandbox

__all__ = [
    "HARNESS_ARGV",
    "CallJudgeConfig",
    "ajudge_call",
    "fill_expected",
    "harness_source",
    "judge_call",
    "short_repr",
    "values_equal",
    "wire_source",
]

_log = logging.getLogger(__name__)
HARNESS_ARGV = ("python3", "main.py")
"""How the harness is started: as a plain ``python3 <script>``, which the Docker sandbox
runs as a fork of its zygote - a process that never holds request data - so the
candidate, forked before the harness reads its payload, finds no test data in memory
(the process backend execs a fresh interpreter instead). The harness takes the work dir,
which the candidate can write, off its ``sys.path`` before importing anything else."""
HARNESS_MAIN = (
    "import sys\n\n"
    "for name in ('rlvr_harness', 'rlvr_wire'):  # use the copies sent with this request\n"
    "    sys.modules.pop(name, None)\n"
    "import rlvr_harness\n\n"
    "raise SystemExit(rlvr_harness.main())\n"
)
"""The script run when the harness is sent along as ``rlvr_harness.py``/``rlvr_wire.py``."""
_NOT_PRELOADED = 97
_PRELOADED_MAIN = """\
import hashlib
import sys

for name, want in {digests!r}.items():
    try:
        with open(sys.modules[name].__file__, "rb") as fh:
            same = hashlib.sha256(fh.read()).hexdigest() == want
    except (KeyError, OSError, TypeError):
        same = False
    if not same:
        sys.stderr.write("rlvr-harness: no preloaded copy of %s\\n" % name)
        raise SystemExit({code})
import rlvr_harness

raise SystemExit(rlvr_harness.main())
"""
"""The script run first: the Docker sandbox's zygote preloads (and has compiled) the
harness baked into the image, so only a check that it is this very version travels; a
sandbox without it (the process backend, an older image) answers with exit code
:data:`_NOT_PRELOADED`, and from then on the harness is sent with every request."""
_preloaded: weakref.WeakKeyDictionary[Sandbox, bool] = weakref.WeakKeyDictionary()
HARNESS_ENV = {"PYTHONHASHSEED": "0"}
"""A fixed hash seed: reference and candidate runs then order sets of strings alike (an
MBPP+ reference returning ``tuple(set(words))`` is reproducible only that way)."""
_MiB = 1024 * 1024
REL_TOL = 1e-6
_CASE_STATUSES = frozenset({"value", "error", "timeout", "crash", "not_run"})
_TEST_STATUSES = _CASE_STATUSES - {"value"} | {"passed", "failed", "limitation"}
_BRACKETS: dict[type, str] = {list: "[]", tuple: "()", set: "{}", frozenset: "{}", dict: "{}"}
_NOT_PASSED: dict[str, TestStatus] = {
    "error": "runtime_error",
    "crash": "runtime_error",
    "limitation": "runtime_error",
    "failed": "wrong_answer",
    "timeout": "timeout",
    "not_run": "not_run",
}


@dataclass(frozen=True)
class CallJudgeConfig:
    """How a function-call task is judged.

    Attributes:
        call_timeout_s: wall seconds one call may take (arguments sent, value returned).
        load_timeout_s: wall seconds ``solution.py`` may take to import.
        limits: limits of the whole run (harness, program and every call). ``None``: the
            sandbox's limits with ``cpu_s=10``, ``wall_s=20`` and at least 4 MiB of
            output (the harness reports every returned value on its stdout). The harness
            stops calling shortly before ``wall_s`` so it can still report.
        stop_on_first_failure: skip the remaining calls (and ``test_code``) after a call
            that raised, timed out or crashed. Wrong values are only known on the host,
            after the run, so they never stop it.
    """

    call_timeout_s: float = 4.0
    load_timeout_s: float = 5.0
    limits: ExecutionLimits | None = None
    stop_on_first_failure: bool = False

    def __post_init__(self) -> None:
        for name in ("call_timeout_s", "load_timeout_s"):
            value = getattr(self, name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not (number and 0 < value < math.inf):
                raise ConfigError(
                    f"CallJudgeConfig.{name} must be a positive number of seconds, got {value!r}"
                )

    def run_limits(self, sandbox: Sandbox) -> ExecutionLimits:
        """The limits of one harness run on ``sandbox``."""
        if self.limits is not None:
            return self.limits
        base = sandbox.limits
        output = max(base.output_bytes, 4 * _MiB)
        return replace(base, cpu_s=10.0, wall_s=20.0, output_bytes=output)


def values_equal(got: Any, expected: Any, atol: float = 0.0) -> bool:
    """Whether a returned plain value equals the expected one (rules: module docstring)."""
    numbers = (bool, int, float, complex)
    if type(got) in numbers and type(expected) in numbers:
        return _numbers_equal(got, expected, atol)
    if type(got) is not type(expected):
        return False
    if type(expected) in (list, tuple):
        return len(got) == len(expected) and all(
            values_equal(g, e, atol) for g, e in zip(got, expected)
        )
    if type(expected) is dict:
        return got.keys() == expected.keys() and all(
            values_equal(got[key], value, atol) for key, value in expected.items()
        )
    return bool(got == expected)  # None, str, bytes, bytearray, set, frozenset: plain data


def _numbers_equal(got: Any, expected: Any, atol: float) -> bool:
    if got == expected:
        return True
    if type(expected) not in (float, complex) and not atol:
        return False
    try:
        a, b = complex(got), complex(expected)
    except OverflowError:  # a huge int is not close to any float that fits
        return False
    if not (cmath.isfinite(a) and cmath.isfinite(b)):  # part by part: exact, nan ~ nan
        pairs = ((a.real, b.real), (a.imag, b.imag))
        return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in pairs)
    return abs(a - b) <= atol or abs(a - b) <= REL_TOL * abs(b)


def judge_call(
    sandbox: Sandbox, task: CodeTask, program: str, *, config: CallJudgeConfig | None = None
) -> JudgeResult:
    """Judge ``program`` on a ``call`` task: every call case, then ``test_code``.

    Args:
        sandbox: where the harness and the program run.
        task: a ``kind="call"`` Python task with an ``entry_point``.
        program: the model's whole program (it must define the entry point).
        config: timeouts and limits (default :class:`CallJudgeConfig`).

    Returns:
        The verdict; ``infra_error`` only when the sandbox or the task failed, never for
        anything the program did.

    Raises:
        ConfigError: the task is not a Python call task with tests.
        DataError: a case's arguments are not plain data.
    """
    config = _scaled(config or CallJudgeConfig(), task, sandbox)
    _check_task(task)
    total = task.num_tests
    if not program.strip():
        return JudgeResult("no_answer", total=total, detail="the program is blank")
    run, report = _run(sandbox, task, program, task.call_cases, task.test_code, config)
    if not isinstance(report, dict):
        return _broken(task, run, report)
    if report.get("load_error") is not None:
        detail = f"{harness.SOLUTION_FILE} failed to load: {report['load_error']}"
        skipped = tuple(TestOutcome(i, "not_run", detail="not loaded") for i in range(total))
        return JudgeResult("failed", skipped, 0, total, truncate(_with_log(detail, report)))
    outcomes = [
        _case_outcome(i, task.entry_point or "", case, result)
        for i, (case, result) in enumerate(zip(task.call_cases, report["cases"]))
    ]
    if task.test_code.strip():
        outcomes.append(_test_outcome(len(outcomes), report["test"]))
    passed = sum(outcome.passed for outcome in outcomes)
    status: JudgeStatus = "passed" if passed == total else "failed"
    detail = "" if status == "passed" else _with_log(_first_problem(outcomes), report)
    return JudgeResult(status, tuple(outcomes), passed, total, truncate(detail))


async def ajudge_call(
    sandbox: Sandbox, task: CodeTask, program: str, *, config: CallJudgeConfig | None = None
) -> JudgeResult:
    """:func:`judge_call` in a worker thread, so the event loop keeps running."""
    return await asyncio.to_thread(judge_call, sandbox, task, program, config=config)


def fill_expected(
    sandbox: Sandbox, task: CodeTask, *, config: CallJudgeConfig | None = None
) -> CodeTask:
    """Compute each call case's expected value by running the task's reference solution.

    For datasets that state inputs but not outputs (MBPP+). A case on which the reference
    raises, times out or crashes is *dropped*, not kept as "must raise": an exception is
    not plain data, and comparing exception types across solutions rewards accidents.
    Dropped cases are listed in ``metadata["fill_expected_dropped"]`` as
    ``(index, reason)`` pairs (indices into the original ``call_cases``). After a crash
    or timeout the harness cannot go on, so the remaining cases get a fresh run.

    The reference gets generous time (:data:`REFERENCE_SLACK` times the call timeout, at
    least 30 s a call), so the set of cases kept does not depend on how busy the machine
    is; the slowest kept case's time is recorded in ``metadata["reference_max_call_s"]``.

    Raises:
        ConfigError: the task is not a Python call task, or has no reference.
        DataError: the reference does not load, gives no result, or fails on every case
            (a task left without tests must be masked, not scored).
        SandboxError: the sandbox failed (``infra_error``).
    """
    config = _reference_config(config or CallJudgeConfig(), sandbox)
    _check_task(task, need_tests=False)
    if not task.reference:
        raise ConfigError(f"task {task.task_id}: fill_expected needs task.reference")
    kept: list[CallCase] = []
    dropped: list[tuple[int, str]] = []
    start, slowest, total = 0, 0.0, 0.0
    while start < len(task.call_cases):
        run, report = _run(sandbox, task, task.reference, task.call_cases[start:], "", config)
        if not isinstance(report, dict):
            if run.status == "infra_error" or report.startswith("harness_error"):
                raise SandboxError(f"task {task.task_id}: fill_expected failed: {report}")
            raise DataError(f"task {task.task_id}: the reference gave no result: {report}")
        if report.get("load_error") is not None:
            why = report["load_error"]
            raise DataError(f"task {task.task_id}: the reference failed to load: {why}")
        next_start = len(task.call_cases)
        for offset, (case, result) in enumerate(zip(task.call_cases[start:], report["cases"])):
            index = start + offset
            if result["status"] == "value":
                kept.append(replace(case, expected=result["value"]))
                slowest = max(slowest, float(result.get("wall_s") or 0.0))
                total += float(result.get("wall_s") or 0.0)
            elif result["status"] == "not_run":
                next_start = min(next_start, index)
            else:
                dropped.append((index, f"{result['status']}: {result.get('error', '')}"))
        if next_start == start:  # cannot happen today; never loop forever if it does
            dropped.append((start, "not run"))
            next_start += 1
        start = next_start
    if task.call_cases and not kept:
        raise DataError(
            f"task {task.task_id}: the reference failed on every case ({dropped[0][1]}); "
            "the task has no usable tests"
        )
    metadata = MappingProxyType(
        {
            **task.metadata,
            "expected_pending": False,
            "fill_expected_dropped": tuple(dropped),
            "reference_max_call_s": slowest,
            "reference_total_s": total,
        }
    )
    return replace(task, call_cases=tuple(kept), metadata=metadata)


def _scaled(config: CallJudgeConfig, task: CodeTask, sandbox: Sandbox) -> CallJudgeConfig:
    """Time limits stretched for tasks whose reference is slow (as EvalPlus scales them).

    A program gets at least :data:`TIME_FACTOR` times what the reference took, per call
    and in total, so a correct but no faster solution is not failed by load.
    """
    slowest = float(task.metadata.get("reference_max_call_s") or 0.0)
    total = float(task.metadata.get("reference_total_s") or 0.0)
    if not slowest and not total:
        return config
    limits = config.run_limits(sandbox)
    budget = TIME_FACTOR * total + 5.0
    limits = replace(limits, cpu_s=max(limits.cpu_s, budget), wall_s=max(limits.wall_s, 2 * budget))
    call_s = max(config.call_timeout_s, TIME_FACTOR * slowest + 1.0)
    return replace(config, call_timeout_s=call_s, limits=limits)


TIME_FACTOR = 4.0
"""A program may take this many times the reference's time (per call and in total)."""
REFERENCE_SLACK = 8.0
"""How many times the judge's call timeout a reference solution may take per call."""


def _reference_config(config: CallJudgeConfig, sandbox: Sandbox) -> CallJudgeConfig:
    limits = config.run_limits(sandbox)
    call_s = max(30.0, REFERENCE_SLACK * config.call_timeout_s)
    limits = replace(limits, cpu_s=max(limits.cpu_s, 120.0), wall_s=max(limits.wall_s, 240.0))
    return replace(config, call_timeout_s=call_s, limits=limits, stop_on_first_failure=False)


# --- running the harness -----------------------------------------------------------------


@lru_cache(maxsize=1)
def harness_source() -> str:
    """The harness's source, sent to the sandbox as ``main.py``."""
    return _source("harness.py")


def wire_source() -> str:
    """The codec's source, sent beside the harness as ``rlvr_wire.py``."""
    return _source("wire.py")


@functools.cache
def _source(name: str) -> str:
    return resources.files("rlvr_gym.rewards.code").joinpath(name).read_text("utf-8")


def _check_task(task: CodeTask, need_tests: bool = True) -> None:
    if task.kind != "call" or task.language != "python" or not task.entry_point:
        raise ConfigError(
            f"task {task.task_id}: the call judge needs kind='call', language='python' and "
            f"an entry_point (got kind={task.kind!r}, language={task.language!r}, "
            f"entry_point={task.entry_point!r}); use judge_io for stdin/stdout tasks"
        )
    if need_tests and not task.num_tests:
        raise ConfigError(f"task {task.task_id} has neither call_cases nor test_code")


def _run(
    sandbox: Sandbox,
    task: CodeTask,
    program: str,
    cases: Sequence[CallCase],
    test_code: str,
    config: CallJudgeConfig,
) -> tuple[ExecutionResult, dict[str, Any] | str]:
    """Run the harness once; returns the run and its checked report, or why there is none.

    A reason starting with ``harness_error`` comes from before the program ran.
    """
    limits = config.run_limits(sandbox)
    nonce = secrets.token_hex(16)
    try:
        encoded = [harness.encode(tuple(case.args)) for case in cases]
    except harness.CodecError as exc:
        why = f"task {task.task_id}: call case arguments must be plain data: {exc}"
        raise DataError(why) from None
    payload = {
        "nonce": nonce,
        "entry_point": task.entry_point,
        "setup_code": task.setup_code if test_code.strip() else "",
        "test_code": test_code,
        "cases": encoded,
        "call_timeout_s": config.call_timeout_s,
        "load_timeout_s": config.load_timeout_s,
        "budget_s": max(limits.wall_s - max(1.0, 0.1 * limits.wall_s), 0.5 * limits.wall_s),
        "stop_on_first_failure": config.stop_on_first_failure,
        "max_result_bytes": max(limits.output_bytes - 4096, 4096),
    }
    stdin = harness.dumps(payload)
    run = None
    if _preloaded.get(sandbox, True):
        run = _execute(sandbox, {"main.py": _preloaded_main()}, program, stdin, limits)
        missing = run.exit_code == _NOT_PRELOADED and "rlvr-harness: no preloaded" in run.stderr
        _preloaded[sandbox] = not missing
        run = None if missing else run
    if run is None:
        files = {
            "main.py": HARNESS_MAIN,
            "rlvr_harness.py": harness_source(),
            "rlvr_wire.py": wire_source(),
        }
        run = _execute(sandbox, files, program, stdin, limits)
    if run.status == "infra_error":
        return run, f"the sandbox failed: {run.detail}"
    report = _find_report(run.stdout_bytes, nonce)
    if isinstance(report, dict):
        problem = _check_report(report, len(cases), bool(test_code.strip()))
        if problem is None:
            return run, report
        report = problem
    if run.status == "ok" and not report.startswith("harness_error"):
        _log.warning("call judge: harness exited cleanly without a valid report: %s", report)
    return run, report


def _execute(
    sandbox: Sandbox, files: dict[str, str], program: str, stdin: bytes, limits: ExecutionLimits
) -> ExecutionResult:
    """One harness run: ``files`` plus the program as ``solution.py``, payload on stdin."""
    data = {name: text.encode() for name, text in files.items()}
    data[harness.SOLUTION_FILE] = program.encode()
    request = ExecutionRequest(HARNESS_ARGV, data, [stdin], limits=limits, env=HARNESS_ENV)
    runs = sandbox.backend.execute(request).runs
    return ExecutionResult.from_run(runs[0] if runs else RunResult.infra_error("no run result"))


@lru_cache(maxsize=1)
def _preloaded_main() -> str:
    digests = {
        "rlvr_harness": hashlib.sha256(harness_source().encode()).hexdigest(),
        "rlvr_wire": hashlib.sha256(wire_source().encode()).hexdigest(),
    }
    return _PRELOADED_MAIN.format(digests=digests, code=_NOT_PRELOADED)


def _find_report(stdout: bytes, nonce: str) -> dict[str, Any] | str:
    """The report of the LAST complete line carrying our nonce, or why there is none."""
    prefix = f"{harness.RESULT_PREFIX} {nonce} ".encode()
    for line in reversed(stdout.split(b"\n")[:-1]):  # the part after the last \n is cut
        if line.startswith(prefix):
            try:
                return harness.loads(line[len(prefix) :], max_bytes=len(line))
            except harness.CodecError as exc:
                return f"the harness's result line is corrupt ({exc})"
    return "the harness printed no result"


def _check_report(report: dict[str, Any], cases: int, has_test: bool) -> str | None:
    if report.get("harness_error") is not None:
        return f"harness_error: {report['harness_error']}"
    if report.get("internal_error") is not None:
        _log.warning("call judge: the harness failed: %s", report["internal_error"])
        return f"the harness failed: {report['internal_error']}"
    results = report.get("cases")
    if report.get("load_error") is not None:
        return None if isinstance(report["load_error"], str) else "malformed report"
    if not isinstance(results, list) or len(results) != cases:
        return "malformed report: wrong number of case results"
    for result in results:
        if not isinstance(result, dict) or result.get("status") not in _CASE_STATUSES:
            return "malformed report: bad case result"
        if result["status"] == "value":
            try:
                result["value"] = harness.decode(result.get("value"))
            except harness.CodecError as exc:
                return f"malformed report: {exc}"
        elif not isinstance(result.get("error"), str):
            return "malformed report: case result without error text"
    test = report.get("test")
    if has_test and not (isinstance(test, dict) and test.get("status") in _TEST_STATUSES):
        return "malformed report: bad test_code result"
    return None


def _broken(task: CodeTask, run: ExecutionResult, reason: str) -> JudgeResult:
    """The verdict when there is no usable report: infra_error only if the program is clear."""
    total = task.num_tests
    if run.status == "infra_error" or reason.startswith("harness_error"):
        return JudgeResult("infra_error", total=total, detail=truncate(reason))
    status: TestStatus = "runtime_error"
    if run.status in ("timeout", "memory_limit", "output_limit"):
        status = run.status
    cause = f"run status {run.status}, exit code {run.exit_code}, signal {run.signal}"
    detail = f"the test harness was killed or disrupted ({cause}): {reason}"
    if run.stderr.strip():
        detail += f"\nstderr: {run.stderr.strip()[-500:]}"
    outcomes = tuple(TestOutcome(i, status, detail=truncate(detail)) for i in range(total))
    return JudgeResult("failed", outcomes, 0, total, truncate(detail))


# --- outcomes ------------------------------------------------------------------------------


def _case_outcome(index: int, name: str, case: CallCase, result: dict[str, Any]) -> TestOutcome:
    call = case.source or f"{name}({', '.join(short_repr(arg) for arg in case.args)})"
    expected = short_repr(case.expected)
    if result["status"] != "value":
        status = _NOT_PASSED[result["status"]]
        detail = truncate(result["error"])
        return TestOutcome(index, status, truncate(call), expected, detail=detail)
    got = result["value"]
    if values_equal(got, case.expected, case.atol):
        return TestOutcome(index, "passed", truncate(call), expected, short_repr(got))
    detail = f"{call} returned {short_repr(got, 200)}, expected {short_repr(case.expected, 200)}"
    if type(got) is not type(case.expected):
        detail += f" (type {type(got).__name__}, expected {type(case.expected).__name__})"
    shown = short_repr(got)
    return TestOutcome(index, "wrong_answer", truncate(call), expected, shown, truncate(detail))


def _test_outcome(index: int, test: dict[str, Any]) -> TestOutcome:
    if test["status"] == "passed":
        return TestOutcome(index, "passed", "test_code")
    error = str(test.get("error", ""))
    if test["status"] == "limitation":
        _log.warning("call judge cannot run this task's test_code as written: %s", error)
    return TestOutcome(index, _NOT_PASSED[test["status"]], "test_code", detail=truncate(error))


def _first_problem(outcomes: Sequence[TestOutcome]) -> str:
    failure = next((o for o in outcomes if not o.passed), None)
    if failure is None:
        return ""
    return f"test {failure.index} ({failure.input}): {failure.status}: {failure.detail}"


def _with_log(detail: str, report: dict[str, Any]) -> str:
    log = str(report.get("log") or "").strip()
    return f"{detail}\nprogram output (tail): {log[-500:]}" if log else detail


def short_repr(value: Any, limit: int = 1000) -> str:
    """``repr`` of plain data cut at about ``limit`` chars, never building a huge string.

    Ints too long for ``repr`` (``sys.set_int_max_str_digits``) are shown by bit length.
    """
    parts: list[str] = []
    budget = [limit]
    _repr_into(value, parts, budget)
    text = "".join(parts)
    return text if budget[0] >= 0 else text[:limit] + "..."


def _repr_into(value: Any, parts: list[str], budget: list[int]) -> None:
    if budget[0] <= 0:
        return
    kind = type(value)
    brackets = _BRACKETS.get(kind)
    if brackets is None or not value:
        try:
            text = repr(value)
        except ValueError:  # an int beyond the str conversion limit
            text = f"<int of {value.bit_length()} bits>" if kind is int else f"<{kind.__name__}>"
        parts.append(text[: budget[0] + 1])
        budget[0] -= len(text)
        return
    opener = "frozenset({" if kind is frozenset else brackets[0]
    parts.append(opener)
    budget[0] -= len(opener)
    items = value.items() if kind is dict else value
    for i, item in enumerate(items):
        if budget[0] <= 0:
            return
        if i:
            parts.append(", ")
            budget[0] -= 2
        if kind is dict:
            _repr_into(item[0], parts, budget)
            parts.append(": ")
            budget[0] -= 2
            item = item[1]
        _repr_into(item, parts, budget)
    closer = ",)" if kind is tuple and len(value) == 1 else brackets[1]
    closer += ")" if kind is frozenset else ""
    parts.append(closer)
    budget[0] -= len(closer)
