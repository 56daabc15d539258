"""Rewards for the trainer: the math env's graders in-process, or the gRPC service.

Why a thread: scoring runs while the trainer computes the reference log-probs of the same
batch, so the GPU (or CPU) does not sit idle waiting for the graders; the time it still
waits is measured and logged as the step's reward-wait share.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from rlvr_gym.envs.tasks import MathTask
from rlvr_gym.rewards.format import format_reward
from rlvr_gym.rewards.types import RewardResult

__all__ = ["LocalScorer", "RemoteScorer", "Scorer", "combine", "make_scorer"]


class Scorer(Protocol):
    """Scores completions against their tasks; never raises on model output."""

    def score(self, tasks: Sequence[MathTask], texts: Sequence[str]) -> list[RewardResult]:
        """One result per completion, in order."""
        ...

    def close(self) -> None:
        """Release workers or channels."""
        ...


def combine(accuracy: RewardResult, text: str, format_weight: float) -> RewardResult:
    """Accuracy plus ``format_weight`` times the R1 format reward; the status stays accuracy's."""
    if format_weight <= 0:
        return accuracy
    fmt = format_reward(text)
    components = {**accuracy.components, "accuracy": accuracy.reward, "format": fmt.reward}
    return RewardResult(accuracy.reward + format_weight * fmt.reward, accuracy.status,
                        accuracy.extracted, components, accuracy.detail)  # fmt: skip


class LocalScorer:
    """The math reward in this process (its own worker pool)."""

    def __init__(self, workers: int | None = None, format_weight: float = 0.0) -> None:
        from rlvr_gym.rewards.math.reward import MathReward

        self.reward = MathReward(workers=workers)
        self.format_weight = format_weight

    def score(self, tasks: Sequence[MathTask], texts: Sequence[str]) -> list[RewardResult]:
        """Grade every completion against its task's gold answer."""
        results = self.reward.score_batch(list(texts), [t.answer for t in tasks])
        return [combine(r, t, self.format_weight) for r, t in zip(results, texts)]

    def close(self) -> None:
        """Stop the worker pool."""
        self.reward.close()


class RemoteScorer:
    """The reward service (``rlvr-gym serve``): one ``ScoreBatch`` per training batch."""

    def __init__(self, target: str | Sequence[str], env_id: str, format_weight: float = 0.0,
                 token: str | None = None) -> None:  # fmt: skip
        from rlvr_gym.server.client import RewardClient

        self.client = RewardClient(target, token=token)
        self.env_id, self.format_weight = env_id, format_weight

    def score(self, tasks: Sequence[MathTask], texts: Sequence[str]) -> list[RewardResult]:
        """Grade remotely; a failed call masks the batch (``infra_error``), never a zero."""
        from rlvr_gym.errors import RlvrGymError
        from rlvr_gym.rewards.types import Status
        from rlvr_gym.server.client import MathGold

        try:
            golds = [MathGold(t.answer) for t in tasks]
            results = self.client.score_batch(self.env_id, golds, list(texts))
        except RlvrGymError as exc:
            failed = RewardResult(0.0, Status.INFRA_ERROR, None, {}, f"reward service: {exc}")
            return [failed] * len(texts)
        return [combine(r, t, self.format_weight) for r, t in zip(results, texts)]

    def close(self) -> None:
        """Close the channel."""
        self.client.close()


class Background:
    """Runs a scorer in one background thread (scores one batch while the next step works)."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self._thread = ThreadPoolExecutor(1, "rlvr-train-score")

    def submit(self, tasks: Sequence[MathTask], texts: Sequence[str]) -> Future[list[RewardResult]]:
        """Start scoring; the future holds the results."""
        return self._thread.submit(self.scorer.score, list(tasks), list(texts))

    def close(self) -> None:
        """Wait for the thread, then close the scorer."""
        self._thread.shutdown(wait=True)
        self.scorer.close()


def make_scorer(remote: str | None, env_id: str, format_weight: float) -> Scorer:
    """The remote scorer when ``remote`` is set, else the local one."""
    if remote:
        target: str | list[str] = remote if "," not in remote else remote.split(",")
        return RemoteScorer(target, env_id, format_weight)
    return LocalScorer(format_weight=format_weight)
