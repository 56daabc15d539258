"""Table tests for the R1 format reward (``<think>…</think>`` then the answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from rlvr_gym.rewards.format import FormatConfig, FormatReward, format_reward
from rlvr_gym.rewards.types import Status

REASON = "The two legs are 3 and 4, so the hypotenuse is sqrt(9 + 16) = 5."
ANSWER = "The hypotenuse is $\\boxed{5}$."


@dataclass(frozen=True)
class FCase:
    id: str
    response: str
    well_formatted: bool
    config: dict[str, Any] = field(default_factory=dict)


PREFILLED = {"think_prefilled": True}
TAGGED = {"require_answer_tag": True}
BOXED = {"require_boxed": True}

CASES = [
    # default template: <think>reasoning</think> answer
    FCase("default/well-formed", f"<think>\n{REASON}\n</think>\n\n{ANSWER}", True),
    FCase("default/no-newlines", f"<think>{REASON}</think>{ANSWER}", True),
    FCase("default/surrounding-whitespace", f"\n  <think>{REASON}</think>\n{ANSWER}\n  ", True),
    FCase("default/plain-answer", f"<think>{REASON}</think>\nThe answer is 5.", True),
    FCase("default/no-think-at-all", f"{REASON}\n\n{ANSWER}", False),
    FCase("default/text-before-think", f"Sure! <think>{REASON}</think>{ANSWER}", False),
    FCase("default/never-closed", f"<think>{REASON}\n{ANSWER}", False),
    FCase("default/close-without-open", f"{REASON}</think>{ANSWER}", False),
    FCase(
        "default/two-think-blocks", f"<think>{REASON}</think><think>again</think>{ANSWER}", False
    ),
    FCase("default/nested-open", f"<think>{REASON}<think>more</think>{ANSWER}", False),
    FCase("default/two-closes", f"<think>{REASON}</think>{ANSWER}</think>", False),
    FCase("default/empty-reasoning", f"<think></think>{ANSWER}", False),
    FCase("default/blank-reasoning", f"<think>\n   \n</think>{ANSWER}", False),
    FCase("default/no-answer", f"<think>{REASON}</think>", False),
    FCase("default/blank-answer", f"<think>{REASON}</think>\n   \n", False),
    FCase("default/uppercase-tags", f"<THINK>{REASON}</THINK>{ANSWER}", False),
    FCase("default/empty-response", "", False),
    FCase("default/whitespace-response", " \n\t ", False),
    # prefilled: the prompt already opened <think>
    FCase("prefilled/well-formed", f"{REASON}\n</think>\n\n{ANSWER}", True, PREFILLED),
    FCase("prefilled/reopened", f"<think>{REASON}</think>{ANSWER}", False, PREFILLED),
    FCase("prefilled/never-closed", f"{REASON}\n{ANSWER}", False, PREFILLED),
    FCase("prefilled/two-closes", f"{REASON}</think>x</think>{ANSWER}", False, PREFILLED),
    FCase("prefilled/empty-reasoning", f"</think>{ANSWER}", False, PREFILLED),
    FCase("prefilled/no-answer", f"{REASON}</think>  ", False, PREFILLED),
    # R1-Zero: the answer is exactly one <answer>…</answer> block
    FCase("tagged/well-formed", f"<think>{REASON}</think>\n<answer>5</answer>", True, TAGGED),
    FCase(
        "tagged/whitespace-around-block",
        f"<think>{REASON}</think>\n\n  <answer>\n5\n</answer>\n",
        True,
        TAGGED,
    ),
    FCase("tagged/multiline-answer", f"<think>{REASON}</think><answer>a\nb</answer>", True, TAGGED),
    FCase("tagged/missing-block", f"<think>{REASON}</think>{ANSWER}", False, TAGGED),
    FCase(
        "tagged/text-before-block", f"<think>{REASON}</think>So <answer>5</answer>", False, TAGGED
    ),
    FCase(
        "tagged/text-after-block", f"<think>{REASON}</think><answer>5</answer> ok", False, TAGGED
    ),
    FCase(
        "tagged/two-blocks",
        f"<think>{REASON}</think><answer>5</answer><answer>6</answer>",
        False,
        TAGGED,
    ),
    FCase("tagged/unclosed-block", f"<think>{REASON}</think><answer>5", False, TAGGED),
    FCase("tagged/empty-block", f"<think>{REASON}</think><answer></answer>", False, TAGGED),
    FCase(
        "tagged/block-inside-think",
        f"<think>{REASON}<answer>5</answer></think>The answer is 5.",
        False,
        TAGGED,
    ),
    # the answer part must contain \boxed
    FCase("boxed/well-formed", f"<think>{REASON}</think>{ANSWER}", True, BOXED),
    FCase("boxed/no-box", f"<think>{REASON}</think>The answer is 5.", False, BOXED),
    FCase(
        "boxed/box-only-in-reasoning",
        f"<think>{REASON} so \\boxed{{5}}</think>The answer is 5.",
        False,
        BOXED,
    ),
    FCase(
        "boxed/tagged-with-box",
        f"<think>{REASON}</think><answer>\\boxed{{5}}</answer>",
        True,
        {**TAGGED, **BOXED},
    ),
    FCase(
        "boxed/tagged-box-outside-block",
        f"<think>{REASON}</think><answer>5</answer>",
        False,
        {**TAGGED, **BOXED},
    ),
    FCase(
        "boxed/prefilled-tagged-boxed",
        f"{REASON}</think><answer>\\boxed{{5}}</answer>",
        True,
        {**PREFILLED, **TAGGED, **BOXED},
    ),
]


def test_table_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_format_reward(case: FCase) -> None:
    cfg = FormatConfig(**case.config)
    result = format_reward(case.response, cfg)
    if case.well_formatted:
        assert result.status is Status.CORRECT, result.detail
        assert result.reward == cfg.reward
        assert dict(result.components) == {"format": cfg.reward}
    else:
        assert result.status is Status.INCORRECT, result.detail
        assert result.reward == 0.0
        assert dict(result.components) == {"format": 0.0}
        assert result.detail  # says what is wrong


def test_default_config() -> None:
    assert format_reward(f"<think>{REASON}</think>{ANSWER}").reward == 1.0
    assert format_reward(ANSWER).reward == 0.0


def test_custom_reward_value() -> None:
    cfg = FormatConfig(reward=0.25)
    assert format_reward(f"<think>{REASON}</think>{ANSWER}", cfg).reward == 0.25
    assert format_reward(ANSWER, cfg).reward == 0.0


def test_detail_names_the_problem() -> None:
    assert "</think>" in format_reward(f"<think>{REASON}").detail
    assert "<think>" in format_reward(ANSWER).detail
    tagged = format_reward(f"<think>{REASON}</think>5", FormatConfig(require_answer_tag=True))
    assert "<answer>" in tagged.detail
    boxed = format_reward(f"<think>{REASON}</think>5", FormatConfig(require_boxed=True))
    assert "boxed" in boxed.detail


@pytest.mark.parametrize("bad", [None, 42, b"<think>x</think>y", ["<think>x</think>y"]])
def test_non_string_is_infra_error(bad: Any) -> None:
    result = format_reward(bad)
    assert result.status is Status.INFRA_ERROR
    assert result.reward == 0.0


GOOD = f"<think>{REASON}</think>{ANSWER}"
BAD = ANSWER


def test_trl_callable_on_strings() -> None:
    fn = FormatReward()
    assert fn.__name__ == "r1_format"
    assert fn(["p1", "p2", "p3"], [GOOD, BAD, GOOD]) == [1.0, 0.0, 1.0]


def test_trl_callable_on_conversations() -> None:
    fn = FormatReward()
    completions = [
        [{"role": "assistant", "content": GOOD}],
        [{"role": "assistant", "content": BAD}],
    ]
    prompts = [[{"role": "user", "content": "What is the hypotenuse?"}]] * 2
    assert fn(prompts, completions) == [1.0, 0.0]


def test_trl_callable_uses_config_and_ignores_extra_columns() -> None:
    fn = FormatReward(FormatConfig(think_prefilled=True, reward=0.5))
    out = fn(
        ["p", "p"],
        [f"{REASON}</think>{ANSWER}", GOOD],
        answer=["5", "5"],
        extra=[1, 2],
    )
    assert out == [0.5, 0.0]


def test_trl_callable_empty_batch() -> None:
    assert FormatReward()([], []) == []
