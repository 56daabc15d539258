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

__all__ = ["Background", "EnvScorer", "Scorer", "combine", "make_scorer"]


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


class EnvScorer:
    """The adapters' shared scorer (same masking rules as TRL/verl/OpenRLHF), for one env.

    In-process graders when ``remote`` is ``None``, else the reward service; a service
    still failing after the client's retries masks the batch, a refusal no retry can fix
    (a bad request, a wrong token) raises, so a misconfigured run stops at step one.
    """

    def __init__(self, env_id: str, remote: str | Sequence[str] | None = None,
                 format_weight: float = 0.0, token: str | None = None) -> None:  # fmt: skip
        from rlvr_gym.trainer_adapter.adapters._scoring import Scorer as SharedScorer

        self.env_id, self.format_weight = env_id, format_weight
        self.inner = SharedScorer(remote, token=token)

    def score(self, tasks: Sequence[MathTask], texts: Sequence[str]) -> list[RewardResult]:
        """Grade every completion against its task's gold answer."""
        results = self.inner.score(self.env_id, [t.answer for t in tasks], list(texts))
        return [combine(r, t, self.format_weight) for r, t in zip(results, texts)]

    def close(self) -> None:
        """Stop worker pools or close the channel."""
        self.inner.close()


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
    """The env's scorer: through the reward service when ``remote`` is set, else here."""
    target: str | list[str] | None = remote
    if remote and "," in remote:
        target = remote.split(",")
    return EnvScorer(env_id, target or None, format_weight)
