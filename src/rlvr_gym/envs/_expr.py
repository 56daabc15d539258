"""Exact-arithmetic building blocks of the procedural generator.

Kept apart from :mod:`rlvr_gym.envs.generators` so the task kinds read as problem
descriptions: this module owns the random stream, LaTeX rendering of rationals and
polynomials, and random expression trees rendered with only the parentheses operator
precedence requires (so "a - (b - c)" keeps its parentheses and "a + (b × c)" loses
them, which is what precedence problems test).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = [
    "Node",
    "Num",
    "Op",
    "Retry",
    "Rng",
    "decimal_text",
    "evaluate",
    "latex_rational",
    "poly",
    "py_rational",
    "random_tree",
    "render",
]


class Retry(Exception):
    """A draw produced an unusable problem (too large, division by zero); draw again."""


class Rng:
    """Integer draws built on ``random()`` alone, the one stream Python keeps stable."""

    def __init__(self, seed: int, index: int) -> None:
        digest = hashlib.blake2b(f"rlvr-gym/{seed}/{index}".encode(), digest_size=8).digest()
        self._random = random.Random(int.from_bytes(digest, "big"))

    def between(self, low: int, high: int) -> int:
        """Uniform integer in ``[low, high]``."""
        return low + min(int(self._random.random() * (high - low + 1)), high - low)

    def nonzero(self, low: int, high: int) -> int:
        """Uniform integer in ``[-high, -low] ∪ [low, high]``."""
        value = self.between(low, high)
        return value if self.chance(0.5) else -value

    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return self._random.random() < p

    def pick(self, options: Sequence[Any]) -> Any:
        """Uniform element of ``options``."""
        return options[self.between(0, len(options) - 1)]


# ---------------------------------------------------------------- rendering helpers


def latex_rational(value: Fraction | int) -> str:
    """Write a rational as graders parse it: ``7``, ``-7``, ``\\frac{3}{4}``, ``-\\frac{3}{4}``.

    Fractions are reduced (``Fraction`` normalises) and the sign sits outside ``\\frac``,
    the form reference answers use, so string-level fast paths in graders match too.
    """
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def decimal_text(value: Fraction) -> str:
    """Exact decimal for a terminating fraction (``Fraction(207, 2)`` -> ``"103.5"``)."""
    scaled, places = value, 0
    while scaled.denominator != 1:
        scaled *= 10
        places += 1
        if places > 12:
            raise Retry
    digits = str(abs(scaled.numerator)).rjust(places + 1, "0")
    text = digits if places == 0 else f"{digits[:-places]}.{digits[-places:]}"
    return ("-" if value < 0 else "") + text


def py_rational(value: Fraction) -> str:
    """Parenthesised sympy/Python literal; integer division in it stays exact in sympy."""
    if value.denominator == 1:
        return f"({value.numerator})"
    return f"({value.numerator}/{value.denominator})"


def poly(terms: Sequence[tuple[Fraction | int, str]]) -> tuple[str, str]:
    """Render ``[(coefficient, monomial), ...]`` as (LaTeX, sympy) strings, signs merged."""
    latex_parts: list[str] = []
    py_parts: list[str] = []
    for coefficient, monomial in terms:
        coefficient = Fraction(coefficient)
        if coefficient == 0:
            continue
        magnitude = abs(coefficient)
        if monomial and magnitude == 1:
            body = monomial
        elif monomial:
            body = latex_rational(magnitude) + monomial
        else:
            body = latex_rational(magnitude)
        sign = "-" if coefficient < 0 else "+"
        if not latex_parts:
            latex_parts.append(body if sign == "+" else f"-{body}")
        else:
            latex_parts.append(f" {sign} {body}")
        py_mono = monomial.replace("^{2}", "**2")
        py_parts.append(
            f"{py_rational(coefficient)}*{py_mono}" if monomial else py_rational(coefficient)
        )
    if not latex_parts:
        return "0", "0"
    return "".join(latex_parts), " + ".join(py_parts)


# ------------------------------------------------------------- expression trees


@dataclass(frozen=True)
class Num:
    """A rational literal."""

    value: Fraction


@dataclass(frozen=True)
class Op:
    """A binary operation; ``^`` only with a literal base and a small literal exponent."""

    op: str  # one of + - * / ^
    left: Node
    right: Node


Node = Num | Op
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 3}
_LATEX_OP = {"+": "+", "-": "-", "*": "\\times", "/": "\\div"}


def evaluate(node: Node, limit: int) -> Fraction:
    """Exact value; raises :class:`Retry` past ``limit`` or on division by zero."""
    if isinstance(node, Num):
        return node.value
    left, right = evaluate(node.left, limit), evaluate(node.right, limit)
    if node.op == "+":
        value = left + right
    elif node.op == "-":
        value = left - right
    elif node.op == "*":
        value = left * right
    elif node.op == "/":
        if right == 0:
            raise Retry
        value = left / right
    else:
        value = left ** int(right)
    if abs(value.numerator) > limit or value.denominator > limit:
        raise Retry
    return value


def render(node: Node, *, as_base: bool = False) -> tuple[str, str]:
    """(LaTeX, sympy) with only the parentheses precedence requires."""
    if isinstance(node, Num):
        latex, py = latex_rational(node.value), py_rational(node.value)
        if node.value < 0 or (as_base and node.value.denominator != 1):
            latex = f"\\left({latex}\\right)" if "\\frac" in latex else f"({latex})"
        return latex, py
    if node.op == "^":
        base_latex, base_py = render(node.left, as_base=True)
        if isinstance(node.left, Op):
            base_latex = f"\\left({base_latex}\\right)"
        exponent = int(evaluate(node.right, 10**9))
        return f"{base_latex}^{{{exponent}}}", f"({base_py})**{exponent}"
    prec = _PRECEDENCE[node.op]
    left_latex, left_py = render(node.left)
    right_latex, right_py = render(node.right)
    if isinstance(node.left, Op) and _PRECEDENCE[node.left.op] < prec:
        left_latex = f"\\left({left_latex}\\right)"
    if isinstance(node.right, Op):
        right_prec = _PRECEDENCE[node.right.op]
        if right_prec < prec or (right_prec == prec and node.op in "-/"):
            right_latex = f"\\left({right_latex}\\right)"
    py_op = {"^": "**"}.get(node.op, node.op)
    return f"{left_latex} {_LATEX_OP[node.op]} {right_latex}", f"({left_py} {py_op} {right_py})"


def random_tree(
    rng: Rng, n_ops: int, ops: str, leaf: Callable[[], Node], limit: int, exact_int: bool
) -> Node:
    """Random expression with ``n_ops`` operators; integer mode keeps divisions exact."""
    if n_ops == 0:
        return leaf()
    op = rng.pick(ops)
    left_ops = rng.between(0, n_ops - 1)
    left = random_tree(rng, left_ops, ops, leaf, limit, exact_int)
    if op == "/" and exact_int:
        value = evaluate(left, limit)
        divisors = [d for d in range(2, 13) if value != 0 and value % d == 0]
        if not divisors:
            op, divisors = "*", [rng.between(2, 9)]
        return Op(op, left, Num(Fraction(rng.pick(divisors))))
    right = random_tree(rng, n_ops - 1 - left_ops, ops, leaf, limit, exact_int)
    return Op(op, left, right)
