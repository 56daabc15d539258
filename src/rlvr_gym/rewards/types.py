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

    @classmethod
    def unchecked(
        cls,
        reward: float,
        status: Status,
        extracted: str | None,
        components: dict[str, float] | MappingProxyType[str, float],
        detail: str,
    ) -> RewardResult:
        """A result built without ``__post_init__``, taking ``components`` as its own.

        Why: the service client decodes hundreds of results per GRPO step from values it
        has just checked (a known :class:`Status`, a fresh dict); the enum lookup and the
        defensive copy were most of the cost of each. Callers must not keep a dict they
        pass; a read-only proxy (whose dict nobody else holds) is kept as it is, so results
        with equal components can share one.
        """
        result = object.__new__(cls)
        fields_ = result.__dict__  # item by item: a third cheaper than update(**kwargs)
        fields_["reward"] = reward
        fields_["status"] = status
        fields_["extracted"] = extracted
        fields_["components"] = (
            components if type(components) is MappingProxyType else MappingProxyType(components)
        )
        fields_["detail"] = detail
        return result

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # MappingProxyType does not pickle; results cross process boundaries. Rebuilt by
        # _unpickle: a worker pool's parent unpickles tens of thousands a second.
        return (
            _unpickle,
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


_STATUS_OF: dict[str, Status] = {status.value: status for status in Status}


def _unpickle(
    reward: float, status: str, extracted: str | None, components: dict[str, float], detail: str
) -> RewardResult:
    """A pickled :class:`RewardResult`, rebuilt without the enum call and the copy.

    An unknown status (a pickle from a newer version) still raises, as the constructor does.
    """
    known = _STATUS_OF.get(status)
    if known is None:
        return RewardResult(reward, Status(status), extracted, components, detail)
    return RewardResult.unchecked(reward, known, extracted, components, detail)
