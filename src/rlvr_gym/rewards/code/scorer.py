"""Offline scoring of code responses for ``rlvr-gym score``: lines name a task or carry one.

Each input line has a ``response`` and either a ``task_id`` (looked up in the env's
dataset, loaded once from ``--data`` or the dataset's default location) or a ``task``
object in the ``rlvr_gym/Code-v0`` schema. The scoring pipeline hands both forms over as
one string per line - a task id, or the task object's JSON text (``{...}``) - and this
scorer resolves them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from rlvr_gym.errors import RlvrGymError
from rlvr_gym.rewards.code.datasets import parse_code_task
from rlvr_gym.rewards.code.reward import CodeReward
from rlvr_gym.rewards.code.tasks import CodeTask
from rlvr_gym.rewards.types import RewardResult, Status

__all__ = ["CodeScorer"]


class CodeScorer:
    """A :class:`~rlvr_gym.scoring.BatchScorer` over a :class:`CodeReward`.

    Args:
        reward: the reward that judges (its sandbox is closed with the scorer).
        load_tasks: loads the env's dataset on first use of a task id (a file that is
            never needed is never read).
    """

    def __init__(self, reward: CodeReward, load_tasks: Callable[[], list[CodeTask]]) -> None:
        self.reward = reward
        self._load = load_tasks
        self._loaded = False

    def score_batch(self, responses: Sequence[str], golds: Sequence[str]) -> list[RewardResult]:
        """Score ``responses[i]`` for the task named or given by ``golds[i]``."""
        tasks: list[CodeTask | RewardResult] = [self._resolve(gold) for gold in golds]
        todo = [(i, t) for i, t in enumerate(tasks) if isinstance(t, CodeTask)]
        scored = self.reward.score_batch([t for _, t in todo], [responses[i] for i, _ in todo])
        out: list[RewardResult] = [t for t in tasks if isinstance(t, RewardResult)]
        results: list[RewardResult | None] = [None] * len(tasks)
        for (i, _), result in zip(todo, scored):
            results[i] = result
        errors = iter(out)
        return [r if r is not None else next(errors) for r in results]

    def close(self) -> None:
        """Tear down the reward's sandbox."""
        self.reward.close()

    def _resolve(self, gold: str) -> CodeTask | RewardResult:
        try:
            if gold.lstrip().startswith("{"):
                return parse_code_task(json.loads(gold))
            if not self._loaded:
                self.reward.tasks.update({t.task_id: t for t in self._load()})
                self._loaded = True
            return self.reward.task(gold)
        except (RlvrGymError, ValueError) as exc:
            # The line's task is unusable: not the response's fault, so never a zero.
            return RewardResult(0.0, Status.INFRA_ERROR, None, {}, f"bad task: {exc}")
