"""``rlvr-gym score --remote``: the offline scoring engine, graded by a reward server.

The engine (:mod:`rlvr_gym.scoring`) reads, orders and writes lines exactly as for local
scoring; only the grading moves. A batch is cut into chunks sent concurrently (so a
multi-replica target spreads them with ``round_robin``); each response carries its own
task (a math gold, a code ``task_id``, or an inline code task's JSON), so one bad line
never spoils its neighbours.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from rlvr_gym.errors import RlvrGymError
from rlvr_gym.rewards.code.datasets import parse_code_task
from rlvr_gym.rewards.types import RewardResult, Status
from rlvr_gym.server.client import RewardClient
from rlvr_gym.server.convert import MathGold, TaskId, TaskRef
from rlvr_gym.server.graders import MATH_ENV

__all__ = ["RemoteScorer"]

_CHUNK = 64
_CONCURRENCY = 8


class RemoteScorer:
    """A :class:`~rlvr_gym.scoring.BatchScorer` that grades through ``RewardClient``."""

    def __init__(self, env_id: str, target: str | Sequence[str], token: str | None = None) -> None:
        self.env_id = env_id
        self.client = RewardClient(target, token=token)
        self._threads = ThreadPoolExecutor(_CONCURRENCY, "rlvr-remote-score")

    def score_batch(self, responses: Sequence[str], golds: Sequence[str]) -> list[RewardResult]:
        """Score ``responses[i]`` against ``golds[i]`` on the server.

        Raises:
            RemoteError: the server refused or could not be reached after retries (the
                engine then marks the batch ``infra_error``).
        """
        tasks = [self._task(gold) for gold in golds]
        todo = [i for i, t in enumerate(tasks) if not isinstance(t, RewardResult)]
        chunks = [todo[k : k + _CHUNK] for k in range(0, len(todo), _CHUNK)]

        def send(chunk: list[int]) -> list[RewardResult]:
            chosen = [tasks[i] for i in chunk]
            return self.client.score_batch(self.env_id, chosen, [responses[i] for i in chunk])  # type: ignore[arg-type]

        out: list[RewardResult] = [t if isinstance(t, RewardResult) else _PENDING for t in tasks]
        for chunk, results in zip(chunks, self._threads.map(send, chunks)):
            for i, result in zip(chunk, results):
                out[i] = result
        return out

    def close(self) -> None:
        """Close the threads and the channel."""
        self._threads.shutdown(wait=True)
        self.client.close()

    def _task(self, gold: str) -> TaskRef | RewardResult:
        if not gold.strip():
            return RewardResult(0.0, Status.INFRA_ERROR, None, {}, "bad task: empty gold answer")
        if self.env_id == MATH_ENV:
            return MathGold(gold)
        try:
            if gold.lstrip().startswith("{"):
                return parse_code_task(json.loads(gold))
        except (RlvrGymError, ValueError) as exc:
            # The line's task is unusable: not the response's fault, so never a zero.
            return RewardResult(0.0, Status.INFRA_ERROR, None, {}, f"bad task: {exc}")
        return TaskId(gold)


_PENDING = RewardResult(0.0, Status.INFRA_ERROR, None, {}, "not scored")
