"""End-to-end behaviour of rlvr_gym/Math-v0: episodes, seeding, options, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import InvalidAction, ResetNeeded
from gymnasium.utils.env_checker import check_env

import rlvr_gym.envs  # noqa: F401  (registers the envs)
from rlvr_gym.envs.generators import ProceduralMathSource
from rlvr_gym.envs.math_env import (
    DEFAULT_PROMPT_TEMPLATE,
    InvalidActionError,
    MathEnv,
    ResetNeededError,
)
from rlvr_gym.envs.sources import JsonlTaskSource
from rlvr_gym.envs.tasks import MathTask
from rlvr_gym.errors import ConfigError, DataError, RlvrGymError
from rlvr_gym.rewards.math.config import MathConfig
from rlvr_gym.rewards.math.reward import MathReward


@pytest.fixture(scope="module")
def shared_reward() -> Iterator[MathReward]:
    with MathReward(workers=1) as reward:
        yield reward


@pytest.fixture
def answer_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    rows = [
        {"problem": "What is $6 \\times 7$?", "answer": "42", "unique_id": "mul"},
        {
            "problem": "What is $\\frac{1}{2} + \\frac{1}{4}$?",
            "answer": "\\frac{3}{4}",
            "unique_id": "frac",
        },
        {"problem": "Solve $x + 1 = 3$.", "answer": "2", "unique_id": "lin"},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def env(answer_file: Path, shared_reward: MathReward) -> Iterator[MathEnv]:
    environment = MathEnv(str(answer_file), reward=shared_reward)
    yield environment
    environment.close()


# ----------------------------------------------------------------- episodes


def test_correct_boxed_answer_earns_one(env: MathEnv) -> None:
    obs, info = env.reset(options={"task_id": "mul"})
    assert obs.startswith("What is $6 \\times 7$?")
    assert info == {"task_id": "mul"}
    obs2, reward, terminated, truncated, info = env.step("6 times 7 is \\boxed{42}.")
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert obs2 == obs
    assert info["status"] == "correct"
    assert info["task_id"] == "mul"
    assert info["reward"] == 1.0
    assert set(info) >= {"reward", "status", "extracted", "components", "detail"}


def test_wrong_answer_earns_zero(env: MathEnv) -> None:
    env.reset(options={"task_id": "mul"})
    _, reward, terminated, _, info = env.step("\\boxed{41}")
    assert reward == 0.0
    assert terminated is True
    assert info["status"] == "incorrect"


def test_fraction_gold(env: MathEnv) -> None:
    env.reset(options={"task_id": "frac"})
    assert env.step("\\boxed{\\frac{3}{4}}")[1] == 1.0
    env.reset(options={"task_id": "frac"})
    assert env.step("\\boxed{\\frac{3}{5}}")[1] == 0.0


def test_info_hides_the_gold_unless_asked(answer_file: Path, shared_reward: MathReward) -> None:
    hidden = MathEnv(answer_file, reward=shared_reward)
    _, info = hidden.reset(seed=0)
    assert "answer" not in info and "metadata" not in info
    assert "answer" not in hidden.step("\\boxed{0}")[4]
    shown = MathEnv(answer_file, reward=shared_reward, reveal_answer=True)
    _, info = shown.reset(options={"task_id": "lin"})
    assert info["answer"] == "2"
    assert info["metadata"]["unique_id"] == "lin"
    assert shown.step("\\boxed{2}")[4]["answer"] == "2"


def test_procedural_golds_are_accepted_by_the_grader(shared_reward: MathReward) -> None:
    # The generator's LaTeX must be something the real grader parses: the boxed gold
    # is correct and an off-by-one integer is not.
    env = MathEnv(ProceduralMathSource(seed=11), reward=shared_reward, reveal_answer=True)
    kinds = set()
    for index in range(0, 400, 10):
        _, info = env.reset(options={"index": index})
        gold = info["answer"]
        kinds.add(info["metadata"]["kind"])
        assert env.step(f"So the answer is \\boxed{{{gold}}}.")[4]["status"] == "correct", gold
        if gold.lstrip("-").isdigit():
            env.reset(options={"index": index})
            assert env.step(f"\\boxed{{{int(gold) + 1}}}")[1] == 0.0, gold
    assert len(kinds) >= 6


# ------------------------------------------------------------------ seeding


def _prompts(env: MathEnv, seed: int, n: int) -> list[str]:
    first, _ = env.reset(seed=seed)
    return [first] + [env.reset()[0] for _ in range(n - 1)]


def test_seeding_is_deterministic(shared_reward: MathReward) -> None:
    a = MathEnv(reward=shared_reward)
    b = MathEnv(reward=shared_reward)
    assert _prompts(a, 123, 6) == _prompts(b, 123, 6)
    assert _prompts(a, 123, 6) != _prompts(a, 124, 6)


def test_reset_options_pick_tasks_without_drawing(env: MathEnv) -> None:
    env.reset(seed=5)
    state = env.np_random.bit_generator.state
    obs, info = env.reset(options={"index": -1})
    assert info["task_id"] == "lin"
    assert obs == DEFAULT_PROMPT_TEMPLATE.replace("{problem}", "Solve $x + 1 = 3$.")
    assert env.reset(options={"index": np.int64(0)})[1]["task_id"] == "mul"
    assert env.np_random.bit_generator.state == state


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"idx": 1}, ConfigError, "did you mean 'index'"),
        ({"task_id": "mul", "index": 0}, ConfigError, "not both"),
        ({"task_id": "mull"}, DataError, "did you mean 'mul'"),
        ({"index": 3}, IndexError, "out of range"),
    ],
)
def test_bad_reset_options(
    env: MathEnv, options: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        env.reset(options=options)


# ------------------------------------------------------------------- errors


def test_step_before_reset_raises(env: MathEnv) -> None:
    with pytest.raises(ResetNeededError, match=r"before calling env\.reset"):
        env.step("\\boxed{42}")


def test_step_after_termination_raises(env: MathEnv) -> None:
    env.reset(seed=0)
    env.step("\\boxed{1}")
    with pytest.raises(ResetNeeded, match="episode"):
        env.step("\\boxed{1}")
    env.reset()
    env.step("\\boxed{1}")  # a new episode accepts one step again


def test_errors_speak_gymnasium_and_rlvr_gym(env: MathEnv) -> None:
    assert issubclass(ResetNeededError, ResetNeeded)
    assert issubclass(ResetNeededError, RlvrGymError)
    env.reset(seed=0)
    with pytest.raises(InvalidAction):
        env.step(42)  # type: ignore[arg-type]
    assert issubclass(InvalidActionError, RlvrGymError)


def test_made_env_enforces_order() -> None:
    env = gym.make("rlvr_gym/Math-v0")
    with pytest.raises(ResetNeeded):
        env.step("\\boxed{1}")
    env.close()


# ---------------------------------------------------------- construction


def test_prompt_templates(answer_file: Path, shared_reward: MathReward) -> None:
    custom = MathEnv(answer_file, reward=shared_reward, prompt_template="Q: {problem}\nA:")
    assert custom.reset(options={"task_id": "lin"})[0] == "Q: Solve $x + 1 = 3$.\nA:"

    def chat(task: MathTask) -> str:
        return f"<|user|>{task.prompt}<|assistant|>"

    called = MathEnv(answer_file, reward=shared_reward, prompt_template=chat)
    assert called.reset(options={"task_id": "lin"})[0] == "<|user|>Solve $x + 1 = 3$.<|assistant|>"
    with pytest.raises(ConfigError, match="\\{problem\\}"):
        MathEnv(answer_file, reward=shared_reward, prompt_template="no placeholder")


def test_prompt_longer_than_the_space_is_a_data_error(
    answer_file: Path, shared_reward: MathReward
) -> None:
    env = MathEnv(answer_file, reward=shared_reward, max_prompt_chars=40)
    with pytest.raises(DataError, match="max_prompt_chars=40"):
        env.reset(options={"task_id": "mul"})
    assert env.observation_space.max_length == 40


def test_overlong_response_is_graded_on_its_tail(
    answer_file: Path, shared_reward: MathReward
) -> None:
    env = MathEnv(answer_file, reward=shared_reward, max_response_chars=100)
    assert env.action_space.max_length == 100
    env.reset(options={"task_id": "mul"})
    response = "x" * 500 + " so \\boxed{42}"
    assert response not in env.action_space
    _, reward, _, _, info = env.step(response)
    assert reward == 1.0
    assert info["response_truncated"] is True


def test_spaces_accept_arbitrary_unicode(env: MathEnv) -> None:
    assert "Janet’s ducks — π ≈ 3.14 😀" in env.observation_space
    assert "答案是 \\boxed{42}" in env.action_space


def test_format_reward_weight_adds_the_format_component(
    answer_file: Path, shared_reward: MathReward
) -> None:
    env = MathEnv(answer_file, reward=shared_reward, format_reward_weight=0.5)
    env.reset(options={"task_id": "mul"})
    _, reward, _, _, info = env.step("<think>6*7=42</think> \\boxed{42}")
    assert reward == 1.5
    assert info["components"]["format"] == 1.0
    assert info["components"]["accuracy"] == 1.0
    env.reset(options={"task_id": "mul"})
    _, reward, _, _, info = env.step("\\boxed{42}")
    assert reward == 1.0
    assert info["components"]["format"] == 0.0
    with pytest.raises(ConfigError):
        MathEnv(answer_file, reward=shared_reward, format_reward_weight=-1.0)


def test_conflicting_reward_arguments(shared_reward: MathReward) -> None:
    with pytest.raises(ConfigError, match="workers"):
        MathEnv(reward=shared_reward, workers=2)
    with pytest.raises(ConfigError, match="config"):
        MathEnv(reward=shared_reward, config=MathConfig(deadline_s=1.0))
    MathEnv(reward=shared_reward, config=shared_reward.config).close()


def test_source_argument_forms(answer_file: Path, shared_reward: MathReward) -> None:
    assert isinstance(MathEnv(reward=shared_reward).source, ProceduralMathSource)
    assert isinstance(MathEnv(str(answer_file), reward=shared_reward).source, JsonlTaskSource)
    assert isinstance(MathEnv(answer_file, reward=shared_reward).source, JsonlTaskSource)
    with pytest.raises(ConfigError, match="TaskSource"):
        MathEnv(42, reward=shared_reward)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="does not exist"):
        MathEnv(answer_file.with_name("missing.jsonl"), reward=shared_reward)


def test_make_forwards_kwargs(answer_file: Path) -> None:
    env = gym.make("rlvr_gym/Math-v0", source=str(answer_file), reveal_answer=True)
    _, info = env.reset(options={"task_id": "lin"})
    assert info["answer"] == "2"
    assert env.step("\\boxed{2}")[1] == 1.0
    env.close()


def test_render_ansi(answer_file: Path, shared_reward: MathReward) -> None:
    env = MathEnv(answer_file, reward=shared_reward, render_mode="ansi")
    env.reset(options={"task_id": "mul"})
    env.step("\\boxed{42}")
    text = env.render()
    assert text is not None
    assert "task mul" in text and "\\boxed{42}" in text and "correct" in text
    with pytest.raises(ConfigError, match="did you mean 'ansi'"):
        MathEnv(answer_file, reward=shared_reward, render_mode="ansii")


def test_close_releases_only_an_owned_reward(answer_file: Path, shared_reward: MathReward) -> None:
    shared_env = MathEnv(answer_file, reward=shared_reward)
    shared_env.close()
    assert shared_reward.score("\\boxed{1}", "1").reward == 1.0  # still usable

    owning = MathEnv(answer_file, workers=1)
    owned = owning.reward_fn
    owning.reset(options={"task_id": "mul"})
    assert owning.step("\\boxed{42}")[1] == 1.0
    owning.close()
    owning.close()  # idempotent
    with pytest.raises(RlvrGymError):
        owned.score("\\boxed{1}", "1")


def test_vector_env_batches_text() -> None:
    envs = gym.make_vec("rlvr_gym/Math-v0", num_envs=2, vectorization_mode="sync")
    try:
        observations, infos = envs.reset(seed=0)
        assert len(observations) == 2 and all(isinstance(o, str) for o in observations)
        _, rewards, terminated, _, infos = envs.step(("\\boxed{0}", "\\boxed{0}"))
        assert rewards.shape == (2,)
        assert terminated.all()
        assert set(infos["status"]) <= {"correct", "incorrect"}
    finally:
        envs.close()


def test_check_env_with_a_file_source_and_revealed_answers(
    answer_file: Path, shared_reward: MathReward
) -> None:
    env = MathEnv(answer_file, reward=shared_reward, reveal_answer=True, render_mode="ansi")
    check_env(env, skip_render_check=True)
    procedural = MathEnv(reward=shared_reward, reveal_answer=True)
    check_env(procedural, skip_render_check=True)  # nested generator specs are copied
    _, first = procedural.reset(options={"index": 0})
    first["metadata"]["spec"]["mutated"] = True
    _, again = procedural.reset(options={"index": 0})
    assert "mutated" not in again["metadata"]["spec"]
