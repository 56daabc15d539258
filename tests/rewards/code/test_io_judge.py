"""The stdin/stdout judge against a real Docker sandbox, plus its rules on canned runs.

The Docker tests reuse the sandbox tests' skip rule (skip only where no daemon can run
and ``CI`` is not ``"true"``) and leak check; one module-scoped pool of two containers
serves them all. Tests of pure verdict logic (validation, infra errors) use a fake
sandbox that returns canned results, so they run everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest

import tests.sandbox.test_docker_pool as pool_tests
from rlvr_gym.errors import ConfigError
from rlvr_gym.rewards.code.io_judge import ajudge_io, judge_io
from rlvr_gym.rewards.code.tasks import CallCase, CodeTask, IOTest
from rlvr_gym.sandbox.api import ExecutionResult, Sandbox
from rlvr_gym.sandbox.types import ExecutionLimits

image = pool_tests.image  # the shared image fixture (builds or reuses the sandbox image)
py = pool_tests.py

LIMITS = ExecutionLimits(cpu_s=1, wall_s=3, memory_bytes=256 * 1024 * 1024)
ADD = (IOTest("1 2\n", "3\n"), IOTest("10 -4\n", "6\n"), IOTest("0 0\n", "0\n"))
ADD_PY = "a, b = map(int, input().split())\nprint(a + b)\n"
ADD_CPP = "#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b; }\n"

# Accepts when the output's tokens equal the answer's; reads its files from argv.
TOKEN_CHECKER = py(
    """
    import sys
    _, inp, out, ans = sys.argv
    got, want = open(out).read().split(), open(ans).read().split()
    if got != want:
        print(f"want {want}, got {got}")
        sys.exit(1)
    """
)


docker_test = pool_tests.docker_test


def task(**kwargs: Any) -> CodeTask:
    kwargs.setdefault("io_tests", ADD)
    return CodeTask(task_id="t/0", prompt="add two numbers", **kwargs)


@pytest.fixture(scope="module")
def sandbox(image: str) -> Iterator[Sandbox]:
    with pool_tests.leak_checked(pool_size=2, limits=LIMITS) as box:
        yield box


class Spy:
    """Delegates to a real sandbox, counting calls (compile-once, skipped checkers)."""

    def __init__(self, inner: Sandbox) -> None:
        self.inner = inner
        self.limits = inner.limits
        self.batches = 0
        self.runs = 0

    def run_batch(self, code: str, inputs: Sequence[str], **kwargs: Any) -> list[ExecutionResult]:
        self.batches += 1
        return self.inner.run_batch(code, inputs, **kwargs)

    def run(self, code: Mapping[str, str | bytes], **kwargs: Any) -> ExecutionResult:
        self.runs += 1
        return self.inner.run(code, **kwargs)


# --- real sandbox -------------------------------------------------------------------------


@docker_test
def test_correct_python_passes_every_test(sandbox: Sandbox) -> None:
    result = judge_io(sandbox, task(), ADD_PY)
    assert (result.status, result.passed, result.total) == ("passed", 3, 3)
    assert [t.got for t in result.tests] == ["3\n", "6\n", "0\n"]
    assert result.first_failure() is None


@docker_test
def test_wrong_answer_says_where(sandbox: Sandbox) -> None:
    result = judge_io(sandbox, task(), "a, b = map(int, input().split())\nprint(a - b)\n")
    assert (result.status, result.passed) == ("failed", 1)  # 0 - 0 == 0 + 0
    first = result.first_failure()
    assert first is not None
    assert (first.index, first.status, first.input, first.expected, first.got) == (
        0,
        "wrong_answer",
        "1 2\n",
        "3\n",
        "-1\n",
    )
    assert first.detail == "token 1: expected '3', got '-1'"


@docker_test
def test_runtime_error_keeps_the_traceback_end(sandbox: Sandbox) -> None:
    program = "import sys\nprint('partial')\nsys.stdout.flush()\n1 / 0\n"
    result = judge_io(sandbox, task(io_tests=ADD[:1]), program)
    (outcome,) = result.tests
    assert (result.status, outcome.status, outcome.got) == ("failed", "runtime_error", "partial\n")
    assert outcome.detail.startswith("exit code 1\n")
    assert "ZeroDivisionError" in outcome.detail


@docker_test
def test_busy_loop_is_a_timeout(sandbox: Sandbox) -> None:
    result = judge_io(sandbox, task(io_tests=ADD[:1]), "while True:\n    pass\n")
    (outcome,) = result.tests
    assert (result.status, outcome.status) == ("failed", "timeout")
    assert outcome.detail.startswith("time limit exceeded")


@docker_test
def test_cpp_compiles_once_and_passes(sandbox: Sandbox) -> None:
    spy = Spy(sandbox)
    result = judge_io(spy, task(language="cpp"), ADD_CPP)  # type: ignore[arg-type]
    assert (result.status, result.passed, spy.batches, spy.runs) == ("passed", 3, 1, 0)


@docker_test
def test_cpp_compile_error_has_compiler_output(sandbox: Sandbox) -> None:
    result = judge_io(sandbox, task(language="cpp"), "int main( { return 0 }\n")
    assert (result.status, result.tests, result.passed, result.total) == ("compile_error", (), 0, 3)
    assert "main.cpp" in result.detail and "error" in result.detail


@docker_test
def test_checker_accepts_and_rejects(sandbox: Sandbox) -> None:
    checked = task(comparator="checker", checker=TOKEN_CHECKER)
    assert judge_io(sandbox, checked, ADD_PY).status == "passed"
    rejected = judge_io(sandbox, checked, "print(3)\n")
    assert [t.status for t in rejected.tests] == ["passed", "wrong_answer", "wrong_answer"]
    assert rejected.tests[1].detail == "want ['6'], got ['3']"


@docker_test
def test_checker_sees_input_and_a_failing_assert_rejects(sandbox: Sandbox) -> None:
    # Accepts any pair summing to the input's first number: many right answers.
    checker = py(
        """
        n = int(open("input.txt").read())
        x, y = map(int, open("output.txt").read().split())
        assert x + y == n, f"{x} + {y} != {n}"
        """
    )
    tests = (IOTest("5\n", "2 3\n"), IOTest("7\n", "3 4\n"))
    checked = task(io_tests=tests, comparator="checker", checker=checker)
    assert judge_io(sandbox, checked, "n = int(input())\nprint(n, 0)\n").status == "passed"
    result = judge_io(sandbox, checked, "n = int(input())\nprint(n, 1)\n")
    assert [t.status for t in result.tests] == ["wrong_answer", "wrong_answer"]
    assert result.tests[0].detail == "5 + 1 != 5"


@docker_test
def test_checker_crash_is_infra_error(sandbox: Sandbox) -> None:
    checked = task(comparator="checker", checker="import sys\nint(open('output.txt').read())\n")
    result = judge_io(sandbox, checked, "print('not a number')\n")
    assert (result.status, result.tests) == ("infra_error", ())
    assert "checker failed on test 0" in result.detail and "ValueError" in result.detail


@docker_test
def test_float_comparator_uses_task_tolerance(sandbox: Sandbox) -> None:
    tests = (IOTest("3\n", "0.333333333\n"), IOTest("8\n", "0.125\n"))
    floats = task(io_tests=tests, comparator="float", abs_tol=1e-6, rel_tol=1e-6)
    assert judge_io(sandbox, floats, "print(f'{1 / int(input()):.7f}')\n").status == "passed"
    coarse = judge_io(sandbox, floats, "print(f'{1 / int(input()):.2f}')\n")
    assert [t.status for t in coarse.tests] == ["wrong_answer", "wrong_answer"]
    assert "error" in coarse.tests[0].detail
    loose = replace(floats, abs_tol=1e-2, rel_tol=0.0)
    assert judge_io(sandbox, loose, "print(f'{1 / int(input()):.2f}')\n").status == "passed"
    exact_tokens = replace(floats, comparator="tokens")
    assert judge_io(sandbox, exact_tokens, "print(f'{1 / int(input()):.7f}')\n").passed == 0


@docker_test
def test_partial_credit(sandbox: Sandbox) -> None:
    program = "a, b = map(int, input().split())\nprint(a + b if a else 99)\n"
    tests = (*ADD, IOTest("0 5\n", "5\n"))
    result = judge_io(sandbox, task(io_tests=tests), program)
    assert (result.status, result.passed, result.total, result.fraction) == ("failed", 2, 4, 0.5)
    assert [t.passed for t in result.tests] == [True, True, False, False]


@docker_test
def test_stop_on_first_failure_marks_the_rest_not_run(sandbox: Sandbox) -> None:
    program = "a, b = map(int, input().split())\nprint(a * b)\n"  # fails test 0, passes 2
    result = judge_io(sandbox, task(), program, stop_on_first_failure=True)
    assert [t.status for t in result.tests] == ["wrong_answer", "not_run", "not_run"]
    assert (result.status, result.passed, result.total) == ("failed", 0, 3)
    assert result.tests[1].input == "10 -4\n" and result.tests[1].got == ""
    full = judge_io(sandbox, task(), program)
    assert [t.status for t in full.tests] == ["wrong_answer", "wrong_answer", "passed"]


@docker_test
def test_stop_on_first_failure_skips_checker_runs(sandbox: Sandbox) -> None:
    spy = Spy(sandbox)
    checked = task(comparator="checker", checker=TOKEN_CHECKER)
    result = judge_io(spy, checked, "print(0)\n", stop_on_first_failure=True)  # type: ignore[arg-type]
    assert [t.status for t in result.tests] == ["wrong_answer", "not_run", "not_run"]
    assert spy.runs == 1


@docker_test
async def test_async_judge_matches_sync(sandbox: Sandbox) -> None:
    checked = task(comparator="checker", checker=TOKEN_CHECKER)
    ok, rejected, broken = await asyncio.gather(
        ajudge_io(sandbox, task(), ADD_PY),
        ajudge_io(sandbox, checked, "print(3)\n"),
        ajudge_io(sandbox, task(language="cpp"), "int main( {"),
    )
    assert (ok.status, ok.passed, [t.got for t in ok.tests]) == ("passed", 3, ["3\n", "6\n", "0\n"])
    assert [t.status for t in rejected.tests] == ["passed", "wrong_answer", "wrong_answer"]
    assert rejected.tests[1].detail == "want ['6'], got ['3']"
    assert broken.status == "compile_error"


# --- verdict rules on canned runs (no Docker) -----------------------------------------------


def canned(status: str, stdout: str = "", detail: str = "") -> ExecutionResult:
    return ExecutionResult(
        status=status,  # type: ignore[arg-type]
        exit_code=0 if status == "ok" else None,
        signal=None,
        stdout=stdout,
        stderr="",
        stdout_bytes=stdout.encode(),
        stderr_bytes=b"",
        stdout_truncated=False,
        stderr_truncated=False,
        cpu_s=0.01,
        wall_s=0.02,
        peak_memory_bytes=0,
        detail=detail,
    )


class FakeSandbox:
    """Returns canned batch results; fails the test if a checker would be run."""

    def __init__(self, results: list[ExecutionResult]) -> None:
        self.results = results
        self.limits = ExecutionLimits()

    def run_batch(self, code: str, inputs: Sequence[str], **kwargs: Any) -> list[ExecutionResult]:
        assert len(inputs) == len(self.results)
        return self.results

    def run(self, code: object, **kwargs: Any) -> ExecutionResult:
        raise AssertionError("no checker run expected")


def test_infra_error_in_any_run_masks_the_whole_result() -> None:
    runs = [canned("ok", "3\n"), canned("ok", "6\n"), canned("infra_error", detail="daemon gone")]
    result = judge_io(FakeSandbox(runs), task(), ADD_PY)  # type: ignore[arg-type]
    assert (result.status, result.tests, result.total) == ("infra_error", (), 3)
    assert result.detail == "test 2: daemon gone"


def test_infra_error_after_a_stop_still_masks() -> None:
    runs = [canned("ok", "0\n"), canned("ok", "6\n"), canned("infra_error", detail="x")]
    fake = FakeSandbox(runs)
    result = judge_io(fake, task(), ADD_PY, stop_on_first_failure=True)  # type: ignore[arg-type]
    assert result.status == "infra_error"


@pytest.mark.parametrize("status", ["runtime_error", "timeout", "memory_limit", "output_limit"])
def test_run_statuses_map_to_test_statuses(status: str) -> None:
    runs = [canned(status), canned("ok", "6\n"), canned("ok", "0\n")]
    result = judge_io(FakeSandbox(runs), task(), ADD_PY)  # type: ignore[arg-type]
    assert [t.status for t in result.tests] == [status, "passed", "passed"]
    assert result.status == "failed" and result.passed == 2


def test_blank_program_is_no_answer() -> None:
    result = judge_io(FakeSandbox([]), task(), "  \n")  # type: ignore[arg-type]
    assert (result.status, result.total) == ("no_answer", 3)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (task(io_tests=()), "no io tests"),
        (task(kind="call", call_cases=(CallCase((1,), 1),)), "kind='io'"),
        (task(comparator="tokenz"), "did you mean 'tokens'"),
        (task(comparator="checker"), "no checker source"),
        (task(comparator="checker", checker="  "), "no checker source"),
    ],
)
def test_bad_tasks_are_config_errors(bad: CodeTask, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        judge_io(FakeSandbox([]), bad, ADD_PY)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=match):
        asyncio.run(ajudge_io(FakeSandbox([]), bad, ADD_PY))  # type: ignore[arg-type]


@docker_test
def test_many_tests_are_split_into_batches_that_fit_a_frame(sandbox: Sandbox) -> None:
    # 300 tests at the default 1 MiB output cap could not share one reply frame.
    tests = tuple(IOTest(f"{i} {i}\n", f"{2 * i}\n") for i in range(300))
    many = replace(task(), io_tests=tests)
    spy = Spy(sandbox)
    result = judge_io(spy, many, ADD_PY)  # type: ignore[arg-type]
    assert (result.status, result.passed, result.total) == ("passed", 300, 300)
    assert spy.batches == 1  # outputs are short: the cap shrinks, one round trip suffices
