"""Checks every single-prompt environment shares (math, code): arguments, resets, steps.

Why shared: the envs must agree on their contract (which reset options exist, when
``step`` is refused, what a bad argument says); one implementation keeps them from
drifting apart.
"""

from __future__ import annotations

from typing import Any

from gymnasium.error import InvalidAction, ResetNeeded

from rlvr_gym.errors import ConfigError, RlvrGymError, did_you_mean

__all__ = [
    "RESET_OPTIONS",
    "InvalidActionError",
    "ResetNeededError",
    "check_step",
    "positive",
    "reset_choice",
]

RESET_OPTIONS = ("task_id", "index")


class ResetNeededError(RlvrGymError, ResetNeeded):
    """``step`` was called before ``reset`` or after the episode ended.

    Also Gymnasium's :class:`~gymnasium.error.ResetNeeded`, the error its
    ``OrderEnforcing`` wrapper raises, so code written for Gymnasium catches it.
    """


class InvalidActionError(RlvrGymError, InvalidAction):
    """The action is not a string (a caller bug, not model output)."""


def positive(name: str, value: int) -> int:
    """``value`` if it is a positive int, else a :class:`ConfigError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive int, got {value!r}")
    return value


def reset_choice(options: dict[str, Any], env: str) -> tuple[str | None, Any]:
    """The ``(task_id, index)`` a reset asks for; both ``None`` means draw one.

    Raises:
        ConfigError: an unknown option, or both given.
    """
    unknown = [key for key in options if key not in RESET_OPTIONS]
    if unknown:
        raise ConfigError(
            f"unknown reset option {unknown[0]!r}; {env} accepts 'task_id' or 'index'"
            f"{did_you_mean(str(unknown[0]), RESET_OPTIONS)}"
        )
    if "task_id" in options and "index" in options:
        raise ConfigError("pass either 'task_id' or 'index' in reset options, not both")
    task_id = str(options["task_id"]) if "task_id" in options else None
    return task_id, options.get("index")


def check_step(started: bool, done: bool, action: object, env: str) -> None:
    """Refuse a step out of turn or with a non-string action.

    Raises:
        ResetNeededError: before ``reset`` or after the episode ended.
        InvalidActionError: ``action`` is not a ``str``.
    """
    if not started:
        raise ResetNeededError("Cannot call env.step() before calling env.reset()")
    if done:
        raise ResetNeededError(
            f"Cannot call env.step() after the episode ended: {env} episodes end after "
            "their last step; call env.reset() for the next task"
        )
    if not isinstance(action, str):
        raise InvalidActionError(f"{env} actions are response strings, got {type(action).__name__}")
