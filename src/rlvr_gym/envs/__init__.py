"""Gymnasium environments with verifiable rewards, registered as ``rlvr_gym/<Name>-v<N>``.

Importing this package registers the environments, so the Gymnasium way works::

    import gymnasium as gym
    import rlvr_gym.envs

    env = gym.make("rlvr_gym/Math-v0")

Registration uses string entry points and the public names below are imported on first
access, so ``import rlvr_gym.envs`` stays cheap (the CLI lists environments from
:data:`ENV_DESCRIPTIONS` without loading any reward code).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import gymnasium

if TYPE_CHECKING:
    from rlvr_gym.envs.generators import ProceduralMathSource
    from rlvr_gym.envs.math_env import MathEnv
    from rlvr_gym.envs.sources import JsonlTaskSource
    from rlvr_gym.envs.spaces import UnicodeText
    from rlvr_gym.envs.tasks import MathTask, TaskSource

__all__ = [
    "ENV_DESCRIPTIONS",
    "JsonlTaskSource",
    "MathEnv",
    "MathTask",
    "ProceduralMathSource",
    "TaskSource",
    "UnicodeText",
    "register_envs",
]

ENV_DESCRIPTIONS: dict[str, str] = {
    "rlvr_gym/Math-v0": (
        "single-turn math: one response per problem, reward 1 when its final answer is "
        "equivalent to the gold (sympy-checked)"
    ),
}
"""One line per registered environment id, shown by ``rlvr-gym envs``."""

_ENTRY_POINTS: dict[str, str] = {
    "rlvr_gym/Math-v0": "rlvr_gym.envs.math_env:MathEnv",
}

_LAZY: dict[str, str] = {
    "JsonlTaskSource": "rlvr_gym.envs.sources",
    "MathEnv": "rlvr_gym.envs.math_env",
    "MathTask": "rlvr_gym.envs.tasks",
    "ProceduralMathSource": "rlvr_gym.envs.generators",
    "TaskSource": "rlvr_gym.envs.tasks",
    "UnicodeText": "rlvr_gym.envs.spaces",
}


def register_envs() -> None:
    """Register every rlvr-gym environment with Gymnasium; safe to call repeatedly.

    Also the ``gymnasium.envs`` entry point declared in ``pyproject.toml``.
    """
    for env_id, entry_point in _ENTRY_POINTS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rlvr_gym.envs' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


register_envs()
