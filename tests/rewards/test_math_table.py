"""Table-driven regression tests for the math accuracy reward (cases in math_cases.py)."""

from __future__ import annotations

from collections import Counter

import pytest

from rlvr_gym.rewards.math.config import MathConfig
from rlvr_gym.rewards.math.grader import grade
from rlvr_gym.rewards.types import Status
from tests.rewards.math_cases import CASES, LABELED, REAL, Case


def test_table_is_well_formed() -> None:
    ids = [c.id for c in CASES]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes, f"duplicate case ids: {dupes}"
    assert len(CASES) >= 320
    for case in CASES:
        Status(case.expected_status)  # a valid status name
        MathConfig(**case.config_kwargs)  # valid config fields


def test_real_responses_are_loaded() -> None:
    if not LABELED.exists():
        pytest.skip(f"labelled responses not found at {LABELED}")
    assert len(REAL) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_grade(case: Case) -> None:
    cfg = MathConfig(**case.config_kwargs)
    result = grade(case.response, case.gold, cfg)
    expected = Status(case.expected_status)
    assert result.status is expected, (
        f"gold={case.gold!r} extracted={result.extracted!r} detail={result.detail!r}"
    )
    want_reward = cfg.reward_correct if expected is Status.CORRECT else cfg.reward_incorrect
    assert result.reward == want_reward
    assert result.components.get("accuracy") == want_reward
