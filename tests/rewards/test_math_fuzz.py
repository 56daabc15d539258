"""Structured fuzzing: answers glued from LaTeX fragments never crash the grader."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from rlvr_gym.rewards.math.grader import grade
from rlvr_gym.rewards.types import Status

FRAGMENTS = [
    r"\frac", "{", "}", "^", "_", r"\sqrt", r"\pm", ",", "(", ")", "[", "]", "1", "2", "x",
    "y", "=", "<", r"\le", r"\infty", r"\cup", r"\{", r"\}", "-", "+", r"\cdot",
    r"\text{or}", " or ", "%", r"^\circ", r"\pi", "e", "i", ".", r"\begin{pmatrix}",
    r"\end{pmatrix}", "&", r"\\", r"\left(", r"\right)", "!", "|", r"\log", r"\sin", "A",
    "(B)", r"\neq", r"\mathbb{R}", "0", "_2", r"\dfrac", "$", " and ", ";", ":", "abc",
]  # fmt: skip
GOLDS = [
    "5", "x^2", "(1,2)", "1, 2", r"(-\infty, 3]", r"\frac{1}{2}", "A", r"\text{odd}",
    "y=2x+3", r"\begin{pmatrix}1\\2\end{pmatrix}", r"1\pm\sqrt2", "204_5", r"x \le 3",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12), st.sampled_from(GOLDS))
@example([r"\pm", "=", r"\neq", "i", "2"], "5")  # \pm parsed as a relation's symbol
@example(["i", "1", "<", r"\infty"], r"x \le 3")  # a non-real interval end
@example(["0", ";", "abc", r"\infty", "0", ";", r"\mathbb{R}", "1", "[", r"\left("], "(1,2)")
def test_fragment_soup_is_graded_not_crashed(parts: list[str], gold: str) -> None:
    result = grade(r"\boxed{" + "".join(parts) + "}", gold)
    assert result.status is not Status.INFRA_ERROR, result.detail
    assert result.reward in (0.0, 1.0)
