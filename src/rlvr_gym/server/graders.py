"""The rewards a server grades with: one math worker pool and one code sandbox, shared.

Why shared: every env of a kind uses the same grader, so a burst on one env uses the whole
pool, and a server holds one set of worker processes and containers however many envs it
serves. Tasks named by id are looked up in the env's dataset, loaded once on first use.

Cancellation reaches the work (:mod:`rlvr_gym.cancel`): a cancelled math batch has its
running workers killed and replaced by the pool; a cancelled code grading has its
container killed through the Docker daemon and replaced.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rlvr_gym.cancel import CancelToken, cancel_scope
from rlvr_gym.errors import ConfigError, RlvrGymError, did_you_mean
from rlvr_gym.rewards.code.tasks import CodeTask
from rlvr_gym.rewards.types import RewardResult, Status
from rlvr_gym.server.config import ServerConfig
from rlvr_gym.server.convert import MathGold, TaskId, TaskRef

if TYPE_CHECKING:
    from rlvr_gym.envs.tasks import TaskSource
    from rlvr_gym.rewards.code.reward import CodeReward
    from rlvr_gym.rewards.math.reward import MathReward

__all__ = ["MATH_ENV", "Graders", "NotFoundError", "served_envs"]

MATH_ENV = "rlvr_gym/Math-v0"
_CODE_DATASETS = {
    "rlvr_gym/HumanEval-v0": "humaneval",
    "rlvr_gym/MBPP-v0": "mbpp",
    "rlvr_gym/MBPPPlus-v0": "mbppplus",
    "rlvr_gym/CodeContests-v0": "code_contests",
    "rlvr_gym/Code-v0": "code_jsonl",
}
_MULTI_TURN = {"rlvr_gym/CodeRepair-v0"}
_TASKS_OF = {**_CODE_DATASETS, "rlvr_gym/CodeRepair-v0": "code_jsonl"}


def _dotted(field: str, name: str) -> str:
    """``field.name``, or ``name`` for a request's own top-level field."""
    return f"{field}.{name}" if field else name


def _spread(values: list[Any], index: Sequence[int] | None) -> list[Any]:
    """``values[index[i]]`` for every ``i`` (``values`` itself without an index)."""
    return values if index is None else [values[j] for j in index]


class NotFoundError(RlvrGymError):
    """A task id or session that does not exist (gRPC ``NOT_FOUND``)."""


def served_envs(config: ServerConfig) -> tuple[str, ...]:
    """The env ids a server with ``config`` serves (all built-in ones by default).

    Raises:
        ConfigError: an env id in the config that is not built in.
    """
    from rlvr_gym.envs import ENV_DESCRIPTIONS

    for env_id in config.envs:
        if env_id not in ENV_DESCRIPTIONS:
            raise ConfigError(
                f"server config: unknown env {env_id!r}{did_you_mean(env_id, ENV_DESCRIPTIONS)}"
            )
    return config.envs or tuple(ENV_DESCRIPTIONS)


@dataclass(frozen=True)
class EnvFacts:
    """What ``ListEnvs``/``DescribeEnv`` say about one env."""

    env_id: str
    description: str
    scorable: bool
    multi_turn: bool


class Graders:
    """Math and code graders for the served envs; started lazily, closed once."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.env_ids = served_envs(config)
        self._lock = threading.Lock()
        self._math: MathReward | None = None
        self._math_on_loop = False  # its pool is dispatched by the serving event loop
        self._code: CodeReward | None = None
        self._math_source: TaskSource | None = None
        self._code_tasks: dict[str, dict[str, CodeTask]] = {}
        self._threads: ThreadPoolExecutor | None = None
        self._closed = False

    # --- what is served ----------------------------------------------------------------

    def facts(self, env_id: str) -> EnvFacts:
        """The env's description and kind.

        Raises:
            ConfigError: the env is not served (the message names ``env_id``).
        """
        from rlvr_gym.envs import ENV_DESCRIPTIONS

        self.check_env(env_id)
        return EnvFacts(
            env_id,
            ENV_DESCRIPTIONS[env_id],
            scorable=env_id not in _MULTI_TURN,
            multi_turn=env_id in _MULTI_TURN,
        )

    def check_env(self, env_id: str, *, scorable: bool = False) -> None:
        """Raise :class:`ConfigError` naming ``env_id`` unless it is served (and scorable)."""
        if env_id not in self.env_ids:
            raise ConfigError(
                f"env_id: {env_id!r} is not served here{did_you_mean(env_id, self.env_ids)} "
                f"(served: {', '.join(self.env_ids)})"
            )
        if scorable and env_id in _MULTI_TURN:
            raise ConfigError(f"env_id: {env_id} is multi-turn; use EnvService Reset/Step")

    def num_tasks(self, env_id: str) -> int:
        """Tasks in the env's dataset (0 when it has none loaded, e.g. no path given)."""
        try:
            if env_id == MATH_ENV:
                return len(self.math_source())
            if env_id in _TASKS_OF:
                return len(self.code_tasks(env_id))
        except RlvrGymError:
            return 0
        return 0

    # --- graders (created on first use) -------------------------------------------------

    def math(self) -> MathReward:
        """The math reward (its worker pool starts on first use)."""
        with self._lock:
            self._check_open()
            if self._math is None:
                from rlvr_gym.rewards.math.config import MathConfig
                from rlvr_gym.rewards.math.reward import MathReward

                config = MathConfig(deadline_s=self.config.math_deadline_s)
                self._math = MathReward(config, workers=self.config.math_workers)
            return self._math

    def code(self) -> CodeReward:
        """The code reward (its sandbox pool starts on first use)."""
        with self._lock:
            self._check_open()
            if self._code is None:
                from rlvr_gym.rewards.code.reward import CodeReward

                self._code = CodeReward(
                    backend=self.config.sandbox_backend, pool_size=self.config.sandbox_pool_size
                )
                size = getattr(self._code.sandbox.backend, "size", None) or 2
                self._threads = ThreadPoolExecutor(2 * int(size), "rlvr-grade-code")
            return self._code

    def math_source(self) -> TaskSource:
        """Math-v0's task source: the configured JSONL file, else the procedural one."""
        with self._lock:
            if self._math_source is None:
                from rlvr_gym.envs.generators import ProceduralMathSource
                from rlvr_gym.envs.sources import JsonlTaskSource

                path = self.config.data_paths.get(MATH_ENV)
                self._math_source = JsonlTaskSource(path) if path else ProceduralMathSource()
            return self._math_source

    def code_tasks(self, env_id: str) -> dict[str, CodeTask]:
        """The code env's tasks by id, loaded once."""
        with self._lock:
            tasks = self._code_tasks.get(env_id)
            if tasks is None:
                from rlvr_gym.envs.code_env import load_dataset

                loaded = load_dataset(_TASKS_OF[env_id], self.config.data_paths.get(env_id))
                tasks = self._code_tasks[env_id] = {task.task_id: task for task in loaded}
            return tasks

    def utilisation(self) -> dict[str, tuple[int, int]]:
        """``(busy, total)`` of the math workers and sandbox containers that exist."""
        out: dict[str, tuple[int, int]] = {}
        if self._math is not None:
            stats = self._math.pool.stats()
            out["math_workers"] = (stats.busy, stats.workers)
        if self._code is not None:
            backend: Any = self._code.sandbox.backend
            size = int(getattr(backend, "size", 1) or 1)
            free = getattr(backend, "_free", None)
            idle = free.qsize() if free is not None else 0
            out["sandbox_containers"] = (max(0, size - idle), size)
        return out

    # --- grading ------------------------------------------------------------------------

    async def grade(
        self,
        env_id: str,
        tasks: Sequence[TaskRef],
        responses: Sequence[str],
        fields: Sequence[str] | None = None,
        index: Sequence[int] | None = None,
    ) -> list[RewardResult]:
        """Grade ``responses[i]`` against ``tasks[index[i]]`` (``tasks[i]`` without an index).

        Each task is resolved once however many responses share it (a GRPO group's G).
        Cancelling stops the work.

        Raises:
            ConfigError: a task of the wrong kind for the env (names the field).
            NotFoundError: a task id not in the env's dataset.
        """
        self.check_env(env_id, scorable=True)
        names = list(fields) if fields is not None else [f"tasks[{i}]" for i in range(len(tasks))]
        if env_id == MATH_ENV:
            golds = [self._gold(task, name) for task, name in zip(tasks, names)]
            math = self._math
            if math is None or not self._math_on_loop:
                if math is None:  # the pool starts once, off the event loop
                    math = await asyncio.to_thread(self.math)
                math.pool.use_event_loop()  # the server's loop dispatches it (no-op again)
                self._math_on_loop = True
            return await math.ascore_batch(list(responses), _spread(golds, index))
        resolved = [self._code_task(env_id, task, name) for task, name in zip(tasks, names)]
        code = self._code
        if code is None:
            code = await asyncio.to_thread(self.code)
        return await self._grade_code(code, _spread(resolved, index), responses)

    async def _grade_code(
        self, code: CodeReward, tasks: Sequence[CodeTask], responses: Sequence[str]
    ) -> list[RewardResult]:
        token = CancelToken()
        loop = asyncio.get_running_loop()

        def run(task: CodeTask, response: str) -> RewardResult:
            with cancel_scope(token):
                if token.cancelled:
                    return RewardResult(0.0, Status.INFRA_ERROR, None, {}, "cancelled")
                return code.score(task, response)

        assert self._threads is not None
        futures = [loop.run_in_executor(self._threads, run, t, r) for t, r in zip(tasks, responses)]
        try:
            return list(await asyncio.gather(*futures))
        except asyncio.CancelledError:
            token.cancel()  # kills the containers running this request's programs
            raise

    def find_task(self, env_id: str, task_id: str) -> None:
        """Raise :class:`NotFoundError` naming ``task_id`` unless the env has that task."""
        if env_id == MATH_ENV:
            self._gold(TaskId(task_id), "")
        elif env_id in _TASKS_OF:
            self._code_task(env_id, TaskId(task_id), "")

    def _gold(self, task: TaskRef, field: str) -> str:
        if isinstance(task, MathGold):
            return task.answer
        if isinstance(task, TaskId):
            source = self.math_source()
            try:
                return source.get(task.task_id).answer
            except (KeyError, RlvrGymError) as exc:
                raise NotFoundError(f"{_dotted(field, 'task_id')}: {exc}") from None
        raise ConfigError(f"{field}: {MATH_ENV} takes a math answer or a task_id, not code")

    def _code_task(self, env_id: str, task: TaskRef, field: str) -> CodeTask:
        if isinstance(task, CodeTask):
            return task
        if isinstance(task, TaskId):
            tasks = self.code_tasks(env_id)
            found = tasks.get(task.task_id)
            if found is None:
                raise NotFoundError(
                    f"{_dotted(field, 'task_id')}: {task.task_id!r} is not in {env_id}'s dataset"
                    f"{did_you_mean(task.task_id, tasks)}"
                )
            return found
        raise ConfigError(f"{field}: {env_id} takes a code task or a task_id, not math")

    # --- lifecycle ----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RlvrGymError("the server is shutting down")

    def close(self) -> None:
        """Stop the worker pool, the threads and the sandbox (containers removed)."""
        with self._lock:
            self._closed = True
            math, code, threads = self._math, self._code, self._threads
        if threads is not None:
            threads.shutdown(wait=True, cancel_futures=True)
        if code is not None:
            code.close()
        if math is not None:
            math.close()
