"""The math accuracy reward: grading in killable workers, sync, asyncio and TRL-shaped.

Parsing and sympy run on untrusted text and can hang or explode (``9^{9^{9^{9}}}``),
so every response is graded in a :class:`~rlvr_gym.rewards.pool.WorkerPool` worker
with a deadline counted from when the worker starts on it; past it the worker is killed
and replaced and the result is ``timeout``. Responses sharing a gold answer are sent
to the same worker in one message, so the gold is parsed once per group (GRPO grades
G responses against one gold).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rlvr_gym._closing import Closing
from rlvr_gym.errors import ConfigError
from rlvr_gym.rewards.math.config import MathConfig
from rlvr_gym.rewards.pool import TaskFailed, TaskTimeout, WorkerPool
from rlvr_gym.rewards.types import RewardResult, Status

if TYPE_CHECKING:
    from rlvr_gym.scoring_offload import LineJob

_GRADER_MODULE = "rlvr_gym.rewards.math.grader"

GradeItem = tuple[str, str, MathConfig]


def grade_item(item: GradeItem) -> RewardResult:
    """Worker entry point: grade one ``(response, gold, config)`` triple."""
    from rlvr_gym.rewards.math.grader import grade

    return grade(*item)


def completion_text(completion: Any) -> str:
    """Text of a TRL completion: a string, or a conversation (last message's content)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    if isinstance(completion, Sequence) and completion:
        return completion_text(completion[-1])
    return ""


def _result_of(outcome: RewardResult | TaskTimeout | TaskFailed, cfg: MathConfig) -> RewardResult:
    if isinstance(outcome, RewardResult):
        return outcome
    if isinstance(outcome, TaskTimeout):
        return RewardResult(
            cfg.reward_incorrect,
            Status.TIMEOUT,
            None,
            {"accuracy": cfg.reward_incorrect},
            f"grading exceeded its {cfg.deadline_s:g}s deadline; the worker was replaced",
        )
    return RewardResult(
        cfg.reward_incorrect, Status.INFRA_ERROR, None, {}, f"grading failed: {outcome.error}"
    )


class MathReward(Closing):
    """Math accuracy reward.

    Use as a context manager (or call :meth:`close`) so worker processes are reaped.
    Also a TRL reward function: ``MathReward()(prompts, completions, answer=[...])``
    returns one float per completion, or ``None`` where grading failed on our side
    (``infra_error``) or hit its deadline (``timeout``) so the trainer masks the sample
    instead of learning from a reward nobody computed.
    """

    __name__ = "math_accuracy"  # TRL logs reward functions by __name__

    def __init__(
        self,
        config: MathConfig | None = None,
        *,
        workers: int | None = None,
        pool: WorkerPool | None = None,
    ) -> None:
        self.config = config or MathConfig()
        if self.config.deadline_s <= 0:
            raise ConfigError(f"deadline_s must be > 0, got {self.config.deadline_s}")
        self._own_pool = pool is None
        self.pool = pool or WorkerPool(workers, preload=(_GRADER_MODULE,), import_main=False)

    def _items(self, responses: Sequence[str], golds: Sequence[str] | str) -> list[GradeItem]:
        gl = [golds] * len(responses) if isinstance(golds, str) else list(golds)
        if len(gl) != len(responses):
            raise ConfigError(f"got {len(responses)} responses but {len(gl)} gold answers")
        return [(r, g, self.config) for r, g in zip(responses, gl)]

    def score(self, response: str, gold: str) -> RewardResult:
        """Grade one response."""
        return self.score_batch([response], [gold])[0]

    def score_batch(
        self, responses: Sequence[str], golds: Sequence[str] | str
    ) -> list[RewardResult]:
        """Grade many responses in parallel; ``golds`` is one per response or one for all."""
        items = self._items(responses, golds)
        out = self.pool.map(grade_item, items, deadline_s=self.config.deadline_s, key=_gold_key)
        return [_result_of(o, self.config) for o in out]

    async def ascore_batch(
        self, responses: Sequence[str], golds: Sequence[str] | str
    ) -> list[RewardResult]:
        """Asyncio form of :meth:`score_batch`; does not block the event loop."""
        items = self._items(responses, golds)
        out = await self.pool.amap(
            grade_item, items, deadline_s=self.config.deadline_s, key=_gold_key
        )
        return [_result_of(o, self.config) for o in out]

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        answer: Sequence[str],
        **kwargs: Any,
    ) -> list[float | None]:
        """TRL reward function: one reward per completion, ``None`` to mask."""
        texts = [completion_text(c) for c in completions]
        results = self.score_batch(texts, list(answer))
        masked = (Status.INFRA_ERROR, Status.TIMEOUT)
        return [None if r.status in masked else r.reward for r in results]

    def line_job(self) -> LineJob:
        """Let ``rlvr-gym score`` parse and encode JSONL lines inside the workers."""
        from rlvr_gym.scoring_offload import LineJob

        config = self.config
        return LineJob(
            pool=self.pool,
            grade=functools.partial(_grade_with, config=config),
            deadline_s=config.deadline_s,
            on_failure=functools.partial(_result_of, cfg=config),
        )

    def close(self) -> None:
        """Stop the worker pool if this reward created it."""
        if self._own_pool:
            self.pool.close()


def _grade_with(response: str, gold: str, *, config: MathConfig) -> RewardResult:
    """Picklable grader for offloaded line scoring (runs in a worker)."""
    from rlvr_gym.rewards.math.grader import grade as _grade

    return _grade(response, gold, config)


def _gold_key(item: GradeItem) -> str:
    return item[1]


def grade(response: str, gold: str, config: MathConfig | None = None) -> RewardResult:
    """Grade one response in this process, without a deadline (debugging, tests).

    Imports the grader lazily so that the parent process of a pool never pays for
    sympy.
    """
    from rlvr_gym.rewards.math.grader import grade as _grade

    return _grade(response, gold, config)
