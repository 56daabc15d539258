"""Code environments end to end: real datasets, a real Docker sandbox, whole episodes.

One shared :class:`CodeReward` (one container pool) serves every env here, as a trainer
would share it; envs must not close a reward they were given.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import rlvr_gym.envs  # noqa: F401  (registers the envs)
from rlvr_gym.envs.code_repair_env import feedback_message
from rlvr_gym.errors import ConfigError
from rlvr_gym.rewards.code.reward import CodeConfig, CodeReward
from rlvr_gym.rewards.code.tasks import CodeTask, IOTest
from rlvr_gym.sandbox.api import Sandbox
from tests.sandbox.test_docker_pool import needs_docker

pytestmark = [pytest.mark.docker, needs_docker]

ROOT = Path(__file__).resolve().parents[2]
CODE_DATA = ROOT.parent / "shared" / "data" / "code"
REFS = ROOT / "tests" / "data" / "code_contests_refs"

ADD = CodeTask(
    task_id="add",
    prompt="Read two integers and print their sum.",
    io_tests=(IOTest("1 2\n", "3\n"), IOTest("10 -4\n", "6\n"), IOTest("0 0\n", "0\n")),
)
ADD_OK = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
ADD_HALF = "```python\na, b = map(int, input().split())\nprint(a + b if a < 5 else a * b)\n```"
ADD_WRONG = "```python\nprint(0)\n```"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(backend="docker", pool_size=2) as box:
        yield box


@pytest.fixture(scope="module")
def reward(sandbox: Sandbox) -> Iterator[CodeReward]:
    with CodeReward(sandbox=sandbox) as shared:
        yield shared


def make(env_id: str, reward: CodeReward, **kwargs: Any) -> gym.Env[str, str]:
    return gym.make(env_id, reward=reward, reveal_tests=True, **kwargs)


def fenced(task: CodeTask, program: str) -> str:
    return f"Here is my solution.\n```{task.language}\n{program}\n```\nDone."


def test_demo_tasks_pass_with_their_references_and_fail_with_junk(reward: CodeReward) -> None:
    env = make("rlvr_gym/Code-v0", reward)
    try:
        for index in range(5):
            _, info = env.reset(options={"index": index})
            task: CodeTask = info["task"]
            assert task.reference is not None
            _, r, terminated, truncated, info = env.step(fenced(task, task.reference))
            assert (r, info["status"], terminated, truncated) == (1.0, "correct", True, False)
            assert all(t["status"] == "passed" for t in info["tests"])
            env.reset(options={"index": index})
            _, r, _, _, info = env.step(fenced(task, "print(42)"))
            assert (r, info["status"]) == (0.0, "incorrect")
            if task.language == "cpp":  # Python is no C++: nothing compiles, nothing runs
                assert info["tests"] == [] and "error" in info["detail"]
            else:
                assert info["tests"] and info["tests"][0]["status"] != "passed"
    finally:
        env.close()
    assert reward.sandbox.run("print(1)").status == "ok"  # the env left the reward open


def test_response_without_a_program_is_no_answer(reward: CodeReward) -> None:
    env = make("rlvr_gym/Code-v0", reward)
    env.reset(options={"index": 0})
    _, r, _, _, info = env.step("I am not sure how to solve this.")
    assert (r, info["status"], info["tests"]) == (0.0, "no_answer", [])
    env.close()


def test_humaneval_env_judges_a_canonical_solution(reward: CodeReward) -> None:
    env = make("rlvr_gym/HumanEval-v0", reward, path=CODE_DATA / "HumanEval.jsonl.gz")
    obs, info = env.reset(options={"task_id": "HumanEval/0"})
    assert "has_close_elements" in obs and info["task_id"] == "HumanEval/0"
    task: CodeTask = info["task"]
    _, r, _, _, info = env.step(fenced(task, task.reference or ""))
    assert (r, info["status"]) == (1.0, "correct")
    env.reset(options={"task_id": "HumanEval/0"})
    wrong = (task.reference or "").replace("return True", "return False")
    _, r, _, _, info = env.step(fenced(task, wrong))
    assert (r, info["status"]) == (0.0, "incorrect")
    env.close()


@pytest.mark.parametrize("language", ["python", "cpp"])
def test_code_contests_env_with_our_reference_solutions(reward: CodeReward, language: str) -> None:
    path = CODE_DATA / "code_contests_samples.jsonl"
    env = make("rlvr_gym/CodeContests-v0", reward, path=path, language=language)
    suffix = ".cpp" if language == "cpp" else ".py"
    refs = sorted(p for p in REFS.glob(f"*{suffix}") if not p.name.endswith(".wrong.py"))
    assert refs
    for ref in refs:
        task_id = ref.name.removesuffix(suffix).replace("CodeContests_", "CodeContests/")
        _, info = env.reset(options={"task_id": task_id})
        _, r, _, _, info = env.step(fenced(info["task"], ref.read_text()))
        assert (task_id, r, info["status"]) == (task_id, 1.0, "correct"), info["detail"]
    env.close()


def test_repair_episode_shows_the_failing_test_then_rewards_the_fix(sandbox: Sandbox) -> None:
    with CodeReward(sandbox=sandbox) as reward:
        env = make("rlvr_gym/CodeRepair-v0", reward, tasks=[ADD], max_turns=3)
        obs, info = env.reset()
        assert info["turn"] == 0 and "sum" in obs
        obs, r, terminated, truncated, info = env.step(ADD_HALF)
        assert (r, terminated, truncated, info["turn"]) == (0.0, False, False, 1)
        assert "Attempt 1 of 3 failed" in obs and "10 -4" in obs and "Expected:\n6" in obs
        assert "Got:\n-40" in obs and "2 attempts left" in obs
        obs, r, terminated, truncated, info = env.step(ADD_OK)
        assert (r, terminated, truncated, info["turn"]) == (1.0, True, False, 2)
        with pytest.raises(gym.error.ResetNeeded):
            env.step(ADD_OK)
        env.close()


def test_repair_episode_truncates_after_max_turns(reward: CodeReward) -> None:
    env = make("rlvr_gym/CodeRepair-v0", reward, tasks=[ADD], max_turns=2)
    env.reset()
    outcomes = [env.step(ADD_WRONG)[1:4] for _ in range(2)]
    assert outcomes == [(0.0, False, False), (0.0, False, True)]
    env.close()


def test_repair_improvement_shaping_sums_to_the_best_attempt(sandbox: Sandbox) -> None:
    with CodeReward(CodeConfig(partial_credit=True), sandbox=sandbox) as reward:
        env = make("rlvr_gym/CodeRepair-v0", reward, tasks=[ADD], shaping="improvement")
        env.reset()
        rewards = [env.step(action)[1] for action in (ADD_HALF, ADD_WRONG, ADD_OK)]
        assert rewards[0] == pytest.approx(2 / 3)
        assert rewards[1] == 0.0
        assert sum(rewards) == pytest.approx(1.0)
        env.close()


def test_repair_feedback_for_no_program_asks_for_a_fenced_block(reward: CodeReward) -> None:
    env = make("rlvr_gym/CodeRepair-v0", reward, tasks=[ADD])
    env.reset()
    obs, *_ = env.step("no code here")
    assert "No program was found" in obs
    env.close()


def test_feedback_message_for_a_compile_error() -> None:
    from rlvr_gym.rewards.code.results import JudgeResult

    text = feedback_message(JudgeResult("compile_error", detail="main.cpp:1: error"), 1, 3)
    assert "did not compile" in text and "main.cpp:1: error" in text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dataset": "mbpp"}, "needs path"),
        ({"dataset": "mbp", "path": "x"}, "did you mean"),
        ({"tasks": [ADD], "max_turns": 0}, "max_turns"),
        ({"tasks": [ADD], "shaping": "bonus"}, "shaping"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs: dict[str, Any], match: str) -> None:
    from rlvr_gym.envs.code_repair_env import CodeRepairEnv

    with pytest.raises(ConfigError, match=match):
        CodeRepairEnv(**kwargs)
