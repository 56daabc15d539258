"""The code task model shared by loaders, judges, envs and the CLI.

Why one model for every dataset: HumanEval (``check(candidate)``), MBPP (``assert`` lines),
MBPP+ (inputs with expected outputs) and CodeContests (stdin/stdout) differ only in how
tests are stated. Loaders translate each layout into a :class:`CodeTask`; judges read only
this class, so a new dataset is a new loader, never a new judge.

Trust: everything in a task is trusted (it comes from the dataset, not from the model).
Expected values never enter a sandbox that runs model code, except where a test is opaque
code that computes them (``test_code``), which runs in a separate, non-dumpable process
the model's code cannot read (see the call judge).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["CallCase", "CodeTask", "IOTest", "TaskKind"]

TaskKind = Literal["io", "call"]


@dataclass(frozen=True)
class IOTest:
    """One stdin/stdout test: feed ``stdin``, compare the output with ``expected``."""

    stdin: str
    expected: str


@dataclass(frozen=True)
class CallCase:
    """One function call with known inputs, compared on the trusted side.

    Attributes:
        args: positional arguments as plain data (JSON-like values, tuples and sets allowed).
        expected: the expected return value as plain data.
        atol: absolute tolerance for floats (MBPP+ ``atol``); 0 means exact.
        source: how the test was stated, for the per-test details shown to users/models.
    """

    args: tuple[Any, ...]
    expected: Any
    atol: float = 0.0
    source: str = ""


@dataclass(frozen=True)
class CodeTask:
    """A programming task with its tests.

    Attributes:
        task_id: unique within its dataset (``HumanEval/0``, ``Mbpp/2``, ...).
        prompt: what the model is shown.
        language: ``python`` or ``cpp`` (a key of ``rlvr_gym.sandbox.LANGUAGES``).
        kind: ``io`` (stdin/stdout tests) or ``call`` (function-call tests; Python only).
        io_tests: the stdin/stdout tests of an ``io`` task.
        comparator: how ``io`` output is compared: ``exact``, ``tokens`` (default),
            ``float`` (tokens with ``abs_tol``/``rel_tol``), ``lines_unordered`` or
            ``checker`` (``checker`` source decides).
        abs_tol: absolute float tolerance of the ``float`` comparator.
        rel_tol: relative float tolerance of the ``float`` comparator.
        checker: Python source of a checker program for ``comparator="checker"``; it is run
            in the sandbox with the input, expected output and the program's output.
        entry_point: the function a ``call`` task's program must define.
        setup_code: trusted code run before ``test_code`` in the test process (HumanEval's
            prompt, whose helpers tests may call; MBPP's ``test_imports``).
        test_code: opaque trusted test code calling ``candidate`` (HumanEval's ``check``
            definition; MBPP ``assert`` lines that are not plain ``f(args) == value``).
        call_cases: calls with known inputs and expected values (MBPP+, and asserts of the
            form ``f(args) == literal``), compared on the trusted side.
        reference: a reference solution (a whole program), when the dataset has one.
        metadata: anything else the dataset carries (difficulty, source, ...).
    """

    task_id: str
    prompt: str
    language: str = "python"
    kind: TaskKind = "io"
    io_tests: tuple[IOTest, ...] = ()
    comparator: str = "tokens"
    abs_tol: float = 1e-6
    rel_tol: float = 1e-6
    checker: str | None = None
    entry_point: str | None = None
    setup_code: str = ""
    test_code: str = ""
    call_cases: tuple[CallCase, ...] = ()
    reference: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def num_tests(self) -> int:
        """Tests counted for partial credit: io tests, call cases, plus one for test_code."""
        if self.kind == "io":
            return len(self.io_tests)
        return len(self.call_cases) + (1 if self.test_code.strip() else 0)
