"""Regression table for the math accuracy reward, as data.

Every :class:`Case` is one full model response graded against one gold answer, with the
status a careful human grader would give. Expectations are written from mathematical
truth and the reward's spec, not from what the grader happens to do today. The id's
prefix (before ``/``) is the category.

Responses imitate real model output: some reasoning, then the answer. The ``real/``
cases are taken unchanged from real Qwen2.5-Math chain-of-thought responses in
``../shared/data/math/qwen25math_cot_labeled.jsonl`` (and ``gsm8k/real-*`` from the
GSM8K test split); see ``REAL_PICKS`` for which ones and the few labels overridden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

C, W, N, H = "correct", "incorrect", "no_answer", "hedged"

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "math"
LABELED = DATA_DIR / "qwen25math_cot_labeled.jsonl"
GSM8K = DATA_DIR / "gsm8k_test.jsonl"


@dataclass(frozen=True)
class Case:
    id: str
    response: str
    gold: str
    expected_status: str
    config_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def category(self) -> str:
        return self.id.split("/", 1)[0]


def _c(case_id: str, response: str, gold: str, status: str, **config: Any) -> Case:
    return Case(case_id, response, gold, status, dict(config))


# --- response builders: reasoning first, then the answer in a common style -------------

_LEAD = "Let's work through this step by step, simplifying as we go and checking each step."


def box(ans: str, lead: str = _LEAD) -> str:
    """Answer in an inline box at the end: ``... is $\\boxed{ans}$.``"""
    return lead + "\n\nTherefore, the final answer is $\\boxed{" + ans + "}$."


def dbox(ans: str, lead: str = _LEAD) -> str:
    """Answer in a display-math box on its own lines (Qwen style)."""
    return lead + "\n\nThus, the answer is:\n\\[\n\\boxed{" + ans + "}\n\\]"


def ibox(ans: str, lead: str = _LEAD) -> str:
    """Answer in ``\\(\\boxed{…}\\)`` inside a sentence."""
    return lead + " Hence the value we are looking for is \\(\\boxed{" + ans + "}\\)."


def think(reasoning: str, after: str) -> str:
    """R1 template: reasoning in a think block, then the answer part."""
    return "<think>\n" + reasoning + "\n</think>\n\n" + after


# ----------------------------------------------------------------------------------------
# extraction
# ----------------------------------------------------------------------------------------

_TRIG = "On the unit circle the angle $\\pi/3$ has coordinates $(1/2, \\sqrt{3}/2)$."
_PERIM = (
    "First we find the perimeter of the rectangle: $2(4+6) = \\boxed{20}$.\n\n"
    "The question asks for the area, though, which is $4 \\cdot 6 = 24$.\n\n"
    "So the area of the rectangle is $\\boxed{24}$."
)
_PHANTOM = (
    "We need to fill in the blank in $3 + \\boxed{\\phantom{2}} = 7$.\n\n"
    "Subtracting 3 from both sides, the missing number is $7 - 3 = 4$.\n\n"
    "The answer is $\\boxed{4}$."
)
_PHANTOM_SAME_PARAGRAPH = (
    "We need $3 + \\boxed{\\phantom{2}} = 7$, and $7 - 3 = 4$, so the blank is $\\boxed{4}$."
)
_APPLES = "She started with 25 apples and gave away 7, so she has 25 - 7 = 18 apples left."
_SUM5 = "Adding the two counts gives $2 + 3 = 5$. So the answer is $\\boxed 5$."
_FBOX = "The number of lattice points is $3 \\cdot 4 = 12$, so the count is \\fbox{12}."
_BEATS = (
    "At first glance the answer is 5, but that double counts the corner.\n\n"
    "Correcting for it, we get $\\boxed{6}$."
)
_MINERVA = (
    "The common difference is 2, so the fourth term is 2 + 3 \\cdot 2 = 8.\n"
    "Final Answer: The final answer is $8$. I hope it is correct."
)

EXTRACTION = [
    _c("extraction/boxed-nested-braces", box(r"\frac{\sqrt{3}}{2}", _TRIG), r"\frac{\sqrt3}{2}", C),
    _c(
        "extraction/boxed-nested-braces-wrong",
        box(r"\frac{\sqrt{2}}{2}", _TRIG),
        r"\frac{\sqrt3}{2}",
        W,
    ),
    _c("extraction/boxed-space-token", _SUM5, "5", C),
    _c("extraction/boxed-space-token-wrong", _SUM5, "6", W),
    _c("extraction/fbox", _FBOX, "12", C),
    _c("extraction/fbox-wrong", _FBOX, "13", W),
    _c("extraction/earlier-paragraph-box-ignored", _PERIM, "24", C),
    _c("extraction/earlier-paragraph-box-is-not-final", _PERIM, "20", W),
    _c("extraction/phantom-box-question", _PHANTOM, "4", C),
    _c("extraction/phantom-box-question-wrong", _PHANTOM, "7", W),
    _c("extraction/phantom-box-same-paragraph", _PHANTOM_SAME_PARAGRAPH, "4", C),
    _c("extraction/display-box", dbox("24"), "24", C),
    _c("extraction/display-box-wrong", dbox("42"), "24", W),
    _c("extraction/inline-paren-box", ibox("28"), "28", C),
    _c(
        "extraction/box-then-unit-text",
        "Each segment is 14 m, so the rope is \\(\\boxed{28}\\) meters long.",
        "28",
        C,
    ),
    _c("extraction/final-answer-phrase", _LEAD + "\n\nThe final answer is 42.", "42", C),
    _c("extraction/final-answer-phrase-wrong", _LEAD + "\n\nThe final answer is 42.", "24", W),
    _c("extraction/the-answer-is-latex", _LEAD + " The answer is $\\frac{3}{4}$.", "0.75", C),
    _c("extraction/answer-colon", _LEAD + "\n\nAnswer: 17", "17", C),
    _c("extraction/answer-colon-wrong", _LEAD + "\n\nAnswer: 17", "71", W),
    _c("extraction/minerva-style", _MINERVA, "8", C),
    _c("extraction/minerva-style-wrong", _MINERVA, "10", W),
    _c(
        "extraction/final-answer-heading",
        _LEAD + "\n\n**Final Answer**\n\\[ \\boxed{36} \\]",
        "36",
        C,
    ),
    _c(
        "extraction/phrase-then-display-math",
        _LEAD + "\n\nPutting it together, the final answer is:\n\n$$42$$",
        "42",
        C,
    ),
    _c("extraction/box-beats-phrase", _BEATS, "6", C),
    _c("extraction/box-beats-phrase-wrong", _BEATS, "5", W),
    _c(
        "extraction/empty-box-then-phrase",
        "Counting the cases gives 3 + 4 = 7. The answer is 7. $\\boxed{}$",
        "7",
        C,
    ),
    _c("extraction/last-number-fallback", _APPLES, "18", C),
    _c(
        "extraction/last-number-fallback-wrong",
        "He had 5 marbles and lost 2, leaving him with 7 marbles.",
        "3",
        W,
    ),
    _c("extraction/last-number-fallback-off", _APPLES, "18", N, last_number_fallback=False),
    _c(
        "extraction/fallback-thousands",
        "Over the summer she earned 8 * 150 = 1,200 dollars in total.",
        "1200",
        C,
    ),
    _c(
        "extraction/phrase-with-fallback-off",
        _LEAD + " The answer is 18.",
        "18",
        C,
        last_number_fallback=False,
    ),
    _c("extraction/box-with-fallback-off", box("18"), "18", C, last_number_fallback=False),
    _c(
        "extraction/box-with-fallback-off-wrong",
        box("19"),
        "18",
        W,
        last_number_fallback=False,
    ),
]

# ----------------------------------------------------------------------------------------
# normalisation
# ----------------------------------------------------------------------------------------

_LEN = "The side length is half of the 10 cm diagonal projection, which gives 5 cm."
_MONEY = "Two t-shirts cost $2 \\times 15.22 = 30.44$ dollars, and $67.94 - 30.44 = 37.50$."

NORMALISATION = [
    _c("normalisation/text-wrapper", box(r"\text{5}", _LEN), "5", C),
    _c("normalisation/text-unit-cm", box(r"5\text{ cm}", _LEN), "5", C),
    _c("normalisation/text-unit-cm-wrong", box(r"5\text{ cm}", _LEN), "6", W),
    _c("normalisation/mathrm-unit", box(r"5\,\mathrm{cm}", _LEN), "5", C),
    _c("normalisation/word-unit-phrase", _LEAD + " The answer is 12 inches.", "12", C),
    _c("normalisation/word-unit-boxed", box("12 inches"), "12", C),
    _c("normalisation/word-unit-boxed-wrong", box("12 inches"), "1", W),
    _c("normalisation/square-units", box(r"36\text{ square units}"), "36", C),
    _c("normalisation/dollars-word", box(r"12\text{ dollars}"), "12", C),
    _c("normalisation/dollar-sign-in-box", box(r"\$37.50", _MONEY), "37.50", C),
    _c("normalisation/dollar-sign-in-box-wrong", box(r"\$37.05", _MONEY), "37.50", W),
    _c("normalisation/dollar-sign-phrase", _MONEY + " The answer is $\\$37.50$.", "37.5", C),
    _c("normalisation/dfrac", box(r"\dfrac{3}{4}"), r"\frac34", C),
    _c("normalisation/dfrac-wrong", box(r"\dfrac{3}{5}"), r"\frac34", W),
    _c("normalisation/tfrac", box(r"\tfrac{1}{2}"), "0.5", C),
    _c("normalisation/left-right", box(r"\left( 1, 2 \right)"), "(1,2)", C),
    _c("normalisation/left-right-wrong", box(r"\left( 2, 1 \right)"), "(1,2)", W),
    _c("normalisation/displaystyle", box(r"\displaystyle\frac{1}{2}"), r"\frac{1}{2}", C),
    _c("normalisation/nested-text", box(r"\text{\textbf{7}}"), "7", C),
    _c("normalisation/math-delims-in-box", box(r"\(12\)"), "12", C),
    _c("normalisation/thousands-comma", box("1,000"), "1000", C),
    _c("normalisation/thousands-comma-wrong", box("1,001"), "1000", W),
    _c("normalisation/thousands-thin-space", box(r"40,\!000"), "40000", C),
    _c("normalisation/thousands-thin-space-wrong", box(r"40,\!000"), "4000", W),
    _c("normalisation/thousands-brace", box(r"10{,}000"), "10000", C),
    _c("normalisation/thousands-in-gold", box("3250"), "3,250", C),
    _c("normalisation/thousands-both-styles", box("1,234,567"), r"1{,}234{,}567", C),
    _c("normalisation/thousands-digits-swapped", box("1,234,567"), "1234576", W),
    _c("normalisation/thousands-spaced", box(r"1\,000\,000"), "1000000", C),
    _c("normalisation/trailing-period-in-box", box("5."), "5", C),
    _c("normalisation/trailing-period-in-box-wrong", box("5."), "6", W),
    _c("normalisation/extra-spaces", box(r" 3 / 4 "), "0.75", C),
    _c("normalisation/trailing-zero", box("0.50"), r"\frac12", C),
]

# ----------------------------------------------------------------------------------------
# numbers: integers, negatives, decimals, exactness
# ----------------------------------------------------------------------------------------

_ARITH = "Multiplying out and collecting like terms gives a single number."

NUMBERS = [
    _c("numbers/integer", box("42", _ARITH), "42", C),
    _c("numbers/integer-wrong", box("24", _ARITH), "42", W),
    _c(
        "numbers/big-integer",
        box("123456789012345678901234567890"),
        "123456789012345678901234567890",
        C,
    ),
    _c(
        "numbers/big-integer-off-by-one",
        box("123456789012345678901234567891"),
        "123456789012345678901234567890",
        W,
    ),
    _c("numbers/negative", box("-7", _ARITH), "-7", C),
    _c("numbers/negative-sign-dropped", box("7", _ARITH), "-7", W),
    _c("numbers/negative-sign-added", box("-7", _ARITH), "7", W),
    _c("numbers/explicit-plus", box("+5", _ARITH), "5", C),
    _c("numbers/decimal", box("3.14"), "3.14", C),
    _c("numbers/decimal-more-digits", box("3.1416"), "3.14", W),
    _c("numbers/near-integer", box("2.0001"), "2", W),
    _c("numbers/integer-as-decimal", box("2.0"), "2", C),
    _c("numbers/decimal-trailing-zero", box("2.50"), "2.5", C),
    _c("numbers/leading-dot", box(".5"), "0.5", C),
    _c("numbers/short-frac-half", box(r"\frac12"), "0.5", C),
    _c("numbers/short-frac-not-half", box(r"\frac13"), "0.5", W),
    _c("numbers/percent-scale-not-equal", box("0.25"), "25", W),
    _c("numbers/percent-scale-not-equal-reverse", box("25"), "0.25", W),
    _c("numbers/negative-decimal-vs-fraction", box("-0.5"), r"-\frac12", C),
    _c("numbers/tiny-power-different", box(r"\frac{1}{2^{98}}"), r"\frac{1}{2^{99}}", W),
    _c("numbers/tiny-power-slash", box("1/2^{99}"), r"\frac{1}{2^{99}}", C),
    _c("numbers/tiny-power-slash-different", box("1/2^{98}"), "1/2^{99}", W),
    _c("numbers/tiny-power-negative-exponent", box("2^{-99}"), r"\frac{1}{2^{99}}", C),
    _c("numbers/scientific", box(r"6.02\times10^{23}"), r"6.02 \times 10^{23}", C),
    _c("numbers/scientific-cdot", box(r"6.02 \cdot 10^{23}"), r"6.02 \times 10^{23}", C),
    _c("numbers/scientific-wrong-exponent", box(r"6.02\times10^{22}"), r"6.02 \times 10^{23}", W),
    _c("numbers/ten-times-off", box("100"), "1000", W),
]

# ----------------------------------------------------------------------------------------
# fractions and mixed numbers
# ----------------------------------------------------------------------------------------

_FRAC = "Of the 8 equal slices, 6 are eaten, so the fraction eaten is 6/8, which reduces."

FRACTIONS = [
    _c("fractions/slash-for-frac", box("3/4", _FRAC), r"\frac{3}{4}", C),
    _c("fractions/frac-for-slash", box(r"\frac{3}{4}", _FRAC), "3/4", C),
    _c("fractions/decimal-for-frac", box("0.75", _FRAC), r"\frac34", C),
    _c("fractions/unreduced", box(r"\frac{6}{8}", _FRAC), r"\frac34", C),
    _c("fractions/reciprocal", box(r"\frac{4}{3}", _FRAC), r"\frac34", W),
    _c("fractions/rounded-decimal", box("0.7", _FRAC), r"\frac34", W),
    _c("fractions/neg-numerator", box(r"\frac{-1}{2}"), r"-\frac12", C),
    _c("fractions/neg-outside", box(r"-\frac{1}{2}"), r"\frac{-1}{2}", C),
    _c("fractions/neg-denominator", box(r"\frac{1}{-2}"), r"-\frac12", C),
    _c("fractions/sign-dropped", box(r"\frac{1}{2}"), r"-\frac12", W),
    _c("fractions/sign-dropped-neg-numerator", box(r"\frac{1}{2}"), r"\frac{-1}{2}", W),
    _c("fractions/third-truncated", box("0.333"), r"\frac13", W),
    _c("fractions/third-long-truncation", box("0.3333333333"), r"\frac13", W),
    _c("fractions/third-unreduced", box(r"\frac{2}{6}"), r"\frac13", C),
    _c("fractions/inverted-integer", box("4"), r"\frac14", W),
    _c("fractions/mixed-for-improper", box(r"1\frac{1}{4}"), r"\frac54", C),
    _c("fractions/improper-for-mixed", box(r"\frac{5}{4}"), r"1\frac{1}{4}", C),
    _c("fractions/decimal-for-mixed", box("1.25"), r"1\frac14", C),
    _c("fractions/mixed-with-space", box(r"1 \frac{1}{4}"), r"1\frac{1}{4}", C),
    _c("fractions/mixed-dropped-whole", box(r"\frac{1}{4}"), r"1\frac{1}{4}", W),
    _c("fractions/mixed-wrong-part", box(r"1\frac{1}{3}"), r"1\frac14", W),
    _c("fractions/mixed-wrong-whole", box(r"2\frac{1}{4}"), r"1\frac14", W),
    _c("fractions/negative-mixed", box(r"-1\frac{1}{2}"), r"-\frac32", C),
    _c("fractions/negative-mixed-wrong", box(r"-1\frac{1}{2}"), r"-\frac12", W),
]

# ----------------------------------------------------------------------------------------
# radicals
# ----------------------------------------------------------------------------------------

_RAD = "By the Pythagorean theorem the hypotenuse is the square root of the sum of squares."

RADICALS = [
    _c("radicals/unsimplified", box(r"\sqrt{12}", _RAD), r"2\sqrt{3}", C),
    _c("radicals/simplified-for-unsimplified", box(r"2\sqrt3", _RAD), r"\sqrt{12}", C),
    _c("radicals/swapped", box(r"3\sqrt{2}", _RAD), r"2\sqrt{3}", W),
    _c("radicals/half-root-three", box(r"\frac{\sqrt{3}}{2}"), r"\frac{\sqrt3}{2}", C),
    _c("radicals/half-times-root", box(r"\frac{1}{2}\sqrt{3}"), r"\frac{\sqrt3}{2}", C),
    _c("radicals/root-over-slash", box(r"\sqrt{3}/2"), r"\frac{\sqrt3}{2}", C),
    _c("radicals/root-two-not-three", box(r"\frac{\sqrt{2}}{2}"), r"\frac{\sqrt3}{2}", W),
    _c("radicals/wrong-denominator", box(r"\frac{\sqrt{3}}{3}"), r"\frac{\sqrt3}{2}", W),
    _c("radicals/rationalised", box(r"\frac{1}{\sqrt{2}}"), r"\frac{\sqrt{2}}{2}", C),
    _c("radicals/approximation", box("1.414"), r"\sqrt{2}", W),
    _c("radicals/fifty", box(r"\sqrt{50}"), r"5\sqrt{2}", C),
    _c("radicals/fifty-two", box(r"\sqrt{52}"), r"5\sqrt{2}", W),
    _c("radicals/cube-root-as-power", box("2^{1/3}"), r"\sqrt[3]{2}", C),
    _c("radicals/cube-root-vs-square-root", box(r"\sqrt{2}"), r"\sqrt[3]{2}", W),
    _c("radicals/expanded-square", box(r"(1+\sqrt{2})^2"), r"3+2\sqrt{2}", C),
    _c("radicals/expanded-square-wrong", box(r"3+\sqrt{2}"), r"3+2\sqrt{2}", W),
    _c("radicals/commuted-sum", box(r"\sqrt{3}+1"), r"1+\sqrt3", C),
]

# ----------------------------------------------------------------------------------------
# pi and e
# ----------------------------------------------------------------------------------------

_CIRC = "The annulus has area $\\pi(7^2 - 6^2) = 13\\pi$ and the inner disk $\\pi \\cdot 6^2$."

PI = [
    _c("pi/spaced", box(r"7 \pi", _CIRC), r"7\pi", C),
    _c("pi/factor-after", box(r"\pi \cdot 7", _CIRC), r"7\pi", C),
    _c("pi/unreduced", box(r"\frac{14\pi}{2}", _CIRC), r"7\pi", C),
    _c("pi/dropped-pi", box("7", _CIRC), r"7\pi", W),
    _c("pi/decimal-approximation", box("21.99", _CIRC), r"7\pi", W),
    _c("pi/doubled", box(r"14\pi", _CIRC), r"7\pi", W),
    _c("pi/half-times-pi", box(r"\frac{1}{2}\pi"), r"\frac{\pi}{2}", C),
    _c("pi/slash", box(r"\pi/2"), r"\frac{\pi}{2}", C),
    _c("pi/third-not-half", box(r"\frac{\pi}{3}"), r"\frac{\pi}{2}", W),
    _c("pi/half-decimal", box("1.5708"), r"\frac{\pi}{2}", W),
    _c("pi/four-thirds", box(r"\frac{4\pi}{3}"), r"\frac{4}{3}\pi", C),
    _c("pi/three-quarters", box(r"\frac{3\pi}{4}"), r"\frac{4}{3}\pi", W),
    _c("pi/with-units", box(r"36\pi\text{ square units}"), r"36\pi", C),
    _c("pi/e-squared-braced", box("e^{2}"), "e^2", C),
    _c("pi/e-squared-vs-two-e", box("2e"), "e^2", W),
    _c("pi/e-inverse", box(r"\frac{1}{e}"), "e^{-1}", C),
    _c("pi/e-decimal", box("2.718"), "e", W),
]

# ----------------------------------------------------------------------------------------
# expressions in variables
# ----------------------------------------------------------------------------------------

_SIMPL = "Combining like terms: $a + a + a + a = 4a$ and $1 - 2 + 3 - 4 = -2$."

EXPRESSIONS = [
    _c("expressions/factored", box("2(2a-1)", _SIMPL), "4a-2", C),
    _c("expressions/reordered", box("-2+4a", _SIMPL), "4a-2", C),
    _c("expressions/sign-error", box("4a+2", _SIMPL), "4a-2", W),
    _c("expressions/other-variable", box("4b-2", _SIMPL), "4a-2", W),
    _c("expressions/wrong-factor", box("2(a-1)", _SIMPL), "4a-2", W),
    _c("expressions/difference-of-squares", box("(x-1)(x+1)"), "x^2-1", C),
    _c("expressions/difference-of-squares-commuted", box("(x+1)(x-1)"), "x^2-1", C),
    _c("expressions/square-not-difference", box("(x-1)^2"), "x^2-1", W),
    _c("expressions/plus-one", box("x^2+1"), "x^2-1", W),
    _c("expressions/expanded-square", box("x^2+2x+1"), "(x+1)^2", C),
    _c("expressions/expanded-square-wrong", box("x^2+x+1"), "(x+1)^2", W),
    _c("expressions/rational-commuted", box(r"\frac{1+x}{x-1}"), r"\frac{x+1}{x-1}", C),
    _c("expressions/rational-inverted", box(r"\frac{x-1}{x+1}"), r"\frac{x+1}{x-1}", W),
    _c("expressions/two-variables", box("(a-b)(a+b)"), "a^2-b^2", C),
    _c("expressions/two-variables-wrong", box("(a-b)^2"), "a^2-b^2", W),
    _c("expressions/exponent-rule", box(r"2\cdot 2^n"), "2^{n+1}", C),
    _c("expressions/exponent-rule-wrong", box("2^n+1"), "2^{n+1}", W),
    _c("expressions/monomial-order", box("3yx^2"), "3x^2y", C),
    _c("expressions/dropped-variable", box("4"), "4t", W),
]

# ----------------------------------------------------------------------------------------
# equations, lines, x = 5 vs 5
# ----------------------------------------------------------------------------------------

_LINE = "The slope is $(7-3)/(2-0) = 2$ and the line passes through $(0, 3)$."

EQUATIONS = [
    _c("equations/line-general-form", box("2x-y+3=0", _LINE), "y=2x+3", C),
    _c("equations/line-rearranged", box("y-2x=3", _LINE), "y=2x+3", C),
    _c("equations/line-commuted", box("y = 3 + 2x", _LINE), "y=2x+3", C),
    _c("equations/line-wrong-intercept", box("y=2x-3", _LINE), "y=2x+3", W),
    _c("equations/line-swapped-coefficients", box("y=3x+2", _LINE), "y=2x+3", W),
    _c("equations/line-fraction-slope", box("x+2y=8"), r"y=-\frac{1}{2}x+4", C),
    _c("equations/line-fraction-slope-wrong", box("x+2y=4"), r"y=-\frac{1}{2}x+4", W),
    _c("equations/scaled-equation", box("2x+4y=6"), "x+2y=3", C),
    _c("equations/circle-commuted", box("y^2+x^2=25"), "x^2+y^2=25", C),
    _c("equations/circle-moved", box("x^2+y^2-25=0"), "x^2+y^2=25", C),
    _c("equations/circle-radius-not-squared", box("x^2+y^2=5"), "x^2+y^2=25", W),
    _c("equations/solved-for-plain-gold", box("x=5"), "5", C),
    _c("equations/plain-for-solved-gold", box("5"), "x=5", C),
    _c("equations/solved-wrong-for-plain-gold", box("x=6"), "5", W),
    _c("equations/plain-wrong-for-solved-gold", box("6"), "x=5", W),
    _c("equations/reversed-solved", box("5 = x"), "5", C),
    _c("equations/solved-sign-error", box("x=-5"), "x=5", W),
    _c("equations/named-constant", box("k = 3"), "k=3", C),
    _c("equations/solved-fraction-vs-decimal", box("x=-0.5"), r"x = -\frac{1}{2}", C),
]

# ----------------------------------------------------------------------------------------
# inequalities and intervals
# ----------------------------------------------------------------------------------------

_INEQ = "Subtracting 2 from both sides and dividing by the positive coefficient keeps the sign."
_UNION_GOLD = r"(-\infty,1)\cup(2,\infty)"

INTERVALS = [
    _c("intervals/le-for-interval", box(r"x \le 3", _INEQ), r"(-\infty, 3]", C),
    _c("intervals/leq-for-interval", box(r"x\leq 3", _INEQ), r"(-\infty, 3]", C),
    _c("intervals/ge-reversed-for-interval", box(r"3 \ge x", _INEQ), r"(-\infty, 3]", C),
    _c("intervals/strict-for-closed", box(r"x < 3", _INEQ), r"(-\infty, 3]", W),
    _c("intervals/open-for-closed", box(r"(-\infty, 3)", _INEQ), r"(-\infty, 3]", W),
    _c("intervals/interval-for-le", box(r"(-\infty, 3]", _INEQ), r"x \le 3", C),
    _c("intervals/open-interval-for-le", box(r"(-\infty,3)", _INEQ), r"x \le 3", W),
    _c("intervals/chain-for-interval", box(r"-1 < x \le 2"), "(-1, 2]", C),
    _c("intervals/chain-wrong-end", box(r"-1 \le x \le 2"), "(-1, 2]", W),
    _c("intervals/left-right-interval", box(r"\left( -1, 2 \right]"), "(-1, 2]", C),
    _c("intervals/interval-for-chain", box("(-1, 2]"), r"-1 < x \le 2", C),
    _c("intervals/closed-for-chain", box("[-1, 2]"), r"-1 < x \le 2", W),
    _c("intervals/union-spaced", box(r"(-\infty, 1) \cup (2, \infty)"), _UNION_GOLD, C),
    _c("intervals/union-reordered", box(r"(2, \infty) \cup (-\infty, 1)"), _UNION_GOLD, C),
    _c("intervals/union-as-inequalities", box(r"x<1 \text{ or } x>2"), _UNION_GOLD, C),
    _c("intervals/union-closed-ends", box(r"(-\infty,1]\cup[2,\infty)"), _UNION_GOLD, W),
    _c("intervals/union-swapped-ends", box(r"(-\infty,2)\cup(1,\infty)"), _UNION_GOLD, W),
    _c("intervals/half-open", box("[2, 5)"), "[2,5)", C),
    _c("intervals/half-open-vs-open", box("(2,5)"), "[2,5)", W),
    _c("intervals/half-open-vs-closed", box("[2,5]"), "[2,5)", W),
    _c("intervals/half-open-as-chain", box(r"2 \le x < 5"), "[2,5)", C),
    _c("intervals/ge-for-ray", box(r"x \ge 4"), r"[4,\infty)", C),
    _c("intervals/gt-for-closed-ray", box(r"x > 4"), r"[4,\infty)", W),
    _c("intervals/positive-reals", box("x > 0"), r"(0,\infty)", C),
    _c("intervals/positive-reals-reversed", box("0 < x"), r"(0,\infty)", C),
    _c("intervals/open-interval-as-chain", box("1 < x < 3"), "(1,3)", C),
    _c("intervals/open-interval-as-chain-wrong", box(r"1 \le x < 3"), "(1,3)", W),
    _c("intervals/all-reals-blackboard", box(r"\mathbb{R}"), r"(-\infty,\infty)", C),
    _c("intervals/punctured-line", box(r"x \neq -2"), r"(-\infty,-2)\cup(-2,\infty)", C),
]

# ----------------------------------------------------------------------------------------
# unordered sets of solutions
# ----------------------------------------------------------------------------------------

_QUAD = "Factoring, $x^2 - 3x + 2 = (x-1)(x-2) = 0$, so each factor can vanish."
_TWO_BOXES = _QUAD + " The solutions are $\\boxed{1}$ and $\\boxed{2}$."
_TWO_BOXES_REV = _QUAD + " The solutions are $\\boxed{2}$ and $\\boxed{1}$."
_TWO_BOXES_WRONG = _QUAD + " The solutions are $\\boxed{1}$ and $\\boxed{3}$."

SETS = [
    _c("sets/pm-inside-set", box(r"\{-2, 1+\sqrt{5}, 1-\sqrt{5}\}"), r"\{1\pm\sqrt{5},-2\}", C),
    _c("sets/pm-set-wrong", box(r"\{2, 1+\sqrt{5}, 1-\sqrt{5}\}"), r"\{1\pm\sqrt{5},-2\}", W),
    _c("sets/membership-interval", box(r"x \in [-2, 7]"), r"[-2,7]", C),
    _c("sets/membership-interval-open", box(r"x \in (-2, 7]"), r"[-2,7]", W),
    _c("sets/reordered", box("2, 1", _QUAD), "1, 2", C),
    _c("sets/braces", box(r"\{1,2\}", _QUAD), "1, 2", C),
    _c("sets/braces-reordered", box(r"\{2, 1\}", _QUAD), "1, 2", C),
    _c("sets/text-or", box(r"x=1 \text{ or } x=2", _QUAD), "1, 2", C),
    _c("sets/comma-equations", box("x = 1, x = 2", _QUAD), "1, 2", C),
    _c("sets/plain-or", box(r"1 \text{ or } 2", _QUAD), "1, 2", C),
    _c("sets/one-wrong", box("1, 3", _QUAD), "1, 2", W),
    _c("sets/missing-one", box("1", _QUAD), "1, 2", W),
    _c("sets/extra-one", box("1, 2, 3", _QUAD), "1, 2", W),
    _c("sets/separate-boxes", _TWO_BOXES, "1, 2", C),
    _c("sets/separate-boxes-reordered", _TWO_BOXES_REV, "1, 2", C),
    _c("sets/separate-boxes-wrong", _TWO_BOXES_WRONG, "1, 2", W),
    _c(
        "sets/separate-boxes-after-think",
        think("The roots of (x-1)(x-2) are 1 and 2.", "$\\boxed{1}$, $\\boxed{2}$"),
        "1, 2",
        C,
    ),
    _c("sets/set-gold-list-pred", box("3, -3"), r"\{-3, 3\}", C),
    _c("sets/set-gold-one-missing", box("-3"), r"\{-3, 3\}", W),
    _c("sets/text-and", box(r"x = 5 \text{ and } x = -2"), "-2, 5", C),
    _c("sets/fraction-and-decimal", box("3, 0.5"), r"\frac12, 3", C),
]

# ----------------------------------------------------------------------------------------
# ordered tuples and points
# ----------------------------------------------------------------------------------------

_POINT = "Solving the system, $x = 1$ and substituting back gives $y = 2$."

TUPLES = [
    _c("tuples/spaced", box("(1, 2)", _POINT), "(1,2)", C),
    _c("tuples/swapped", box("(2,1)", _POINT), "(1,2)", W),
    _c("tuples/left-right", box(r"\left(1,2\right)", _POINT), "(1,2)", C),
    _c("tuples/extra-coordinate", box("(1,2,3)", _POINT), "(1,2)", W),
    _c("tuples/sign-error", box("(1,-2)", _POINT), "(1,2)", W),
    _c("tuples/named-pair", box("(x, y) = (1, 2)", _POINT), "(1,2)", C),
    _c("tuples/coordinates-as-equations", box("x=1, y=2", _POINT), "(1,2)", C),
    _c("tuples/fraction-coordinate", box("(0.5, 3)"), r"(\frac12, 3)", C),
    _c("tuples/fraction-coordinate-swapped", box("(3, 0.5)"), r"(\frac12, 3)", W),
    _c("tuples/triple", box("(1, -2, 3)"), "(1,-2,3)", C),
    _c("tuples/triple-permuted", box("(1, 3, -2)"), "(1,-2,3)", W),
    _c("tuples/negative-coordinate", box("(-1,-4)"), "(-1, 4)", W),
]

# ----------------------------------------------------------------------------------------
# matrices and vectors
# ----------------------------------------------------------------------------------------

_VEC = r"\begin{pmatrix}1\\2\end{pmatrix}"
_MAT = r"\begin{pmatrix}1&2\\3&4\end{pmatrix}"
_MATV = "Multiplying the matrix by the vector row by row gives the components."

MATRICES = [
    _c("matrices/vector-spaced", box(r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", _MATV), _VEC, C),
    _c("matrices/vector-swapped", box(r"\begin{pmatrix}2\\1\end{pmatrix}", _MATV), _VEC, W),
    _c("matrices/vector-as-tuple", box("(1,2)", _MATV), _VEC, C),
    _c("matrices/vector-bmatrix", box(r"\begin{bmatrix}1\\2\end{bmatrix}", _MATV), _VEC, C),
    _c("matrices/vector-too-long", box(r"\begin{pmatrix}1\\2\\3\end{pmatrix}"), _VEC, W),
    _c("matrices/vector-sign", box(r"\begin{pmatrix}1\\-2\end{pmatrix}"), _VEC, W),
    _c("matrices/matrix-bmatrix", box(r"\begin{bmatrix}1&2\\3&4\end{bmatrix}"), _MAT, C),
    _c(
        "matrices/matrix-spaced",
        box(r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}"),
        _MAT,
        C,
    ),
    _c("matrices/matrix-transposed", box(r"\begin{pmatrix}1&3\\2&4\end{pmatrix}"), _MAT, W),
    _c("matrices/matrix-flattened", box(r"\begin{pmatrix}1&2&3&4\end{pmatrix}"), _MAT, W),
    _c(
        "matrices/fraction-entry",
        box(r"\begin{pmatrix}0.5\\-1\end{pmatrix}"),
        r"\begin{pmatrix}\frac12\\-1\end{pmatrix}",
        C,
    ),
    _c(
        "matrices/fraction-entry-sign",
        box(r"\begin{pmatrix}-\frac{1}{2}\\-1\end{pmatrix}"),
        r"\begin{pmatrix}\frac12\\-1\end{pmatrix}",
        W,
    ),
    _c(
        "matrices/radical-entry",
        box(r"\begin{pmatrix}\frac{2}{\sqrt{2}}\\0\end{pmatrix}"),
        r"\begin{pmatrix}\sqrt{2}\\0\end{pmatrix}",
        C,
    ),
]

# ----------------------------------------------------------------------------------------
# plus-minus
# ----------------------------------------------------------------------------------------

_QF = "By the quadratic formula, $x = \\frac{2 \\pm \\sqrt{4 + 4}}{2} = 1 \\pm \\sqrt{2}$."

PM = [
    _c("pm/expanded", box(r"1+\sqrt2, 1-\sqrt2", _QF), r"1\pm\sqrt2", C),
    _c("pm/expanded-reordered", box(r"1-\sqrt{2}, 1+\sqrt{2}", _QF), r"1\pm\sqrt2", C),
    _c("pm/spaced", box(r"1 \pm \sqrt{2}", _QF), r"1\pm\sqrt2", C),
    _c("pm/one-root-only", box(r"1+\sqrt{2}", _QF), r"1\pm\sqrt2", W),
    _c("pm/wrong-radicand", box(r"1\pm\sqrt{3}", _QF), r"1\pm\sqrt2", W),
    _c("pm/pm-for-expanded-gold", box(r"1\pm\sqrt2", _QF), r"1+\sqrt{2}, 1-\sqrt{2}", C),
    _c("pm/plain-pm-gold", box("3, -3"), r"\pm 3", C),
    _c("pm/solved-pm", box(r"x = \pm 3"), r"\pm 3", C),
    _c("pm/pm-gold-one-value", box("3"), r"\pm 3", W),
    _c("pm/pm-for-list-gold", box(r"\pm3"), "-3, 3", C),
    _c(
        "pm/pm-inside-fraction",
        box(r"\frac{-1+\sqrt5}{2}, \frac{-1-\sqrt5}{2}"),
        r"\frac{-1\pm\sqrt{5}}{2}",
        C,
    ),
    _c("pm/pm-inside-fraction-wrong", box(r"\frac{1\pm\sqrt5}{2}"), r"\frac{-1\pm\sqrt{5}}{2}", W),
]

# ----------------------------------------------------------------------------------------
# complex numbers
# ----------------------------------------------------------------------------------------

_CPLX = "Multiplying numerator and denominator by the conjugate and using $i^2 = -1$:"

COMPLEX = [
    _c("complex/commuted", box("4i+3", _CPLX), "3+4i", C),
    _c("complex/spaced", box("3 + 4 i", _CPLX), "3+4i", C),
    _c("complex/conjugate", box("3-4i", _CPLX), "3+4i", W),
    _c("complex/swapped-parts", box("4+3i", _CPLX), "3+4i", W),
    _c(
        "complex/root-of-unity",
        box(r"\frac{1+i\sqrt3}{2}"),
        r"\frac{1}{2}+\frac{\sqrt3}{2}i",
        C,
    ),
    _c(
        "complex/root-of-unity-conjugate",
        box(r"\frac{1-i\sqrt{3}}{2}"),
        r"\frac{1}{2}+\frac{\sqrt3}{2}i",
        W,
    ),
    _c("complex/square", box("(1+i)^2"), "2i", C),
    _c("complex/dropped-i", box("2"), "2i", W),
    _c("complex/reciprocal-of-i", box(r"\frac{1}{i}"), "-i", C),
]

# ----------------------------------------------------------------------------------------
# percentages
# ----------------------------------------------------------------------------------------

_PCT = "Q's region is one quarter of the square, and $\\frac{1}{4} \\times 100 = 25$."

PERCENT = [
    _c("percent/gold-percent-pred-plain", box("25", _PCT), r"25\%", C),
    _c("percent/gold-plain-pred-percent", box(r"25\%", _PCT), "25", C),
    _c("percent/word-percent", box("25 percent", _PCT), r"25\%", C),
    _c("percent/fraction-of-one", box("0.25", _PCT), r"25\%", C),
    _c("percent/wrong-percent", box(r"30\%", _PCT), r"25\%", W),
    _c("percent/plain-gold-fraction-of-one", box("0.25", _PCT), "25", W),
    _c("percent/plain-gold-tiny-percent", box(r"0.25\%", _PCT), "25", W),
    _c("percent/decimal-percent", box(r"12.5\%"), "12.5", C),
    _c("percent/fifth", box(r"\frac{1}{5}"), r"20\%", C),
    _c("percent/tenfold-off", box(r"5\%"), r"50\%", W),
]

# ----------------------------------------------------------------------------------------
# degrees
# ----------------------------------------------------------------------------------------

_ANG = "The angles of the triangle sum to $180^\\circ$, so the missing angle is $180 - 150$."

DEGREES = [
    _c("degrees/gold-degrees-pred-plain", box("30", _ANG), r"30^\circ", C),
    _c("degrees/gold-plain-pred-degrees", box(r"30^\circ", _ANG), "30", C),
    _c("degrees/braced-circ", box(r"30^{\circ}", _ANG), "30", C),
    _c("degrees/unicode-degree", box("30°", _ANG), r"30^\circ", C),
    _c("degrees/word-degrees", box(r"30 \text{ degrees}", _ANG), r"30^\circ", C),
    _c("degrees/wrong-angle", box(r"60^\circ", _ANG), r"30^\circ", W),
    _c("degrees/wrong-angle-plain-gold", box(r"45^\circ", _ANG), "30", W),
    _c("degrees/supplement", box(r"140^\circ"), "140", C),
    _c("degrees/complement-not-supplement", box(r"40^\circ"), "140", W),
]

# ----------------------------------------------------------------------------------------
# base subscripts
# ----------------------------------------------------------------------------------------

_BASE = "Repeatedly dividing by the base and reading the remainders from bottom to top:"

BASES = [
    _c("bases/other-base", box("204_6", _BASE), "204_5", W),
    _c("bases/braced-subscript", box("204_{5}", _BASE), "204_5", C),
    _c("bases/extra-digit", box("2040_5", _BASE), "204_5", W),
    _c("bases/binary-braced", box("10001_{2}", _BASE), "10001_2", C),
    _c("bases/binary-digits-only", box("10001", _BASE), "10001_2", C),
    _c("bases/binary-wrong-digit", box("10011_2", _BASE), "10001_2", W),
    _c("bases/hex-lowercase", box("2a_{16}", _BASE), "2A_{16}", C),
    _c("bases/hex-wrong-digit", box("2B_{16}", _BASE), "2A_{16}", W),
    _c("bases/leading-zero", box("0123_4", _BASE), "123_4", C),
]

# ----------------------------------------------------------------------------------------
# multiple-choice letters
# ----------------------------------------------------------------------------------------

_MC = "Only option (B) is consistent with the constant volume during the overflow time."

CHOICES = [
    _c("choices/parenthesised", box("(B)", _MC), "B", C),
    _c("choices/bare", box("B", _MC), "(B)", C),
    _c("choices/text-parenthesised", box(r"\text{(B)}", _MC), "B", C),
    _c("choices/textbf", box(r"\textbf{(B)}", _MC), "B", C),
    _c("choices/mathrm", box(r"\mathrm{(B)}", _MC), "B", C),
    _c("choices/letter-with-value", box(r"\text{(B) } 12", _MC), "B", C),
    _c("choices/wrong-letter", box("C", _MC), "B", W),
    _c("choices/wrong-letter-parenthesised", box("(C)", _MC), "(B)", W),
    _c("choices/wrong-letter-text", box(r"\text{(C)}", _MC), "B", W),
    _c("choices/gold-parenthesised", box("D"), "(D)", C),
    _c("choices/gold-parenthesised-wrong", box("(E)"), "(D)", W),
    _c("choices/gold-text", box("C"), r"\text{(C)}", C),
    _c("choices/gold-text-wrong", box("B"), r"\text{(C)}", W),
]

# ----------------------------------------------------------------------------------------
# text answers
# ----------------------------------------------------------------------------------------

_WHO = "Evelyn covers the most distance per unit time, so she has the greatest speed."

TEXT = [
    _c("text/plain-for-text", box("Evelyn", _WHO), r"\text{Evelyn}", C),
    _c("text/textbf", box(r"\textbf{Evelyn}", _WHO), r"\text{Evelyn}", C),
    _c("text/other-name", box(r"\text{Emily}", _WHO), r"\text{Evelyn}", W),
    _c("text/odd-even", box("even"), "odd", W),
    _c("text/odd-text", box(r"\text{odd}"), "odd", C),
    _c("text/odd-capitalised", box(r"\text{Odd}"), "odd", C),
    _c("text/even-neither", box(r"\text{neither}"), r"\text{even}", W),
    _c("text/weekday", box("Monday"), r"\text{Monday}", C),
    _c("text/weekday-wrong", box(r"\text{Tuesday}"), r"\text{Monday}", W),
    _c("text/yes", box("Yes"), r"\text{yes}", C),
    _c("text/yes-no", box("no"), r"\text{yes}", W),
    _c("text/time", box(r"4:30 \text{ p.m.}"), r"\text{4:30 p.m.}", C),
    _c("text/time-wrong", box(r"5:30 \text{ p.m.}"), r"\text{4:30 p.m.}", W),
]

# ----------------------------------------------------------------------------------------
# hedging: several different final answers for a single gold
# ----------------------------------------------------------------------------------------

_HEDGE_THINK = think(
    "Case analysis gives either 3 or 5 depending on the parity; I can't decide.",
    "The answer is $\\boxed{3}$.\n\nAlternatively, the answer is $\\boxed{5}$.",
)
_SAME_TWICE = (
    "The probability is $\\frac{3}{6}$, which simplifies to $\\boxed{\\frac{1}{2}}$, "
    "i.e. $\\boxed{0.5}$."
)

HEDGING = [
    _c("hedging/two-boxes-after-think-first", _HEDGE_THINK, "3", H),
    _c("hedging/two-boxes-after-think-second", _HEDGE_THINK, "5", H),
    _c("hedging/two-boxes-after-think-neither", _HEDGE_THINK, "4", H),
    _c("hedging/or-in-box", box(r"7 \text{ or } 8"), "7", H),
    _c("hedging/or-in-box-second", box(r"7 \text{ or } 8"), "8", H),
    _c("hedging/or-in-phrase", _LEAD + " The answer is 7 or 8.", "7", H),
    _c("hedging/comma-list-single-gold", box("3, 5"), "3", H),
    _c("hedging/all-options", box("A, B, C, D", _MC), "B", H),
    _c(
        "hedging/all-options-boxed",
        "Each option seems plausible, so the answer is $\\boxed{A}$, $\\boxed{B}$, "
        "$\\boxed{C}$, or $\\boxed{D}$.",
        "C",
        H,
    ),
    _c(
        "hedging/two-boxes-same-paragraph",
        "It depends on the case: the answer is either $\\boxed{3}$ or $\\boxed{5}$.",
        "5",
        H,
    ),
    _c("hedging/pm-for-single-gold", box(r"\pm 3"), "3", H),
    _c("hedging/two-solutions-single-gold", box(r"x = 2 \text{ or } x = -2"), "2", H),
    _c("hedging/two-letters", _MC + " The answer is (A) or (B).", "A", H),
    _c("hedging/same-value-twice-is-not-a-hedge", _SAME_TWICE, "0.5", C),
    _c(
        "hedging/same-box-twice-after-think",
        think("12 apples.", "So the answer is $\\boxed{12}$.\n\nDouble-check: $\\boxed{12}$."),
        "12",
        C,
    ),
    _c(
        "hedging/two-different-boxes-after-think",
        think("Either 12 or 13.", "$\\boxed{12}$ or $\\boxed{13}$"),
        "12",
        H,
    ),
    _c(
        "hedging/correction-in-answer-region",
        think(
            "Compute carefully.", "So we get $\\boxed{3}$.\n\nWait, actually it is $\\boxed{5}$."
        ),
        "5",
        H,
    ),
]

# ----------------------------------------------------------------------------------------
# unevaluated computations for a plain-number gold
# ----------------------------------------------------------------------------------------

_UNEV = "The total is the product of the two counts."
_ALLOW = {"allow_unevaluated": True}

UNEVALUATED = [
    _c("unevaluated/product-cdot", box(r"123\cdot456", _UNEV), "56088", W),
    _c("unevaluated/product-cdot-allowed", box(r"123\cdot456", _UNEV), "56088", C, **_ALLOW),
    _c("unevaluated/product-times", box(r"123 \times 456", _UNEV), "56088", W),
    _c("unevaluated/product-wrong-allowed", box(r"123\cdot 457", _UNEV), "56088", W, **_ALLOW),
    _c("unevaluated/evaluated-allowed", box("56088", _UNEV), "56088", C, **_ALLOW),
    _c("unevaluated/sum", box("1+1"), "2", W),
    _c("unevaluated/sum-allowed", box("1+1"), "2", C, **_ALLOW),
    _c("unevaluated/power", box("2^{10}"), "1024", W),
    _c("unevaluated/power-allowed", box("2^{10}"), "1024", C, **_ALLOW),
    _c("unevaluated/power-wrong-allowed", box("2^{10}"), "1000", W, **_ALLOW),
    _c("unevaluated/power-of-three", box("3^{5}"), "243", W),
    _c("unevaluated/power-of-three-allowed", box("3^{5}"), "243", C, **_ALLOW),
    # 10^6 is scientific notation with mantissa 1 (like 6.02\times10^{23}): a written
    # number, not a computation left to the verifier.
    _c("unevaluated/power-of-ten-is-scientific-notation", box("10^{6}"), "1000000", C),
    _c("unevaluated/power-of-ten-wrong-exponent", box("10^{5}"), "1000000", W),
    _c("unevaluated/binomial", box(r"\binom{5}{2}"), "10", W),
    _c("unevaluated/binomial-allowed", box(r"\binom{5}{2}"), "10", C, **_ALLOW),
    _c("unevaluated/factorial", box("5!"), "120", W),
    _c("unevaluated/factorial-allowed", box("5!"), "120", C, **_ALLOW),
    _c("unevaluated/square-root", box(r"\sqrt{16}"), "4", W),
    _c("unevaluated/square-root-allowed", box(r"\sqrt{16}"), "4", C, **_ALLOW),
    _c("unevaluated/expression-gold-number-pred", box("1024"), "2^{10}", C),
    _c("unevaluated/unreduced-fraction-is-a-number", box(r"\frac{10}{4}"), r"\frac52", C),
]

# ----------------------------------------------------------------------------------------
# think / answer tags
# ----------------------------------------------------------------------------------------

_T_REASON = "Let me try 5 first... 5 + 2 = 7, not 9. Try 7: 7 + 2 = 9. Yes, 7 works."
_T_BOXED_INSIDE = "Maybe \\boxed{5}? Check: 5 + 2 = 7, not 9. So it must be 7."

THINK = [
    _c("think/answer-after-think", think(_T_REASON, "The answer is $\\boxed{7}$."), "7", C),
    _c("think/answer-after-think-wrong", think(_T_REASON, "The answer is $\\boxed{7}$."), "5", W),
    _c("think/box-inside-think-ignored", think(_T_BOXED_INSIDE, "$\\boxed{7}$"), "7", C),
    _c("think/box-inside-think-not-answer", think(_T_BOXED_INSIDE, "$\\boxed{7}$"), "5", W),
    _c(
        "think/unclosed-think-with-box",
        "<think>\nWe compute 3 + 4 = 7, so the answer is \\boxed{7}",
        "7",
        N,
    ),
    _c("think/unclosed-think-plain", "<think>\nHmm, 3 + 4 is 7. Let me double check", "7", N),
    _c("think/require-close-missing", box("7"), "7", N, require_think_close=True),
    _c(
        "think/require-close-present",
        think(_T_REASON, "$\\boxed{7}$"),
        "7",
        C,
        require_think_close=True,
    ),
    _c(
        "think/last-close-wins",
        "<think>first try</think>\n$\\boxed{3}$\n<think>no, recheck: 7</think>\n\n$\\boxed{7}$",
        "7",
        C,
    ),
    _c(
        "think/last-close-wins-earlier-answer",
        "<think>first try</think>\n$\\boxed{3}$\n<think>no, recheck: 7</think>\n\n$\\boxed{7}$",
        "3",
        W,
    ),
    _c("think/nothing-after-close", "<think>\nSo the answer is \\boxed{7}.\n</think>", "7", N),
    _c("think/number-only-inside-think", think("The total is 40.", "I could not finish."), "40", N),
    _c("think/fallback-after-think", think(_T_REASON, "So she has 15 apples."), "15", C),
    _c(
        "think/fallback-after-think-off",
        think(_T_REASON, "So she has 15 apples."),
        "15",
        N,
        last_number_fallback=False,
    ),
    _c("think/answer-tag", think(_T_REASON, "<answer>7</answer>"), "7", C),
    _c("think/answer-tag-wrong", think(_T_REASON, "<answer>7</answer>"), "8", W),
    _c("think/answer-tag-fraction", think(_T_REASON, "<answer>\\frac{1}{2}</answer>"), "0.5", C),
    _c(
        "think/answer-tag-with-phrase",
        think(_T_REASON, "<answer>The answer is 12</answer>"),
        "12",
        C,
    ),
    _c("think/answer-tag-with-box", think(_T_REASON, "<answer>$\\boxed{9}$</answer>"), "9", C),
    _c("think/answer-tag-equation", think(_T_REASON, "<answer>x = 5</answer>"), "5", C),
    _c("think/answer-tag-empty", think(_T_REASON, "<answer></answer>"), "9", N),
    _c(
        "think/answer-tag-without-think",
        "We need 6 * 7 = 42 in total.\n<answer>42</answer>",
        "42",
        C,
    ),
    _c(
        "think/answer-tag-beats-earlier-number",
        "There are 6 rows of 7, so 42 chairs; 2 are broken.\n<answer>40</answer>",
        "42",
        W,
    ),
]

# ----------------------------------------------------------------------------------------
# GSM8K "#### N"
# ----------------------------------------------------------------------------------------

_EGGS = (
    "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n"
    "She makes 9 * 2 = $<<9*2=18>>18 every day at the farmer's market.\n#### 18"
)

GSM8K_HAND = [
    _c("gsm8k/eggs", _EGGS, "18", C),
    _c("gsm8k/eggs-wrong", _EGGS, "20", W),
    _c("gsm8k/thousands", "He earns 40 * 30 = <<40*30=1200>>1,200 dollars.\n#### 1,200", "1200", C),
    _c("gsm8k/dollar", "The total cost is 6 * 3 = $18.\n#### $18", "18", C),
    _c("gsm8k/trailing-zeros", "Each pays 36 / 2 = 18.00 dollars.\n#### 18.00", "18", C),
    _c("gsm8k/negative", "The temperature drops to 4 - 9 = -5 degrees.\n#### -5", "-5", C),
    _c("gsm8k/negative-wrong", "The temperature drops to 4 - 9 = -5 degrees.\n#### -5", "5", W),
    _c("gsm8k/gold-with-commas", "The profit is 70000 dollars.\n#### 70000", "70,000", C),
    _c(
        "gsm8k/last-marker-wins",
        "First guess:\n#### 12\nThat ignores the refund; correcting:\n#### 10",
        "10",
        C,
    ),
]

# ----------------------------------------------------------------------------------------
# no answer
# ----------------------------------------------------------------------------------------

NO_ANSWER = [
    _c("no_answer/empty", "", "5", N),
    _c("no_answer/whitespace", "   \n\t  \n", "5", N),
    _c("no_answer/gave-up", "I am not sure how to solve this problem.", "5", N),
    _c("no_answer/words-only", "We have three apples and four oranges in the basket.", "4", N),
    _c(
        "no_answer/numbers-but-fallback-off",
        "We have 3 apples and 4 oranges in the basket.",
        "4",
        N,
        last_number_fallback=False,
    ),
    _c("no_answer/empty-box", "Let me write the answer: $\\boxed{}$", "5", N),
    _c(
        "no_answer/phantom-box-only",
        "We need to fill in $3 + \\boxed{\\phantom{2}} = 7$. Let's think about it.",
        "4",
        N,
        last_number_fallback=False,
    ),
    _c(
        "no_answer/space-box",
        "The answer goes here: $\\boxed{\\quad}$",
        "4",
        N,
        last_number_fallback=False,
    ),
    _c("no_answer/dangling-phrase", "After a long analysis, I think the answer is", "4", N),
]

# ----------------------------------------------------------------------------------------
# robustness: pathological inputs still get a definite status
# ----------------------------------------------------------------------------------------

ROBUSTNESS = [
    _c("robustness/long-no-answer", "a" * 200_000, "1", N),
    _c("robustness/pm-before-bare-frac", box(r"\pm\frac"), "5", H),
    _c("robustness/bare-pm", box(r"\pm"), "5", W),
    _c("robustness/tower-of-powers", box("9^{9^{9^{9}}}"), "1", W),
    _c("robustness/tower-of-powers-allowed", box("9^{9^{9^{9}}}"), "1", W, **_ALLOW),
    _c("robustness/huge-factorial-allowed", box("1000000!"), "1", W, **_ALLOW),
    _c("robustness/division-by-zero", box(r"\frac{1}{0}"), "1", W),
    _c("robustness/division-by-zero-allowed", box(r"\frac{1}{0}"), "1", W, **_ALLOW),
    _c("robustness/huge-identical", box("10^{10^{10}}"), "10^{10^{10}}", C),
    _c("robustness/huge-different", box("10^{10^{10}}+1"), "10^{10^{10}}", W),
    _c("robustness/deep-parentheses", box("(" * 3000 + "1" + ")" * 3000), "2", W),
    _c(
        "robustness/deep-sqrt-allowed",
        box("\\sqrt{" * 500 + "2" + "}" * 500),
        "2",
        W,
        **_ALLOW,
    ),
    _c("robustness/many-equal-boxes", "\\boxed{1} " * 5000, "1", C),
]

# ----------------------------------------------------------------------------------------
# real model responses (Qwen2.5-Math CoT on MATH, with Qwen's grader labels)
# ----------------------------------------------------------------------------------------

# (problem index, response index): every pick was read end to end; expected status is
# the label (True -> correct, False -> incorrect) unless overridden in REAL_OVERRIDES.
REAL_PICKS: tuple[tuple[int, int], ...] = (
    # labelled correct
    (6, 1), (6, 4), (9, 0), (17, 0), (17, 4), (22, 0), (24, 0), (28, 2), (32, 0),
    (33, 0), (37, 1), (43, 5), (49, 0), (53, 0), (54, 4), (57, 0), (58, 0), (59, 0),
    (65, 0), (70, 1), (75, 5), (76, 0), (77, 5), (81, 0), (87, 0), (92, 1), (93, 0),
    (98, 0),
    # labelled incorrect
    (6, 0), (6, 3), (6, 6), (17, 2), (17, 6), (28, 0), (28, 3), (37, 0), (37, 4),
    (54, 0), (54, 3), (54, 5), (54, 7), (58, 1), (58, 3), (70, 0), (81, 3), (84, 1),
    (85, 3), (92, 0), (92, 2), (98, 1), (98, 5), (72, 0), (72, 3), (72, 5),
    # overridden below
    (72, 6), (72, 7), (3, 0),
)  # fmt: skip

# Labels checked and found wrong (or not the whole story):
# * p72 r7: gold ``10{,}000``; the response computes 70,000 / 7 and boxes ``10000``. The
#   label is False only because Qwen's grader did not read ``{,}`` as a thousands
#   separator; the answer is right.
# * p72 r6: boxes ``9999.857142857143`` "or" ``9999 \frac{6}{7}`` — two different values
#   (the decimal is a truncation), both wrong: a hedge, reward 0 as the label says.
# * p3 r0: the data set's ``gt`` is truncated to ``4:30p..``; its ``answer`` field is
#   ``\text{4:30 p.m.}``, and the response boxes ``4:30 \text{ p.m.}`` — correct against
#   the real answer. This case uses the ``answer`` field as gold.
REAL_OVERRIDES: dict[tuple[int, int], tuple[str | None, str]] = {
    (72, 7): (None, C),
    (72, 6): (None, H),
    (3, 0): (r"\text{4:30 p.m.}", C),
}

# GSM8K test rationales graded against their own final number (and one against another
# problem's number): real "#### N" text with <<calc>> annotations and thousands commas.
GSM8K_REAL_PICKS: tuple[int, ...] = (0, 1, 2, 3, 4, 5)


def _load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _real_cases() -> list[Case]:
    if not LABELED.exists():
        return []
    rows = _load_jsonl(LABELED)
    out = []
    for p, r in REAL_PICKS:
        row = rows[p]
        gold, status = row["gt"], (C if row["score"][r] else W)
        if (p, r) in REAL_OVERRIDES:
            gold_override, status = REAL_OVERRIDES[(p, r)]
            gold = gold_override or gold
        out.append(Case(f"real/p{p}-r{r}", row["code"][r], gold, status))
    return out


def _gsm8k_real_cases() -> list[Case]:
    if not GSM8K.exists():
        return []
    rows = _load_jsonl(GSM8K)
    out = []
    for k in GSM8K_REAL_PICKS:
        answer = rows[k]["answer"]
        gold = answer.rsplit("####", 1)[1].strip()
        out.append(Case(f"gsm8k/real-{k}", answer, gold, C))
    other = rows[1]["answer"].rsplit("####", 1)[1].strip()
    out.append(Case("gsm8k/real-0-against-other-gold", rows[0]["answer"], other, W))
    return out


REAL = _real_cases()
GSM8K_CASES = GSM8K_HAND + _gsm8k_real_cases()

CASES: list[Case] = [
    *EXTRACTION,
    *NORMALISATION,
    *NUMBERS,
    *FRACTIONS,
    *RADICALS,
    *PI,
    *EXPRESSIONS,
    *EQUATIONS,
    *INTERVALS,
    *SETS,
    *TUPLES,
    *MATRICES,
    *PM,
    *COMPLEX,
    *PERCENT,
    *DEGREES,
    *BASES,
    *CHOICES,
    *TEXT,
    *HEDGING,
    *UNEVALUATED,
    *THINK,
    *GSM8K_CASES,
    *NO_ANSWER,
    *ROBUSTNESS,
    *REAL,
]
