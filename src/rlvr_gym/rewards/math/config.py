"""Configuration of the math accuracy reward."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MathConfig:
    """How the math reward extracts and compares answers.

    Attributes:
        deadline_s: Wall-clock budget for grading one response, counted from when a
            worker starts on it (queueing time is not charged). Past it the worker is
            killed and the result is ``timeout``.
        last_number_fallback: When no box, ``<answer>`` tag or answer phrase is found,
            take the last number in the graded region as the answer.
        allow_unevaluated: Accept a prediction that only restates a computation
            (``123\\cdot456`` for gold ``56088``). Off by default: otherwise the policy
            learns to leave the arithmetic to the verifier.
        require_think_close: Grade only responses that close ``</think>``. When False,
            a response with no think tags at all is graded whole (templates that
            prefill ``<think>`` in the prompt, or models that do not think). Either
            way, a response that opens ``<think>`` and never closes it has no answer:
            it never finished reasoning.
        reward_correct: Reward for a correct answer.
        reward_incorrect: Reward for every other model-caused outcome.
        max_response_chars: Responses longer than this are graded on their last
            ``max_response_chars`` characters (the answer is at the end).
    """

    deadline_s: float = 5.0
    last_number_fallback: bool = True
    allow_unevaluated: bool = False
    require_think_close: bool = False
    reward_correct: float = 1.0
    reward_incorrect: float = 0.0
    max_response_chars: int = 100_000
