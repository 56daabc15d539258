"""What an environment poses: one task, and the protocol every task source meets.

A task source is the plug point between data (files, generators, a server's catalogue)
and environments. Environments only need random access by position (to sample with
their own seeded generator) and lookup by id (so a trainer can ask for the same task
again, or score a response against a task it got elsewhere).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from rlvr_gym.errors import DataError, RlvrGymError, did_you_mean

__all__ = ["MathTask", "TaskIndexError", "TaskSource", "check_index", "unknown_task_error"]


class TaskIndexError(RlvrGymError, IndexError):
    """A task position is out of range.

    Also an :class:`IndexError`, so sources stay iterable through the sequence protocol
    and callers' existing ``except IndexError`` keeps working.
    """


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class MathTask:
    """One math problem with its reference answer.

    Attributes:
        task_id: Stable identifier, unique within its source; used to look the task up
            again (``TaskSource.get``) and reported in every step's ``info``.
        prompt: The problem statement only. Instructions such as "put your final answer
            within \\boxed{}" belong to the environment's prompt template, so the same
            task can be posed in different formats.
        answer: The gold answer as LaTeX or plain text, in the form the math reward
            parses (e.g. ``"27"``, ``"\\frac{3}{4}"``, ``"(1, -2)"``).
        metadata: Extra read-only fields from the data set or generator (subject,
            level, generator parameters, ...). May reveal the answer: environments do
            not show it to the policy.
    """

    task_id: str
    prompt: str
    answer: str
    metadata: Mapping[str, Any] = field(default_factory=lambda: _freeze(None))

    def __post_init__(self) -> None:
        for name in ("task_id", "prompt", "answer"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise DataError(
                    f"MathTask.{name} must be a str, got {type(value).__name__} ({value!r})"
                )
        object.__setattr__(self, "metadata", _freeze(self.metadata))


@runtime_checkable
class TaskSource(Protocol):
    """A finite, indexable collection of :class:`MathTask`.

    Implementations must be deterministic: ``source[i]`` returns the same task every
    time, so seeded environments are reproducible.
    """

    @property
    def name(self) -> str:
        """Short human-readable name (file stem, generator name) for logs and CLIs."""
        ...

    def __len__(self) -> int:
        """Number of tasks."""
        ...

    def __getitem__(self, index: int) -> MathTask:
        """Task at ``index`` (negative indices count from the end).

        Raises:
            TaskIndexError: If ``index`` is out of range.
        """
        ...

    def get(self, task_id: str) -> MathTask:
        """Task with id ``task_id``.

        Raises:
            DataError: If no task has that id; the message suggests the closest id.
        """
        ...


def check_index(index: int, size: int, source_name: str) -> int:
    """Normalise a possibly negative ``index`` against ``size``.

    Shared by sources so every one reports out-of-range positions the same way.

    Args:
        index: Requested position.
        size: Number of tasks in the source.
        source_name: Used in the error message.

    Returns:
        The equivalent non-negative position.

    Raises:
        TaskIndexError: If ``index`` is outside ``[-size, size)``.
        TypeError: If ``index`` is not an integer.
    """
    if isinstance(index, bool) or not hasattr(index, "__index__"):
        raise TypeError(f"task index must be an int, got {type(index).__name__}")
    position = index.__index__()
    if position < 0:
        position += size
    if not 0 <= position < size:
        raise TaskIndexError(
            f"task index {index} is out of range for {source_name!r} with {size} tasks "
            f"(valid: 0..{size - 1} or -{size}..-1)"
        )
    return position


def unknown_task_error(task_id: str, source_name: str, known: list[str]) -> DataError:
    """Build the error for a missing task id, with a did-you-mean hint.

    Args:
        task_id: The id that was asked for.
        source_name: Used in the message.
        known: Candidate ids for the suggestion (a sample is enough for huge sources).

    Returns:
        The error to raise.
    """
    hint = did_you_mean(task_id, known)
    return DataError(f"unknown task id {task_id!r} in {source_name!r}{hint}")
