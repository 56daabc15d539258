"""``rlvr_gym/Math-v0``: pose a math problem, reward a response whose final answer is right.

The environment is single-turn on purpose: in R1-style training one completion answers
one prompt, so an episode is ``reset`` (get a problem) then one ``step`` (submit the
whole response). Grading is delegated to :class:`~rlvr_gym.rewards.math.reward.MathReward`,
which proves equivalence with sympy in killable workers; the environment only selects
tasks, renders prompts and reports results in Gymnasium's vocabulary.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from typing import Any

import gymnasium as gym

from rlvr_gym.envs._common import (
    InvalidActionError,
    ResetNeededError,
    check_step,
    positive,
    reset_choice,
)
from rlvr_gym.envs.generators import ProceduralMathSource
from rlvr_gym.envs.sources import JsonlTaskSource
from rlvr_gym.envs.spaces import UnicodeText
from rlvr_gym.envs.tasks import MathTask, TaskSource
from rlvr_gym.errors import ConfigError, DataError, did_you_mean
from rlvr_gym.rewards.format import format_reward
from rlvr_gym.rewards.math.config import MathConfig
from rlvr_gym.rewards.math.reward import MathReward
from rlvr_gym.rewards.types import RewardResult

__all__ = [
    "DEFAULT_PROMPT_TEMPLATE",
    "InvalidActionError",
    "MathEnv",
    "PromptTemplate",
    "ResetNeededError",
]

DEFAULT_PROMPT_TEMPLATE = (
    "{problem}\n\nPlease reason step by step, and put your final answer within \\boxed{}."
)
"""The instruction Qwen2.5-Math and DeepSeek-R1 evaluations use; ``{problem}`` is replaced."""

PromptTemplate = str | Callable[[MathTask], str]


class MathEnv(gym.Env[str, str]):
    r"""Single-turn math problem solving with a verified reward.

    ## Description

    Each episode poses one problem from a task source (a dataset file or the seeded
    procedural generator). The agent, a language model, answers with one free-text
    response; the final answer in it (``\boxed{...}``, an answer tag, or a closing
    phrase, after any ``</think>``) is checked for mathematical equivalence with the
    gold answer. This is the accuracy reward of DeepSeek-R1-style RL.

    ## Action Space

    ``UnicodeText(0, max_response_chars)``: any string. Longer responses are still
    graded, on their last ``max_response_chars`` characters (the answer is at the end),
    and ``info["response_truncated"]`` is set.

    ## Observation Space

    ``UnicodeText(0, max_prompt_chars)``: the problem rendered through
    ``prompt_template``. The observation returned by ``step`` is the same prompt.

    ## Rewards

    ``reward_correct`` (default 1.0) when the answer is equivalent to the gold,
    ``reward_incorrect`` (default 0.0) otherwise, from :class:`MathConfig`. With
    ``format_reward_weight > 0`` the format reward times that weight is added.
    ``info["status"]`` says why: ``correct``, ``incorrect``, ``no_answer``, ``hedged``,
    ``timeout`` or ``infra_error``; trainers should mask ``infra_error`` rather than
    learn from it.

    ## Starting State

    A task drawn uniformly from the source with the environment's ``np_random``, or the
    one chosen by ``reset(options={"task_id": ...})`` / ``reset(options={"index": i})``.

    ## Episode End

    The episode terminates after the first step (``terminated=True``); it is never
    truncated. Stepping again raises :class:`ResetNeededError`.

    ## Arguments

    ```python
    import gymnasium as gym
    import rlvr_gym.envs

    env = gym.make("rlvr_gym/Math-v0", source="data/math/math500.jsonl")
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("... \\boxed{42}")
    ```

    * ``source``: a :class:`TaskSource`, a path to a JSON Lines/JSON file (read with
      :class:`JsonlTaskSource`), or None for ``ProceduralMathSource()``.
    * ``config``: :class:`MathConfig` for the reward this environment creates.
    * ``reward``: a shared :class:`MathReward` (one worker pool for many envs); the env
      does not close it. Exclusive with ``config`` and ``workers``.
    * ``workers``: worker processes for the reward this environment creates.
    * ``prompt_template``: a string containing ``{problem}``, or a callable taking the
      :class:`MathTask`. Default: :data:`DEFAULT_PROMPT_TEMPLATE`.
    * ``format_reward_weight``: weight of ``rlvr_gym.rewards.format.format_reward``;
      0 (default) disables it.
    * ``max_prompt_chars``: observation length bound; longer prompts are a data error.
    * ``max_response_chars``: action length bound; default ``config.max_response_chars``.
    * ``reveal_answer``: put the gold answer and task metadata in ``info`` (for
      evaluation and debugging; never while training a policy on ``info``).
    * ``render_mode``: None or ``"ansi"`` (``render()`` returns a text transcript).

    ## Version History

    * v0: Initial version.
    """

    # render_fps only silences Gymnasium's checker; text transcripts have no frame rate.
    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 1}  # noqa: RUF012
    observation_space: UnicodeText
    action_space: UnicodeText

    def __init__(
        self,
        source: TaskSource | str | os.PathLike[str] | None = None,
        *,
        config: MathConfig | None = None,
        reward: MathReward | None = None,
        workers: int | None = None,
        prompt_template: PromptTemplate = DEFAULT_PROMPT_TEMPLATE,
        format_reward_weight: float = 0.0,
        max_prompt_chars: int = 32_768,
        max_response_chars: int | None = None,
        reveal_answer: bool = False,
        render_mode: str | None = None,
    ) -> None:
        """Build the environment; see the class docstring's Arguments section.

        Raises:
            ConfigError: If an argument is invalid or arguments conflict.
            DataError: If ``source`` is a path that cannot be loaded.
        """
        self.source: TaskSource = _as_source(source)
        if len(self.source) == 0:
            raise ConfigError(f"task source {self.source.name!r} is empty")
        if reward is not None:
            if workers is not None:
                raise ConfigError("pass workers to the shared MathReward, not to MathEnv")
            if config is not None and config != reward.config:
                raise ConfigError(
                    "config differs from the shared reward's config; pass config to the "
                    "MathReward instead (or drop one of them)"
                )
            config = reward.config
        self._config = config or MathConfig()
        self._reward = reward
        self._owns_reward = reward is None
        self._workers = workers
        if isinstance(prompt_template, str):
            if "{problem}" not in prompt_template:
                raise ConfigError(
                    f"prompt_template must contain '{{problem}}', got {prompt_template!r:.80}"
                )
        elif not callable(prompt_template):
            raise ConfigError("prompt_template must be a str or a callable(task) -> str")
        self._template = prompt_template
        if not (isinstance(format_reward_weight, (int, float)) and format_reward_weight >= 0):
            raise ConfigError(f"format_reward_weight must be >= 0, got {format_reward_weight!r}")
        if not math.isfinite(format_reward_weight):
            raise ConfigError("format_reward_weight must be finite")
        self.format_reward_weight = float(format_reward_weight)
        self.max_prompt_chars = positive("max_prompt_chars", max_prompt_chars)
        self.max_response_chars = positive(
            "max_response_chars",
            self._config.max_response_chars if max_response_chars is None else max_response_chars,
        )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(
                f"unknown render_mode {render_mode!r}; MathEnv supports 'ansi' or None"
                f"{did_you_mean(render_mode, self.metadata['render_modes'])}"
            )
        self.render_mode = render_mode
        self.reveal_answer = bool(reveal_answer)
        self.observation_space = UnicodeText(max_length=self.max_prompt_chars)
        self.action_space = UnicodeText(max_length=self.max_response_chars)
        self._task: MathTask | None = None
        self._prompt = ""
        self._done = False
        self._last_response: str | None = None
        self._last_result: RewardResult | None = None

    @property
    def task(self) -> MathTask | None:
        """The task of the current episode, or None before the first reset."""
        return self._task

    @property
    def reward_fn(self) -> MathReward:
        """The math reward, created on first use so idle environments spawn no workers."""
        if self._reward is None:
            self._reward = MathReward(self._config, workers=self._workers)
        return self._reward

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Start an episode with a new task.

        Args:
            seed: Reseeds ``np_random`` (Gymnasium semantics: seed once, then reset
                without a seed to continue the stream).
            options: ``{"task_id": id}`` or ``{"index": i}`` picks the task instead of
                drawing one; ``np_random`` is then left untouched.

        Returns:
            The rendered prompt and ``info`` with ``task_id`` (plus ``answer`` and
            ``metadata`` when ``reveal_answer``).

        Raises:
            ConfigError: For unknown or conflicting options.
            DataError: If the task id is unknown or the prompt exceeds
                ``max_prompt_chars``.
        """
        super().reset(seed=seed)
        task = self._select(options or {})
        prompt = (
            self._template(task)
            if callable(self._template)
            else (self._template.replace("{problem}", task.prompt))
        )
        if not isinstance(prompt, str):
            raise ConfigError(f"prompt_template returned {type(prompt).__name__}, not str")
        if len(prompt) > self.max_prompt_chars:
            raise DataError(
                f"task {task.task_id!r} renders to a {len(prompt)}-character prompt, over "
                f"max_prompt_chars={self.max_prompt_chars}; raise max_prompt_chars"
            )
        self._task, self._prompt, self._done = task, prompt, False
        self._last_response = self._last_result = None
        return prompt, self._info(task)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Grade one complete response; the episode then terminates.

        Returns:
            ``(prompt, reward, True, False, info)``; ``info`` holds the reward result
            (``reward``, ``status``, ``extracted``, ``components``, ``detail``) and
            ``task_id``.

        Raises:
            ResetNeededError: Before ``reset`` or after the episode ended.
            InvalidActionError: If ``action`` is not a ``str``.
        """
        check_step(self._task is not None, self._done, action, "MathEnv")
        assert self._task is not None
        response = action[-self.max_response_chars :]
        result = self.reward_fn.score(response, self._task.answer)
        if self.format_reward_weight > 0:
            # The whole response: the format check looks at how it starts (<think>).
            result = _combine(result, format_reward(action), self.format_reward_weight)
        self._done = True
        self._last_response, self._last_result = action, result
        info = self._info(self._task)
        info.update(result.to_dict())
        if len(action) > self.max_response_chars:
            info["response_truncated"] = True
        return self._prompt, float(result.reward), True, False, info

    def render(self) -> str | None:
        """Return a text transcript of the episode in ``"ansi"`` mode, else None."""
        if self.render_mode != "ansi":
            return None
        if self._task is None:
            return "(no task yet: call reset())\n"
        lines = [f"task {self._task.task_id}", self._prompt]
        if self._last_result is not None and self._last_response is not None:
            lines += ["--- response ---", self._last_response]
            lines.append(f"--- reward {self._last_result.reward} ({self._last_result.status})")
        return "\n".join(lines) + "\n"

    def close(self) -> None:
        """Close the reward's workers if this environment created them; idempotent."""
        if self._owns_reward and self._reward is not None:
            self._reward.close()
            self._reward = None
        super().close()

    def _select(self, options: dict[str, Any]) -> MathTask:
        task_id, index = reset_choice(options, "MathEnv")
        if task_id is not None:
            return self.source.get(task_id)
        if index is not None:
            return self.source[index]
        return self.source[int(self.np_random.integers(len(self.source)))]

    def _info(self, task: MathTask) -> dict[str, Any]:
        info: dict[str, Any] = {"task_id": task.task_id}
        if self.reveal_answer:
            info["answer"] = task.answer
            # A deep copy: callers may mutate info, and it must not alias the task.
            info["metadata"] = copy.deepcopy(dict(task.metadata))
        return info


def _as_source(source: TaskSource | str | os.PathLike[str] | None) -> TaskSource:
    if source is None:
        return ProceduralMathSource()
    if isinstance(source, (str, os.PathLike)):
        return JsonlTaskSource(source)
    if not isinstance(source, TaskSource):
        raise ConfigError(
            f"source must be a TaskSource, a file path or None, got {type(source).__name__}"
        )
    return source


def _combine(accuracy: RewardResult, fmt: RewardResult, weight: float) -> RewardResult:
    """Accuracy plus weighted format reward; the status stays the accuracy status."""
    components = dict(accuracy.components)
    components.update({"accuracy": accuracy.reward, "format": fmt.reward})
    detail = accuracy.detail + (f"; format: {fmt.detail}" if fmt.detail else "")
    return RewardResult(
        reward=accuracy.reward + weight * fmt.reward,
        status=accuracy.status,
        extracted=accuracy.extracted,
        components=components,
        detail=detail,
    )
