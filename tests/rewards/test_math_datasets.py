"""The grader on every MATH-500 answer: self-agreement, formatting variants, no false positives."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlvr_gym.rewards.math.grader import grade
from rlvr_gym.rewards.types import Status

MATH500 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "math" / "math500.jsonl"
ROWS = [json.loads(line) for line in MATH500.read_text().splitlines()]
ANSWERS = [r["answer"] for r in ROWS]


def test_every_reference_solution_earns_its_own_answer() -> None:
    wrong = [
        (r["unique_id"], r["answer"], res.detail)
        for r in ROWS
        if (res := grade(r["solution"], r["answer"])).status is not Status.CORRECT
    ]
    assert len(ROWS) == 500
    assert wrong == []


def _variants(answer: str) -> Iterator[tuple[str, str]]:
    yield "dollars", f"${answer}$"
    yield "period", f"{answer}."
    yield "dfrac", answer.replace("\\frac", "\\dfrac")
    yield "left-right", answer.replace("(", "\\left(").replace(")", "\\right)")
    yield "displaystyle", "\\displaystyle " + answer
    yield "sqrt-unbraced", re.sub(r"\\sqrt\{(\d)\}", r"\\sqrt\1", answer)
    yield "frac-unbraced", re.sub(r"\\frac\{(\d)\}\{(\d)\}", r"\\frac\1\2", answer)


@pytest.mark.parametrize("kind", [k for k, _ in _variants("x")])
def test_formatting_variants_of_every_answer_stay_correct(kind: str) -> None:
    failures = []
    for answer in ANSWERS:
        variant = dict(_variants(answer))[kind]
        if variant == answer:
            continue
        res = grade(f"So the final answer is $\\boxed{{{variant}}}$", answer)
        if res.status is not Status.CORRECT:
            failures.append((answer, variant, res.status.value, res.detail))
    assert failures == []


# Distinct strings that denote the same answer (each checked by hand).
EQUIVALENT = {frozenset({"x=5", "5"})}


def test_distinct_answers_are_not_judged_equal() -> None:
    rng = random.Random(2024)
    false_positives = []
    for _ in range(4000):
        gold, other = rng.sample(ANSWERS, 2)
        if gold.strip() == other.strip() or frozenset({gold, other}) in EQUIVALENT:
            continue
        res = grade(f"\\boxed{{{other}}}", gold)
        if res.status is Status.CORRECT:
            false_positives.append((gold, other, res.detail))
    assert false_positives == []
