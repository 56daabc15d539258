"""``rlvr_gym/CodeRepair-v0``: multi-turn coding, the failing test shown back after each attempt.

Why multi-turn: models are trained to use execution feedback as well as to write code
first time. Each failed attempt's observation is a feedback message naming the first
failing test (input, expected, got, error - truncated), so the trainer appends it to the
conversation and samples the next attempt. The episode ends when a program passes or
after ``max_turns`` attempts; the reward is decided on the final attempt.
"""

from __future__ import annotations

from typing import Any, Literal

from rlvr_gym.envs.code_env import CodeEnv
from rlvr_gym.errors import ConfigError
from rlvr_gym.rewards.code.results import JudgeResult, TestOutcome

__all__ = ["CodeRepairEnv", "feedback_message"]

Shaping = Literal["final", "improvement"]


def feedback_message(verdict: JudgeResult, turn: int, max_turns: int) -> str:
    """The observation after a failed attempt: what went wrong, and what to send next."""
    left = max_turns - turn
    head = f"Attempt {turn} of {max_turns} failed"
    if verdict.status == "no_answer":
        body = "No program was found in your reply (put it in one fenced code block)."
    elif verdict.status == "compile_error":
        body = f"The program did not compile:\n{verdict.detail}"
    else:
        failure = verdict.first_failure()
        body = _describe(failure) if failure is not None else verdict.detail
        body = f"{verdict.passed} of {verdict.total} tests passed. {body}"
    return (
        f"{head}. {body}\n\nFix the program and reply with the whole corrected program in "
        f"one fenced code block ({left} attempt{'s' if left != 1 else ''} left)."
    )


def _describe(test: TestOutcome) -> str:
    parts = [f"Test {test.index} failed ({test.status.replace('_', ' ')})."]
    if test.input:
        parts.append(f"Input:\n{test.input}")
    if test.expected:
        parts.append(f"Expected:\n{test.expected}")
    if test.status == "wrong_answer" or test.got:
        parts.append(f"Got:\n{test.got}")
    if test.detail:
        parts.append(f"Error:\n{test.detail}")
    return "\n".join(parts)


class CodeRepairEnv(CodeEnv):
    r"""Multi-turn programming: up to ``max_turns`` attempts with test feedback.

    ## Description

    As :class:`CodeEnv`, but a failed attempt does not end the episode: the next
    observation is a feedback message (:func:`feedback_message`) with the first failing
    test and its error, and the agent answers with a corrected program.

    ## Action Space

    ``UnicodeText(0, max_response_chars)``: one response (containing a program) per turn.

    ## Observation Space

    ``UnicodeText``: the task prompt after ``reset``; a feedback message after a failed
    attempt (the conversation history is the trainer's to keep).

    ## Rewards

    ``shaping="final"`` (default): 0 on every turn but the last, whose reward is the
    final attempt's (1 if it passes; with ``partial_credit``, its fraction of tests).
    ``shaping="improvement"``: each turn earns its fraction of tests minus the best
    fraction of earlier turns (when positive), so the rewards of an episode sum to the
    best attempt's score. ``turn_penalty`` is subtracted for every turn after the first.
    ``info`` carries the attempt's status, per-test outcomes and ``turn``.

    ## Starting State

    As :class:`CodeEnv`.

    ## Episode End

    Terminated when an attempt passes. Truncated after ``max_turns`` failed attempts, or
    when the sandbox fails (``info["status"] == "infra_error"``: mask the episode).

    ## Arguments

    Those of :class:`CodeEnv`, plus ``max_turns`` (default 3), ``shaping`` and
    ``turn_penalty`` (default 0).

    ## Version History

    * v0: Initial version.
    """

    def __init__(
        self,
        *args: Any,
        max_turns: int = 3,
        shaping: Shaping = "final",
        turn_penalty: float = 0.0,
        **kwargs: Any,
    ) -> None:
        """Build the environment; see the class docstring's Arguments section.

        Raises:
            ConfigError: an invalid argument.
        """
        super().__init__(*args, **kwargs)
        if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1:
            raise ConfigError(f"max_turns must be a positive int, got {max_turns!r}")
        if shaping not in ("final", "improvement"):
            raise ConfigError(f"shaping must be 'final' or 'improvement', got {shaping!r}")
        if not 0 <= turn_penalty < 1:
            raise ConfigError(f"turn_penalty must be in [0, 1), got {turn_penalty!r}")
        self.max_turns, self.shaping, self.turn_penalty = max_turns, shaping, float(turn_penalty)
        self._turn = 0
        self._best = 0.0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Start an episode with a new task; see :meth:`CodeEnv.reset`."""
        obs, info = super().reset(seed=seed, options=options)
        self._turn, self._best = 0, 0.0
        info.update(turn=0, max_turns=self.max_turns)
        return obs, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Judge one attempt; returns feedback unless it passed or turns ran out.

        Raises:
            ResetNeededError: before ``reset`` or after the episode ended.
            InvalidActionError: ``action`` is not a ``str``.
        """
        task = self._check_step(action)
        self._turn += 1
        result, info = self._judge(task, action)
        verdict: JudgeResult = info["verdict"]
        info.update(turn=self._turn, max_turns=self.max_turns)
        passed = verdict.status == "passed"
        broken = verdict.status == "infra_error"
        last = passed or broken or self._turn >= self.max_turns
        score = float(result.reward)
        if self.shaping == "improvement":
            reward = max(0.0, score - self._best)
            self._best = max(self._best, score)
        else:
            reward = score if last else 0.0
        if self._turn > 1 and reward > 0:
            reward = max(0.0, reward - self.turn_penalty * (self._turn - 1))
        self._done = last
        if last:
            obs = self._prompt
        else:
            obs = feedback_message(verdict, self._turn, self.max_turns)
            self._transcript += ["--- feedback ---", obs]
        return obs, reward, passed, last and not passed, info
