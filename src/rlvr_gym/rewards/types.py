"""Result types shared by every reward.

Every reward returns a :class:`RewardResult` instead of raising on model output: the
status tells a trainer whether a zero is the model's fault (``incorrect``,
``no_answer``, ``hedged``, ``timeout``) or ours (``infra_error``), so infrastructure
failures can be masked instead of trained on.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


class Status(str, enum.Enum):
    """Why a response earned its reward."""

    CORRECT = "correct"
    INCORRECT = "incorrect"
    NO_ANSWER = "no_answer"
    HEDGED = "hedged"
    TIMEOUT = "timeout"
    INFRA_ERROR = "infra_error"

    def __str__(self) -> str:
        return self.value


def _freeze(mapping: Mapping[str, float] | None) -> Mapping[str, float]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class RewardResult:
    """The verdict on one response.

    Attributes:
        reward: The scalar reward handed to the trainer.
        status: Why the response earned it (see :class:`Status`).
        extracted: The answer (or program) taken from the response, if any.
        components: Named partial rewards that make up ``reward`` (e.g. accuracy, format).
        detail: A human-readable explanation: the parsed forms compared, the failing
            test, or the error that stopped grading.
    """

    reward: float
    status: Status
    extracted: str | None = None
    components: Mapping[str, float] = field(default_factory=lambda: _freeze(None))
    detail: str = ""

    def __post_init__(self) -> None:
        # The type check first: ``Status(member)`` goes through the enum machinery, and
        # results are built by the hundred per GRPO step (most already hold a Status).
        if self.status.__class__ is not Status:
            object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "components", _freeze(self.components))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # MappingProxyType does not pickle; results cross process boundaries.
        return (
            RewardResult,
            (self.reward, self.status.value, self.extracted, dict(self.components), self.detail),
        )

    @property
    def is_infra_error(self) -> bool:
        """True when the failure is ours, not the model's; trainers should mask it."""
        return self.status is Status.INFRA_ERROR

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for JSON output."""
        return {
            "reward": self.reward,
            "status": self.status.value,
            "extracted": self.extracted,
            "components": dict(self.components),
            "detail": self.detail,
        }
