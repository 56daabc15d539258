"""ProceduralMathSource: answers re-derived independently from the problem text.

The checks read the problem the policy sees (the LaTeX between ``$...$``), translate it
to sympy with a few textual rules, and solve it with sympy; they do not reuse the
generator's arithmetic. The generator's own ``spec`` is cross-checked the same way.
"""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication_application,
    parse_expr,
    standard_transformations,
)

from rlvr_gym.envs.generators import KINDS, ProceduralMathSource, latex_rational
from rlvr_gym.envs.tasks import MathTask, TaskIndexError
from rlvr_gym.errors import ConfigError, DataError

X, Y = sympy.symbols("x y")
TRANSFORMS = (*standard_transformations, implicit_multiplication_application, convert_xor)
FRAC = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")
SEEDS = st.integers(min_value=0, max_value=2**32)
INDICES = st.integers(min_value=0, max_value=10_000 - 1)
LEVELS = st.sampled_from([1, 2, 3])
MANY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tex_to_sympy(tex: str) -> sympy.Expr:
    """Translate the LaTeX subset problems use into a sympy expression."""
    text = tex.replace("\\left(", "(").replace("\\right)", ")")
    text = text.replace("\\times", "*").replace("\\div", "/").replace("\\cdot", "*")
    while "\\frac" in text:
        text = FRAC.sub(r"((\1)/(\2))", text)
    text = text.replace("{", "(").replace("}", ")")
    assert "\\" not in text, text
    return parse_expr(text, local_dict={"x": X, "y": Y}, transformations=TRANSFORMS)


def tex_equation(tex: str) -> sympy.Eq:
    lhs, rhs = tex.split("=")
    return sympy.Eq(tex_to_sympy(lhs), tex_to_sympy(rhs))


def math_spans(prompt: str) -> list[str]:
    return re.findall(r"\$([^$]+)\$", prompt)


def numbers(prompt: str) -> list[int]:
    return [int(n) for n in re.findall(r"\$(-?\d+)(?:\\%)?\$", prompt)]


def gold_value(answer: str) -> sympy.Rational:
    match = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", answer)
    if match:
        sign, p, q = match.groups()
        assert sympy.gcd(int(p), int(q)) == 1 and int(q) > 1, f"not reduced: {answer}"
        return sympy.Rational(int(p), int(q)) * (-1 if sign else 1)
    assert re.fullmatch(r"-?\d+(\.\d+)?", answer), answer
    return sympy.Rational(answer)


def task(kind: str, seed: int, index: int, level: int) -> MathTask:
    return ProceduralMathSource(seed=seed, kinds=[kind], difficulty=level)[index]


def power_mod(base: int, exponent: int, modulus: int) -> int:
    result, base = 1, base % modulus
    while exponent:
        if exponent & 1:
            result = result * base % modulus
        base, exponent = base * base % modulus, exponent >> 1
    return result


# -------------------------------------------------------- independent checks


@MANY
@given(SEEDS, INDICES, LEVELS)
def test_arithmetic(seed: int, index: int, level: int) -> None:
    t = task("arithmetic", seed, index, level)
    (expression,) = math_spans(t.prompt)
    value = tex_to_sympy(expression)
    assert value.is_Integer
    assert value == gold_value(t.answer)
    assert sympy.sympify(t.metadata["spec"]["expression"]) == value


@MANY
@given(SEEDS, INDICES, LEVELS)
def test_fractions(seed: int, index: int, level: int) -> None:
    t = task("fractions", seed, index, level)
    (expression,) = math_spans(t.prompt)
    assert tex_to_sympy(expression) == gold_value(t.answer)
    assert "lowest terms" in t.prompt


@MANY
@given(SEEDS, INDICES, LEVELS)
def test_linear(seed: int, index: int, level: int) -> None:
    t = task("linear", seed, index, level)
    equation = tex_equation(math_spans(t.prompt)[-1])
    assert sympy.solve(equation, X) == [gold_value(t.answer)]
    lhs, rhs = t.metadata["spec"]["equation"].split("=")
    assert sympy.solve(sympy.Eq(sympy.sympify(lhs), sympy.sympify(rhs)), X) == [
        gold_value(t.answer)
    ]


@MANY
@given(SEEDS, INDICES, LEVELS)
def test_quadratic(seed: int, index: int, level: int) -> None:
    t = task("quadratic", seed, index, level)
    (equation,) = math_spans(t.prompt)
    roots = sorted(sympy.solve(tex_equation(equation), X))
    assert all(root.is_Integer for root in roots)
    assert t.answer == ", ".join(str(root) for root in roots)


@MANY
@given(SEEDS, INDICES, LEVELS)
def test_system(seed: int, index: int, level: int) -> None:
    t = task("system", seed, index, level)
    first, second = math_spans(t.prompt)[:2]
    solution = sympy.solve([tex_equation(first), tex_equation(second)], [X, Y], dict=True)
    assert len(solution) == 1
    match = re.fullmatch(r"\((.+), (.+)\)", t.answer)
    assert match, t.answer
    assert (solution[0][X], solution[0][Y]) == tuple(gold_value(g) for g in match.groups())


@MANY
@given(SEEDS, INDICES, LEVELS)
def test_percent(seed: int, index: int, level: int) -> None:
    t = task("percent", seed, index, level)
    gold = gold_value(t.answer)
    values = [sympy.Rational(n) for n in re.findall(r"\$(-?\d+(?:\.\d+)?)(?:\\%)?\$", t.prompt)]
    if t.prompt.startswith("What is"):
        percent, base = values
        assert gold == percent * base / 100
    elif t.prompt.startswith("What percent"):
        whole, part = values
        assert gold == part / whole * 100
    elif "discount" in t.prompt:
        percent, paid = values
        assert gold == paid / (1 - percent / 100)
    else:
        start, up, down = values
        assert gold == start * (1 + up / 100) * (1 - down / 100)
        assert (gold * 100).is_Integer  # whole cents


@MANY
@given(SEEDS, INDICES, LEVELS)
def test_gcd_lcm(seed: int, index: int, level: int) -> None:
    t = task("gcd_lcm", seed, index, level)
    values = numbers(t.prompt)
    assert len(values) == (3 if level == 3 else 2)
    if "greatest common divisor" in t.prompt:
        expected = sympy.gcd(values)
    else:
        assert "least common multiple" in t.prompt
        expected = sympy.lcm(values)
    assert gold_value(t.answer) == expected


@MANY
@given(SEEDS, INDICES, LEVELS)
def test_modular(seed: int, index: int, level: int) -> None:
    t = task("modular", seed, index, level)
    base, exponent = map(int, re.search(r"\$(\d+)\^\{(\d+)\}\$", t.prompt).groups())  # type: ignore[union-attr]
    divided = re.search(r"divided by \$(\d+)\$", t.prompt)
    if divided is None:
        expected = sympy.Integer(base) ** exponent
    else:
        expected = power_mod(base, exponent, int(divided.group(1)))
    assert gold_value(t.answer) == expected


# ------------------------------------------------------- source behaviour


@settings(max_examples=50, deadline=None)
@given(SEEDS, INDICES)
def test_task_is_a_pure_function_of_seed_and_index(seed: int, index: int) -> None:
    first = ProceduralMathSource(seed=seed)[index]
    assert ProceduralMathSource(seed=seed)[index] == first
    assert ProceduralMathSource(seed=seed, size=index + 1)[index] == first
    assert ProceduralMathSource(seed=seed).get(first.task_id) == first


def test_seeds_and_indices_give_different_tasks() -> None:
    source = ProceduralMathSource(seed=0)
    prompts = {source[i].prompt for i in range(300)}
    assert len(prompts) > 280
    other = ProceduralMathSource(seed=1)
    assert sum(source[i].prompt != other[i].prompt for i in range(100)) > 90


def test_pinned_tasks_do_not_drift() -> None:
    # Seeded curricula must stay reproducible across releases and Python versions; a
    # deliberate generator change updates these (hand-checked) values.
    source = ProceduralMathSource(seed=0)
    assert source[0].task_id == "procedural:0:0"
    assert [(source[i].prompt, source[i].answer) for i in range(4)] == [
        (
            "Find all real solutions of $2x^{2} - 8x = 0$. "
            "If there is more than one, list them separated by commas.",
            "0, 4",
        ),
        ("What value of $x$ satisfies $6(x - 5) - 10 = 8(9 - x) + 13$?", "\\frac{125}{14}"),
        ("Compute $20 \\div 10 - \\left(19 - 20\\right)$.", "3"),
        ("What value of $x$ satisfies $6x + 15 = 7x - 9$?", "24"),
    ]


def test_all_kinds_and_levels_are_drawn() -> None:
    source = ProceduralMathSource(seed=3)
    seen = {(source[i].metadata["kind"], source[i].metadata["difficulty"]) for i in range(2000)}
    assert seen == {(kind, level) for kind in KINDS for level in (1, 2, 3)}


def test_configuration_filters_and_names() -> None:
    source = ProceduralMathSource(seed=2, size=50, difficulty=2, kinds=["linear", "system"])
    assert {t.metadata["kind"] for t in source} == {"linear", "system"}
    assert {t.metadata["difficulty"] for t in source} == {2}
    assert source.name == "procedural[linear,system;d=2]"
    assert source[0].task_id == "procedural[linear,system;d=2]:2:0"
    assert len(source) == 50 and len(list(source)) == 50


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kinds": ["fraction"]}, "did you mean 'fractions'"),
        ({"kinds": "linear"}, "sequence of names"),
        ({"kinds": []}, "at least one"),
        ({"difficulty": 4}, "1, 2 or 3"),
        ({"difficulty": []}, "1, 2 or 3"),
        ({"size": 0}, "positive"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_configuration(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ProceduralMathSource(**kwargs)  # type: ignore[arg-type]


def test_lookup_errors() -> None:
    source = ProceduralMathSource(seed=4, size=10)
    assert source[-1] == source[9]
    with pytest.raises(TaskIndexError):
        source[10]
    with pytest.raises(DataError, match="did you mean 'procedural:4:7'"):
        source.get("procedural:5:7")
    with pytest.raises(DataError):
        source.get("procedural:4:10")


@pytest.mark.parametrize(
    ("value", "tex"),
    [
        (Fraction(3, 4), "\\frac{3}{4}"),
        (Fraction(-6, 8), "-\\frac{3}{4}"),
        (Fraction(-4, 2), "-2"),
        (7, "7"),
        (0, "0"),
    ],
)
def test_latex_rational(value: Fraction | int, tex: str) -> None:
    assert latex_rational(value) == tex


@settings(max_examples=100, deadline=None)
@given(SEEDS, INDICES)
def test_prompts_are_natural_language(seed: int, index: int) -> None:
    prompt = ProceduralMathSource(seed=seed)[index].prompt
    assert prompt[0].isupper() and prompt.rstrip()[-1] in ".?"
    assert "**" not in prompt and "None" not in prompt
    assert prompt.count("$") % 2 == 0
