"""The code reward: extract the program, judge it in the sandbox, turn the verdict into a number.

Why a reward object around the judges: trainers score a GRPO group (G completions of one
task) at once, and every completion is a sandbox round trip that mostly waits on a
container. :meth:`CodeReward.score_batch` keeps every container of the pool busy with a
thread per container, and caches per-task work that does not depend on the response
(MBPP+'s expected values, computed once from the reference solution).

Reward rules: all-or-nothing by default (1 when every test passed, else 0), or the
fraction of tests passed with ``partial_credit``. A program that fails by its own fault -
wrong answer, crash, time or memory limit, compile error - is ``incorrect``; no program in
the response is ``no_answer``; a sandbox or judge failure is ``infra_error``, which the TRL
entry point returns as ``None`` so the sample is masked, never trained on as a zero.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from rlvr_gym._closing import Closing
from rlvr_gym.errors import ConfigError
from rlvr_gym.rewards.code.call_judge import CallJudgeConfig, fill_expected, judge_call
from rlvr_gym.rewards.code.extract import extract_program
from rlvr_gym.rewards.code.io_judge import judge_io
from rlvr_gym.rewards.code.results import JudgeResult, truncate
from rlvr_gym.rewards.code.tasks import CodeTask
from rlvr_gym.rewards.math.reward import completion_text
from rlvr_gym.rewards.types import RewardResult, Status
from rlvr_gym.sandbox.api import Sandbox
from rlvr_gym.sandbox.types import ExecutionLimits

__all__ = ["CodeConfig", "CodeReward", "reward_of"]

_STATUS = {
    "passed": Status.CORRECT,
    "failed": Status.INCORRECT,
    "compile_error": Status.INCORRECT,
    "no_answer": Status.NO_ANSWER,
    "infra_error": Status.INFRA_ERROR,
}


@dataclass(frozen=True)
class CodeConfig:
    """How code responses are judged and rewarded.

    Attributes:
        partial_credit: reward the fraction of tests passed instead of all-or-nothing.
        io_limits: limits of each stdin/stdout run (``None``: the sandbox's defaults).
        call: the function-call judge's settings (per-call timeout, run limits).
        stop_on_first_failure: stop judging at the first failing test (faster; with
            ``partial_credit`` the later tests then count as failed).
        extract: take the program from the response's last fenced block; ``False``
            means the response *is* the program.
    """

    partial_credit: bool = False
    io_limits: ExecutionLimits | None = None
    call: CallJudgeConfig = field(default_factory=CallJudgeConfig)
    stop_on_first_failure: bool = False
    extract: bool = True


def reward_of(verdict: JudgeResult, config: CodeConfig, program: str | None) -> RewardResult:
    """The :class:`RewardResult` of a judge's verdict under ``config``."""
    status = _STATUS[verdict.status]
    if verdict.status == "passed":
        reward = 1.0
    elif config.partial_credit and verdict.status == "failed":
        reward = verdict.fraction
    else:
        reward = 0.0
    components = {"tests_passed": float(verdict.passed), "tests_total": float(verdict.total)}
    if verdict.status == "infra_error":
        components = {}
    detail = verdict.detail
    failure = verdict.first_failure()
    if failure is not None and not detail:
        detail = f"test {failure.index}: {failure.status}"
        if failure.detail:
            detail += f" - {failure.detail}"
    return RewardResult(reward, status, program, components, truncate(detail))


class CodeReward(Closing):
    """Code accuracy reward over a sandbox; thread-safe, sync and asyncio.

    Args:
        config: judging and reward settings.
        sandbox: the sandbox to run programs in; ``None`` creates one (``backend``,
            ``pool_size``) that :meth:`close` tears down.
        backend: sandbox backend when creating one (``auto``, ``docker``, ``process``).
        pool_size: containers when creating one (default: the CPU count).
        tasks: tasks that TRL calls and :meth:`score` may name by ``task_id``.

    Also a TRL reward function: ``CodeReward(tasks=ds)(prompts, completions,
    task_id=[...])`` returns one float per completion, or ``None`` where the sandbox
    failed (``infra_error``).
    """

    __name__ = "code_accuracy"  # TRL logs reward functions by __name__

    def __init__(
        self,
        config: CodeConfig | None = None,
        *,
        sandbox: Sandbox | None = None,
        backend: str = "auto",
        pool_size: int | None = None,
        tasks: Sequence[CodeTask] | Mapping[str, CodeTask] | None = None,
    ) -> None:
        self.config = config or CodeConfig()
        self._own_sandbox = sandbox is None
        self.sandbox = sandbox or Sandbox(backend=backend, pool_size=pool_size)  # type: ignore[arg-type]
        items = tasks.values() if isinstance(tasks, Mapping) else (tasks or ())
        self.tasks: dict[str, CodeTask] = {task.task_id: task for task in items}
        self._filled: dict[tuple[str, str | None], CodeTask] = {}
        self._fill_locks: dict[tuple[str, str | None], threading.Lock] = {}
        self._fill_lock = threading.Lock()
        workers = getattr(self.sandbox.backend, "size", None) or pool_size or 2
        self._threads = ThreadPoolExecutor(max(1, int(workers)), "rlvr-code-reward")

    def task(self, task: CodeTask | str) -> CodeTask:
        """Resolve a task id through :attr:`tasks`.

        Raises:
            ConfigError: an id that is not among the reward's tasks.
        """
        if isinstance(task, CodeTask):
            return task
        try:
            return self.tasks[task]
        except KeyError:
            from rlvr_gym.errors import did_you_mean

            raise ConfigError(
                f"unknown task_id {task!r}{did_you_mean(task, self.tasks)}: pass it to "
                "CodeReward(tasks=...) or give the task itself"
            ) from None

    def judge(self, task: CodeTask | str, response: str) -> tuple[JudgeResult, str | None]:
        """Extract the program from ``response`` and judge it; returns (verdict, program)."""
        resolved = self.task(task)
        program = extract_program(response, resolved.language) if self.config.extract else response
        if program is None or not program.strip():
            return JudgeResult("no_answer", total=resolved.num_tests, detail="no program"), None
        if resolved.kind == "io":
            verdict = judge_io(
                self.sandbox,
                resolved,
                program,
                limits=self.config.io_limits,
                stop_on_first_failure=self.config.stop_on_first_failure,
            )
        else:
            verdict = judge_call(self.sandbox, self._ready(resolved), program, config=self._call())
        return verdict, program

    def score(self, task: CodeTask | str, response: str) -> RewardResult:
        """Judge one response; never raises on model output."""
        try:
            verdict, program = self.judge(task, response)
        except ConfigError:
            raise
        except Exception as exc:  # a judge bug must be masked, not scored as a zero
            return RewardResult(0.0, Status.INFRA_ERROR, None, {}, f"judge failed: {exc!r}")
        return reward_of(verdict, self.config, program)

    def score_batch(
        self, tasks: Sequence[CodeTask | str] | CodeTask | str, responses: Sequence[str]
    ) -> list[RewardResult]:
        """Judge many responses in parallel (one thread per sandbox container).

        ``tasks`` is one per response, or a single task for all (a GRPO group).
        """
        pairs = self._pairs(tasks, responses)
        return list(self._threads.map(lambda pair: self.score(*pair), pairs))

    async def ascore_batch(
        self, tasks: Sequence[CodeTask | str] | CodeTask | str, responses: Sequence[str]
    ) -> list[RewardResult]:
        """Asyncio form of :meth:`score_batch`; does not block the event loop."""
        loop = asyncio.get_running_loop()
        pairs = self._pairs(tasks, responses)
        futures = [loop.run_in_executor(self._threads, self.score, *pair) for pair in pairs]
        return list(await asyncio.gather(*futures))

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        task_id: Sequence[str] | None = None,
        task: Sequence[CodeTask] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """TRL reward function: one reward per completion, ``None`` to mask."""
        chosen = task if task is not None else task_id
        if chosen is None:
            raise ConfigError("CodeReward needs a 'task_id' (or 'task') column in the dataset")
        texts = [completion_text(c) for c in completions]
        results = self.score_batch(list(chosen), texts)
        return [None if r.is_infra_error else r.reward for r in results]

    def close(self) -> None:
        """Stop the threads, and the sandbox if this reward created it."""
        self._threads.shutdown(wait=True)
        if self._own_sandbox:
            self.sandbox.close()

    def _pairs(
        self, tasks: Sequence[CodeTask | str] | CodeTask | str, responses: Sequence[str]
    ) -> list[tuple[CodeTask | str, str]]:
        if isinstance(tasks, (CodeTask, str)):
            return [(tasks, r) for r in responses]
        if len(tasks) != len(responses):
            raise ConfigError(f"got {len(responses)} responses but {len(tasks)} tasks")
        return list(zip(tasks, responses))

    def _call(self) -> CallJudgeConfig:
        if self.config.stop_on_first_failure and not self.config.call.stop_on_first_failure:
            from dataclasses import replace

            return replace(self.config.call, stop_on_first_failure=True)
        return self.config.call

    def _ready(self, task: CodeTask) -> CodeTask:
        """The task with expected values computed from its reference where pending."""
        if not task.metadata.get("expected_pending"):
            return task
        key = (task.task_id, task.reference)
        with self._fill_lock:  # one lock per task: different tasks fill in parallel
            lock = self._fill_locks.setdefault(key, threading.Lock())
        with lock:
            cached = self._filled.get(key)
            if cached is None:
                cached = fill_expected(self.sandbox, task, config=self.config.call)
                self._filled[key] = cached
            return cached
