"""TEMPORARY skeleton: public API of the math reward; the real grader lands shortly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rlvr_gym.rewards.math.config import MathConfig
from rlvr_gym.rewards.types import RewardResult, Status


def grade(response: str, gold: str, config: MathConfig = MathConfig()) -> RewardResult:
    """Grade one response in-process (no deadline)."""
    ok = gold.strip() in response
    return RewardResult(1.0 if ok else 0.0, Status.CORRECT if ok else Status.INCORRECT, gold)


class MathReward:
    """Math accuracy reward graded in a pool of killable workers."""

    def __init__(self, config: MathConfig | None = None, *, workers: int | None = None) -> None:
        self.config = config or MathConfig()

    def score(self, response: str, gold: str) -> RewardResult:
        return grade(response, gold, self.config)

    def score_batch(self, responses: Sequence[str], golds: Sequence[str] | str) -> list[RewardResult]:
        gl = [golds] * len(responses) if isinstance(golds, str) else list(golds)
        return [grade(r, g, self.config) for r, g in zip(responses, gl)]

    async def ascore_batch(self, responses: Sequence[str], golds: Sequence[str] | str) -> list[RewardResult]:
        return self.score_batch(responses, golds)

    def __call__(self, prompts: Any, completions: Any, answer: Any, **kwargs: Any) -> list[float | None]:
        return [r.reward for r in self.score_batch(completions, answer)]

    def close(self) -> None:
        pass

    def __enter__(self) -> MathReward:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
