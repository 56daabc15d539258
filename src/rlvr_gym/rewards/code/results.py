"""What a code judge reports: per-test outcomes and one overall verdict.

Why a separate verdict vocabulary from the sandbox's run statuses: a run can be ``ok``
and still print the wrong answer, and an ``infra_error`` must never be folded into a
reward. Judges map runs to :class:`TestOutcome`; rewards map a :class:`JudgeResult` to a
number, or to ``None`` when the infrastructure failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["JudgeResult", "JudgeStatus", "TestOutcome", "TestStatus", "truncate"]

TestStatus = Literal[
    "passed",
    "wrong_answer",
    "runtime_error",
    "timeout",
    "memory_limit",
    "output_limit",
    "compile_error",
    "not_run",
    "infra_error",
]
JudgeStatus = Literal[
    "passed",  # every test passed
    "failed",  # at least one test did not pass (wrong answer, crash, limit)
    "compile_error",
    "no_answer",  # no program could be extracted from the response
    "infra_error",  # the sandbox or judge failed: mask, never score
]
DETAIL_CHARS = 1000


def truncate(text: str, limit: int = DETAIL_CHARS) -> str:
    """Shorten ``text`` for details shown to users and models, marking the cut."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"... [{len(text) - limit} more chars]"


@dataclass(frozen=True)
class TestOutcome:
    """One test's result, with truncated input/expected/got for feedback.

    Attributes:
        index: position of the test in the task.
        status: ``passed`` or why not.
        input: the test input (stdin, or the call's arguments), truncated.
        expected: the expected output or value, truncated.
        got: what the program produced, truncated.
        detail: error text (stderr tail, exception, checker message), truncated.
        cpu_s: CPU seconds of the run, when known.
    """

    __test__ = False  # not a pytest class

    index: int
    status: TestStatus
    input: str = ""
    expected: str = ""
    got: str = ""
    detail: str = ""
    cpu_s: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether this test passed."""
        return self.status == "passed"


@dataclass(frozen=True)
class JudgeResult:
    """A program's verdict on a task.

    Attributes:
        status: overall verdict; ``infra_error`` means no verdict could be reached.
        tests: per-test outcomes, in task order (empty for no_answer/compile errors).
        passed: tests passed.
        total: tests in the task.
        detail: a human-readable reason (compiler output, load error, infra failure).
    """

    status: JudgeStatus
    tests: tuple[TestOutcome, ...] = ()
    passed: int = 0
    total: int = 0
    detail: str = ""

    @property
    def fraction(self) -> float:
        """Share of tests passed (0 for a task without tests)."""
        return self.passed / self.total if self.total else 0.0

    def first_failure(self) -> TestOutcome | None:
        """The first test that did not pass, for repair feedback."""
        return next((t for t in self.tests if not t.passed), None)
