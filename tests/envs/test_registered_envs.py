"""Every registered rlvr_gym/* environment passes Gymnasium's own checker."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import rlvr_gym.envs
import rlvr_gym.errors
from rlvr_gym.envs import ENV_DESCRIPTIONS, register_envs

# Discovered from the registry, so an env registered later is covered without edits.
ENV_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("rlvr_gym/"))
CODE_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "code"
# Datasets that are not shipped come from the evaluation data; the checker's random
# actions hold no program, so no sandbox is started.
ENV_KWARGS: dict[str, dict[str, Any]] = {
    "rlvr_gym/HumanEval-v0": {"path": CODE_DATA / "HumanEval.jsonl.gz"},
    "rlvr_gym/MBPP-v0": {"path": CODE_DATA / "mbpp_sanitized.json"},
    "rlvr_gym/MBPPPlus-v0": {"path": CODE_DATA / "mbppplus.json"},
    "rlvr_gym/CodeContests-v0": {"path": CODE_DATA / "code_contests_samples.jsonl"},
}


def test_math_env_is_registered_with_a_string_entry_point() -> None:
    assert "rlvr_gym/Math-v0" in ENV_IDS
    spec = gym.spec("rlvr_gym/Math-v0")
    assert spec.entry_point == "rlvr_gym.envs._entry:make"
    env = gym.make("rlvr_gym/Math-v0")
    try:
        assert type(env.unwrapped).__name__ == "MathEnv"
    finally:
        env.close()


def test_remote_only_arguments_need_remote() -> None:
    with pytest.raises(rlvr_gym.errors.ConfigError, match="token= only applies with remote="):
        gym.make("rlvr_gym/Math-v0", token="x")


def test_register_envs_is_idempotent() -> None:
    before = {env_id: gym.spec(env_id) for env_id in ENV_IDS}
    register_envs()
    register_envs()
    after = sorted(env_id for env_id in gym.registry if env_id.startswith("rlvr_gym/"))
    assert after == ENV_IDS
    assert all(gym.spec(env_id) is before[env_id] for env_id in ENV_IDS)


def test_every_env_has_a_description_and_vice_versa() -> None:
    assert sorted(ENV_DESCRIPTIONS) == ENV_IDS
    assert all(text and "\n" not in text for text in ENV_DESCRIPTIONS.values())


def test_lazy_exports_resolve() -> None:
    assert rlvr_gym.envs.MathEnv.__name__ == "MathEnv"
    assert rlvr_gym.envs.ProceduralMathSource.__name__ == "ProceduralMathSource"
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = rlvr_gym.envs.Nope


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id: str) -> None:
    env = gym.make(env_id, **ENV_KWARGS.get(env_id, {}))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(env.unwrapped)
        gym_warnings = [str(w.message) for w in caught if "gymnasium" in w.filename]
        assert gym_warnings == []
    finally:
        env.close()
