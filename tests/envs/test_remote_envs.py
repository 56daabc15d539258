"""The same env tests against the local env and ``gymnasium.make(id, remote=...)``.

Each test takes ``make``, parametrised over "local" and "remote", so the remote env is held
to exactly the local env's behaviour; the comparison tests then check both give the same
observations, rewards and info for the same seeds and actions.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import rlvr_gym.envs  # noqa: F401  (registers the ids)
from rlvr_gym.envs._common import InvalidActionError, ResetNeededError
from rlvr_gym.errors import ConfigError, DataError
from rlvr_gym.server.app import RewardServer, serve_in_thread
from rlvr_gym.server.config import ServerConfig
from rlvr_gym.server.env_servicer import to_json
from tests.sandbox.test_docker_pool import docker_test

Make = Callable[..., Any]


@pytest.fixture(scope="module")
def server() -> Iterator[RewardServer]:
    config = ServerConfig(
        address="127.0.0.1:0", metrics_address="", math_workers=1, sandbox_pool_size=2
    )
    with serve_in_thread(config) as running:
        yield running


@pytest.fixture(params=["local", "remote"])
def make(request: pytest.FixtureRequest, server: RewardServer) -> Iterator[Make]:
    made: list[Any] = []

    def build(env_id: str, **kwargs: Any) -> Any:
        if request.param == "remote":
            kwargs["remote"] = f"127.0.0.1:{server.port}"
        env = gym.make(env_id, **kwargs).unwrapped
        made.append(env)
        return env

    yield build
    for env in made:
        env.close()


def test_math_checker_passes(make: Make) -> None:
    env = make("rlvr_gym/Math-v0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    assert [str(w.message) for w in caught if "gymnasium" in w.filename] == []


def test_math_episode(make: Make) -> None:
    env = make("rlvr_gym/Math-v0", reveal_answer=True)
    obs, info = env.reset(seed=3)
    assert isinstance(obs, str) and obs in env.observation_space
    _, reward, terminated, truncated, step_info = env.step(f"so \\boxed{{{info['answer']}}}")
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert step_info["status"] == "correct"
    with pytest.raises(ResetNeededError):
        env.step("again")
    env.reset(options={"index": 0})
    _, reward, *_ = env.step("\\boxed{not the answer at all}")
    assert reward == 0.0


def test_math_errors_match_the_local_env(make: Make) -> None:
    env = make("rlvr_gym/Math-v0")
    with pytest.raises(ResetNeededError):
        env.step("before reset")
    env.reset(seed=0)
    with pytest.raises(InvalidActionError):
        env.step(42)
    with pytest.raises(ConfigError, match="unknown reset option 'bogus'"):
        env.reset(options={"bogus": 1})
    with pytest.raises(DataError):
        env.reset(options={"task_id": "no-such-task"})


def test_bad_constructor_argument_is_a_config_error(make: Make) -> None:
    with pytest.raises(ConfigError):
        make("rlvr_gym/Math-v0", format_reward_weight=-1.0)


def test_remote_refuses_server_side_resources(server: RewardServer) -> None:
    address = f"127.0.0.1:{server.port}"
    with pytest.raises(ConfigError, match="source: not settable remotely"):
        gym.make("rlvr_gym/Math-v0", remote=address, source="/etc/passwd")
    with pytest.raises(ConfigError, match="one server address"):
        gym.make("rlvr_gym/Math-v0", remote=[address, address])


def _as_json(trace: list[Any]) -> list[Any]:
    """Info travels as JSON (tuples as lists, dataclasses as objects); the rest is equal.

    Measured run times (``cpu_s``, ``wall_s``) differ between any two runs; they are dropped.
    """
    return [_untimed(json.loads(to_json(item))) for item in trace]


def _untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in ("cpu_s", "wall_s")}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _math_trace(env: Any) -> list[Any]:
    trace: list[Any] = []
    for seed in (0, None, None, 11):
        obs, info = env.reset(seed=seed)
        trace.append((obs, info))
        step = env.step(f"<think>hmm</think> \\boxed{{{info['answer']}}} or \\boxed{{1}}")
        trace.append(step)
        trace.append(env.render())
    obs, info = env.reset(options={"index": 5})
    trace.append((obs, info, env.step("The answer is 7.")))
    return trace


def test_local_and_remote_math_agree(server: RewardServer) -> None:
    kwargs = {"reveal_answer": True, "format_reward_weight": 0.5, "render_mode": "ansi"}
    local = gym.make("rlvr_gym/Math-v0", **kwargs).unwrapped
    remote = gym.make("rlvr_gym/Math-v0", remote=f"127.0.0.1:{server.port}", **kwargs).unwrapped
    try:
        assert remote.observation_space == local.observation_space
        assert remote.action_space == local.action_space
        assert _as_json(_math_trace(remote)) == _as_json(_math_trace(local))
    finally:
        local.close()
        remote.close()


@docker_test
def test_code_episode(make: Make) -> None:
    env = make("rlvr_gym/Code-v0", reveal_tests=True)
    check_env(env)
    obs, info = env.reset(options={"index": 0})
    assert obs and info["task_id"]
    _, reward, terminated, _, step_info = env.step("```python\nprint('nothing useful')\n```")
    assert terminated and reward == 0.0 and step_info["status"] == "incorrect"


def _repair_trace(env: Any) -> list[Any]:
    obs, info = env.reset(options={"index": 0})
    trace: list[Any] = [(obs, info)]
    for attempt in ("no code here", "```python\nraise SystemExit(3)\n```", "still nothing"):
        step = env.step(attempt)
        trace.append(step)
        if step[2] or step[3]:
            break
    return trace


@docker_test
def test_local_and_remote_code_repair_agree(server: RewardServer) -> None:
    local = gym.make("rlvr_gym/CodeRepair-v0", max_turns=3).unwrapped
    remote = gym.make(
        "rlvr_gym/CodeRepair-v0", remote=f"127.0.0.1:{server.port}", max_turns=3
    ).unwrapped
    try:
        local_trace, remote_trace = _repair_trace(local), _repair_trace(remote)
    finally:
        local.close()
        remote.close()
    assert len(remote_trace) == 4  # three failed turns, then truncated
    assert _as_json(remote_trace) == _as_json(local_trace)


def test_closed_remote_session_is_gone(server: RewardServer) -> None:
    env = gym.make("rlvr_gym/Math-v0", remote=f"127.0.0.1:{server.port}").unwrapped
    session = env.session_id
    assert session in server.envs.sessions
    env.close()
    env.close()  # idempotent
    assert session not in server.envs.sessions
