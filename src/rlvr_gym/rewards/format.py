"""Format reward for the R1 template: ``<think>…</think>`` then the answer.

DeepSeek-R1 trains with an accuracy reward plus this format reward, which teaches the
policy to put its reasoning inside one think block and the answer after it — which is
also what lets the accuracy reward grade only the text after ``</think>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rlvr_gym.rewards.types import RewardResult, Status

_OPEN, _CLOSE = "<think>", "</think>"
_ANSWER = re.compile(r"^\s*<answer>(.*?)</answer>\s*$", re.DOTALL)


@dataclass(frozen=True)
class FormatConfig:
    """What counts as well-formatted.

    Attributes:
        think_prefilled: The chat template already opened ``<think>`` in the prompt, so
            the response starts inside the reasoning and must not open it again.
        require_answer_tag: The answer must be exactly one ``<answer>…</answer>`` block
            (the R1-Zero template); otherwise any non-empty text after ``</think>``.
        require_boxed: The answer part must contain ``\\boxed{…}``.
        reward: Reward for a well-formatted response (0 otherwise).
    """

    think_prefilled: bool = False
    require_answer_tag: bool = False
    require_boxed: bool = False
    reward: float = 1.0


def _problem(response: str, cfg: FormatConfig) -> str | None:
    """Return what is wrong with the format, or None when it is right."""
    body = response.strip()
    if not cfg.think_prefilled:
        if not body.startswith(_OPEN):
            return "response must start with <think>"
        body = body[len(_OPEN) :]
    if _OPEN in body:
        return "more than one <think>"
    if body.count(_CLOSE) != 1:
        return "exactly one </think> is required" if _CLOSE in body else "missing </think>"
    thought, answer = body.split(_CLOSE)
    if not thought.strip():
        return "empty reasoning"
    if not answer.strip():
        return "no answer after </think>"
    if cfg.require_answer_tag:
        m = _ANSWER.match(answer)
        if m is None or "<answer>" in m.group(1):
            return "answer must be one <answer>…</answer> block"
        if not m.group(1).strip():
            return "empty <answer> block"
        answer = m.group(1)
    if cfg.require_boxed and "\\boxed" not in answer:
        return "answer has no \\boxed{}"
    return None


def format_reward(response: str, config: FormatConfig | None = None) -> RewardResult:
    """Score the R1 format of one response (pure string work; safe in-process)."""
    cfg = config or FormatConfig()
    if not isinstance(response, str):
        return RewardResult(
            0.0, Status.INFRA_ERROR, None, {"format": 0.0}, "response is not a string"
        )
    problem = _problem(response, cfg)
    if problem is None:
        return RewardResult(
            cfg.reward, Status.CORRECT, None, {"format": cfg.reward}, "well formatted"
        )
    return RewardResult(0.0, Status.INCORRECT, None, {"format": 0.0}, problem)


class FormatReward:
    """TRL-shaped format reward: ``FormatReward()(prompts, completions) -> list[float]``."""

    __name__ = "r1_format"

    def __init__(self, config: FormatConfig | None = None) -> None:
        self.config = config or FormatConfig()

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        """One format reward per completion."""
        from rlvr_gym.rewards.math.reward import completion_text

        return [format_reward(completion_text(c), self.config).reward for c in completions]
