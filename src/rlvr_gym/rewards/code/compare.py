"""Pinned comparators for stdin/stdout tests: does a program's output match the answer?

Why strict and pinned: a comparator is part of the reward's definition. Lenient matching
(APPS-style sets of tokens, case folding, accepting a prefix or superset of the answer)
rewards wrong programs, and a policy under RL finds such holes quickly. Every
comparator here therefore fails on an extra or a missing token, never folds case and
never reorders anything it was not asked to. Changing one changes rewards: bump the env
version.

The comparators (all treat CRLF as LF; "whitespace" means ASCII whitespace only, so a
no-break space or another Unicode separator in the output is a character, not a gap):

``exact``
    Identical text after CRLF -> LF and removing trailing whitespace at the very end (a
    missing or extra final newline is not a wrong answer; a trailing space on an inner
    line is).
``tokens`` (default)
    The same whitespace-separated tokens in the same order; line structure ignored.
``float``
    Like ``tokens``, except that two tokens which both are finite decimal numbers match
    when ``|got - expected| <= max(abs_tol, rel_tol * |expected|)``: "absolute or
    relative error at most eps", relative to the *expected* value as on Codeforces (not
    :func:`math.isclose`'s larger-of-both, which lets the program's own output widen the
    tolerance). ``nan``/``inf`` and out-of-range numbers must match as text; so must
    anything that is not a plain decimal (``0x10``, ``1_000``).
``lines_unordered``
    The same multiset of lines, each with trailing whitespace removed; blank lines at the
    end are ignored, blank lines elsewhere count.

``checker`` (a task-supplied program) is not here: it needs a sandbox, see
:mod:`rlvr_gym.rewards.code.io_judge`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol

from rlvr_gym.errors import ConfigError, did_you_mean

__all__ = ["COMPARATORS", "Comparator", "compare_output", "get_comparator"]

_WS = " \t\n\r\f\v"
_SPLIT = re.compile(r"[ \t\n\r\f\v]+")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SHOW_CHARS = 40


class Comparator(Protocol):
    """Compares a program's output with the expected output of one test."""

    def __call__(
        self, got: str, expected: str, *, abs_tol: float, rel_tol: float
    ) -> tuple[bool, str]:
        """Return ``(matches, reason)``; ``reason`` is ``""`` on a match."""
        ...


class _Step(Protocol):
    """Compares one item; returns ``None`` on a match, else a suffix for the reason."""

    def __call__(self, got: str, expected: str, /) -> str | None: ...


def _show(text: str | None) -> str:
    """A token or line for a reason message: quoted, cut to a readable length."""
    if text is None:
        return "end of output"
    return repr(text if len(text) <= _SHOW_CHARS else text[:_SHOW_CHARS] + "…")


def _tokens(text: str) -> list[str]:
    return [t for t in _SPLIT.split(text) if t]


def _first_mismatch(
    got: list[str], expected: list[str], what: str, same: _Step
) -> tuple[bool, str]:
    """Walk both sequences in order; report the first item that differs (1-based)."""
    for i in range(max(len(got), len(expected))):
        g = got[i] if i < len(got) else None
        e = expected[i] if i < len(expected) else None
        if g is None or e is None:
            return False, f"{what} {i + 1}: expected {_show(e)}, got {_show(g)}"
        why = same(g, e)
        if why is not None:
            return False, f"{what} {i + 1}: expected {_show(e)}, got {_show(g)}{why}"
    return True, ""


def _same_text(got: str, expected: str, /) -> str | None:
    return None if got == expected else ""


def _exact(
    got: str, expected: str, *, abs_tol: float = 0.0, rel_tol: float = 0.0
) -> tuple[bool, str]:
    """``exact`` comparator (see the module docstring); tolerances are ignored."""
    g = got.replace("\r\n", "\n").rstrip(_WS)
    e = expected.replace("\r\n", "\n").rstrip(_WS)
    if g == e:
        return True, ""
    return _first_mismatch(g.split("\n"), e.split("\n"), "line", _same_text)


def _tokens_equal(
    got: str, expected: str, *, abs_tol: float = 0.0, rel_tol: float = 0.0
) -> tuple[bool, str]:
    """``tokens`` comparator (see the module docstring); tolerances are ignored."""
    return _first_mismatch(_tokens(got), _tokens(expected), "token", _same_text)


def _finite(token: str) -> float | None:
    """The token's value if it is a plain decimal number with a finite float value."""
    if _DECIMAL.fullmatch(token) is None:
        return None
    value = float(token)
    return value if math.isfinite(value) else None


def _floats(
    got: str, expected: str, *, abs_tol: float = 1e-6, rel_tol: float = 1e-6
) -> tuple[bool, str]:
    """``float`` comparator (see the module docstring)."""

    def same(g: str, e: str, /) -> str | None:
        want = _finite(e)
        have = _finite(g) if want is not None else None
        if want is None or have is None:
            return None if g == e else ""
        error = abs(have - want)
        tolerance = max(abs_tol, rel_tol * abs(want))
        return None if error <= tolerance else f" (error {error:.3g} > {tolerance:.3g})"

    return _first_mismatch(_tokens(got), _tokens(expected), "token", same)


def _lines(text: str) -> list[str]:
    lines = [line.rstrip(_WS) for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _lines_unordered(
    got: str, expected: str, *, abs_tol: float = 0.0, rel_tol: float = 0.0
) -> tuple[bool, str]:
    """``lines_unordered`` comparator (see the module docstring); tolerances are ignored."""
    want, have = Counter(_lines(expected)), Counter(_lines(got))
    if want == have:
        return True, ""
    for line, count in want.items():  # insertion order: the expected output's order
        if have[line] < count:
            return False, f"line {_show(line)}: expected {count} time(s), got {have[line]}"
    for line, count in have.items():
        if want[line] < count:
            return False, f"line {_show(line)}: expected {want[line]} time(s), got {count}"
    raise AssertionError("unreachable: the multisets differ")  # pragma: no cover


COMPARATORS: Mapping[str, Comparator] = MappingProxyType(
    {
        "exact": _exact,
        "tokens": _tokens_equal,
        "float": _floats,
        "lines_unordered": _lines_unordered,
    }
)
"""Comparator name -> function, as named by ``CodeTask.comparator``."""


def get_comparator(name: str) -> Comparator:
    """Look a comparator up by name.

    Raises:
        ConfigError: an unknown name (with the closest known one), or ``checker``, which
            runs a program and so only works through ``judge_io``.
    """
    found = COMPARATORS.get(name)
    if found is not None:
        return found
    if name == "checker":
        raise ConfigError(
            "comparator 'checker' runs the task's checker program in a sandbox; "
            "judge the task with rlvr_gym.rewards.code.io_judge.judge_io instead"
        )
    raise ConfigError(
        f"unknown comparator {name!r}; known: {', '.join(COMPARATORS)}, checker"
        f"{did_you_mean(name, [*COMPARATORS, 'checker'])}"
    )


def compare_output(
    got: str,
    expected: str,
    comparator: str = "tokens",
    *,
    abs_tol: float = 1e-6,
    rel_tol: float = 1e-6,
) -> tuple[bool, str]:
    """Compare a program's stdout with a test's expected output.

    Args:
        got: what the program printed.
        expected: the test's expected output.
        comparator: a key of :data:`COMPARATORS` (see the module docstring).
        abs_tol: absolute tolerance of the ``float`` comparator.
        rel_tol: relative tolerance of the ``float`` comparator (relative to ``expected``).

    Returns:
        ``(True, "")`` on a match, else ``(False, reason)`` with a short reason naming
        the first difference, e.g. ``"token 3: expected '5', got '6'"``.

    Raises:
        ConfigError: an unknown comparator, or a negative or non-finite tolerance.
    """
    function = get_comparator(comparator)
    for name, tol in (("abs_tol", abs_tol), ("rel_tol", rel_tol)):
        if not (math.isfinite(tol) and tol >= 0):
            raise ConfigError(f"{name} must be a finite number >= 0, got {tol!r}")
    return function(got, expected, abs_tol=abs_tol, rel_tol=rel_tol)
