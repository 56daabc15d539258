"""Math accuracy reward: answer extraction, normalisation and checked equivalence.

Attributes are resolved lazily so that worker processes importing the grader do not
also import the pool, and the parent of a pool never imports sympy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MathConfig": "rlvr_gym.rewards.math.config",
    "MathReward": "rlvr_gym.rewards.math.reward",
    "grade": "rlvr_gym.rewards.math.reward",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
