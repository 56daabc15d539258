"""Decide whether a predicted answer value equals the gold value.

Order of checks, cheapest first: exact rationals for written numbers (no floats, so
``2`` ≠ ``2.0001`` and ``1/2^{99}`` ≠ ``1/2^{98}``), then structure (tuples, sets,
intervals, equations, matrices), then sympy. Constant expressions are compared
exactly when both are rational and otherwise at 40 significant digits (a difference
below 1e-30 relative is treated as zero: no answer in this field is that close to a
different closed form). Expressions with variables must agree after ``expand`` or at
several random rational points.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

import sympy

from rlvr_gym.rewards.math.latex_parser import TooLarge, UnsupportedLatex, parse_latex_fast
from rlvr_gym.rewards.math.values import FLIP as _FLIP
from rlvr_gym.rewards.math.values import SINGLE_SYMBOL as _SINGLE_SYMBOL
from rlvr_gym.rewards.math.values import (
    Choice,
    Collection,
    IntervalValue,
    MatrixValue,
    Relation,
    Scalar,
    Text,
    Value,
    as_intervals,
    parse_value,
)

_SYMBOL_TUPLE = re.compile(r"^\(\s*[a-zA-Z](?:\s*,\s*[a-zA-Z])+\s*\)$")


_REL_TOL = sympy.Float("1e-30", 50)


class Unevaluated(ValueError):
    """The prediction restates a computation instead of giving the number."""


@lru_cache(maxsize=8192)
def to_sympy(text: str) -> sympy.Expr:
    """Parse LaTeX to a sympy expression: fast parser first, latex2sympy as fallback.

    Raises:
        UnsupportedLatex: Neither parser understands ``text``.
        TooLarge: Evaluating ``text`` would build an enormous number.
    """
    try:
        return parse_latex_fast(text)
    except UnsupportedLatex:
        pass
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig

    try:
        expr = latex2sympy(
            text,
            normalization_config=None,
            conversion_config=ConversionConfig(lowercase_symbols=False),
        )
    except Exception as exc:  # the ANTLR parser raises bare Exceptions
        raise UnsupportedLatex(f"cannot parse {text!r}: {exc}") from exc
    if not isinstance(expr, sympy.Expr):
        raise UnsupportedLatex(f"{text!r} is not an expression")
    return expr


def _numeric(expr: sympy.Expr) -> sympy.Expr:
    return expr.evalf(40)


def _close(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Numeric equality at 40 digits, for finite real or complex values."""
    na, nb = _numeric(a), _numeric(b)
    if not (na.is_number and nb.is_number) or na.has(sympy.nan) or nb.has(sympy.nan):
        return False
    try:
        diff = abs(na - nb)
        scale = max(abs(na), abs(nb), sympy.Integer(1))
        return bool(diff <= _REL_TOL * scale)
    except TypeError:  # NaN or non-comparable (e.g. an unevaluated complex) values
        return False


def exprs_equal(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Mathematical equality of two sympy expressions (see module docstring)."""
    if a == b:
        return True
    if a.has(sympy.oo, -sympy.oo, sympy.zoo) or b.has(sympy.oo, -sympy.oo, sympy.zoo):
        return False
    free = a.free_symbols | b.free_symbols
    if not free:
        if a.is_Rational and b.is_Rational:
            return False
        return _close(a, b)
    if a.free_symbols != b.free_symbols:
        return False
    if sympy.expand(a - b) == 0:
        return True
    rng = random.Random(20240229)
    for _ in range(4):
        point = {s: sympy.Rational(rng.randint(-97, 97), rng.randint(1, 13)) for s in free}
        va, vb = a.subs(point), b.subs(point)
        if va.has(sympy.zoo, sympy.nan) or vb.has(sympy.zoo, sympy.nan):
            continue
        if not _close(va, vb):
            return False
    return True


def _digits_equal(g: Scalar, p: Scalar) -> bool:
    if g.base is not None and p.base is not None:
        return g.base == p.base and g.text.lstrip("0") == p.text.lstrip("0")
    base_side, other = (g, p) if g.base is not None else (p, g)
    return re.sub(r"\s", "", other.text).upper().lstrip("0") == base_side.text.lstrip("0")


def scalars_equal(g: Scalar, p: Scalar, *, allow_unevaluated: bool) -> bool:
    """Compare two scalars: exact numerals, base numerals, then sympy."""
    if g.base is not None or p.base is not None:
        return _digits_equal(g, p)
    if g.numeral is not None and p.numeral is not None:
        if g.numeral == p.numeral:
            return True
        if g.percent != p.percent:
            scaled = g.numeral / 100 if g.percent else p.numeral / 100
            return scaled == (p.numeral if g.percent else g.numeral)
        return False
    if g.numeral is not None and not allow_unevaluated:
        raise Unevaluated(f"{p.text!r} is not a number written out; the gold is {g.text!r}")
    ge = sympy.Rational(g.numeral) if g.numeral is not None else to_sympy(g.text)
    pe = sympy.Rational(Fraction(p.numeral)) if p.numeral is not None else to_sympy(p.text)
    return exprs_equal(ge, pe)


def _match_unordered(gold: Sequence[Value], pred: Sequence[Value], unev: bool) -> bool:
    if len(gold) != len(pred):
        return False
    left = list(pred)
    for g in gold:
        for i, p in enumerate(left):
            if values_equal(g, p, allow_unevaluated=unev):
                del left[i]
                break
        else:
            return False
    return True


def _to_set(iv: IntervalValue) -> sympy.Set:
    parts = []
    for lo, hi, lo_c, hi_c in iv.parts:
        parts.append(sympy.Interval(to_sympy(lo), to_sympy(hi), not lo_c, not hi_c))
    return sympy.Union(*parts)


def _equation_value(v: Relation) -> str | None:
    """``x = 5`` → ``"5"``: a solved equation stands for its value."""
    if v.ops == ("=",) and (_SINGLE_SYMBOL.match(v.sides[0]) or _SYMBOL_TUPLE.match(v.sides[0])):
        return v.sides[1]
    if v.ops == ("=",) and _SINGLE_SYMBOL.match(v.sides[1]):
        return v.sides[0]
    return None


def _relations_equal(g: Relation, p: Relation, unev: bool) -> bool:
    if g.ops == ("=",) and p.ops == ("=",):
        gd = to_sympy(g.sides[0]) - to_sympy(g.sides[1])
        pd = to_sympy(p.sides[0]) - to_sympy(p.sides[1])
        if gd.free_symbols != pd.free_symbols:
            return False
        if not gd.free_symbols:
            return exprs_equal(to_sympy(g.sides[1]), to_sympy(p.sides[1]))
        if pd == 0:
            return False
        ratio = sympy.cancel(gd / pd)
        return not ratio.free_symbols and ratio != 0
    gi, pi = as_intervals(g), as_intervals(p)
    if gi is not None and pi is not None:
        return bool(_to_set(gi) == _to_set(pi))
    if len(g.sides) == len(p.sides):
        if g.ops == p.ops:
            pairs = zip(g.sides, p.sides)
        elif tuple(_FLIP[o] for o in reversed(g.ops)) == p.ops:
            pairs = zip(g.sides, reversed(p.sides))
        else:
            return False
        return all(exprs_equal(to_sympy(a), to_sympy(b)) for a, b in pairs)
    return False


def _choice_letter(v: Value) -> str | None:
    if isinstance(v, Choice):
        return v.letter
    text = v.text if isinstance(v, (Scalar, Text)) else ""
    m = re.match(r"^\(?([A-E])\)?(?:\s|$)", text.strip())
    return m.group(1) if m else None


def values_equal(g: Value, p: Value, *, allow_unevaluated: bool = False) -> bool:
    """Structural and mathematical equality of two answer values."""
    unev = allow_unevaluated
    if isinstance(g, Choice):
        return _choice_letter(p) == g.letter
    if isinstance(g, Text) or isinstance(p, Text):
        gk = (
            g.key
            if isinstance(g, Text)
            else re.sub(r"[^a-z0-9]", "", str(getattr(g, "text", "")).lower())
        )
        pk = (
            p.key
            if isinstance(p, Text)
            else re.sub(r"[^a-z0-9]", "", str(getattr(p, "text", "")).lower())
        )
        return bool(gk) and gk == pk
    if isinstance(p, Relation) and not isinstance(g, Relation):
        value = _equation_value(p)
        if value is not None:
            return values_equal(g, parse_value(value), allow_unevaluated=unev)
    if isinstance(g, Relation) and not isinstance(p, Relation):
        value = _equation_value(g)
        if value is not None:
            return values_equal(parse_value(value), p, allow_unevaluated=unev)
    if isinstance(g, Scalar) and isinstance(p, Scalar):
        return scalars_equal(g, p, allow_unevaluated=unev)
    if isinstance(g, Relation) and isinstance(p, Relation):
        return _relations_equal(g, p, unev)
    gi, pi = as_intervals(g), as_intervals(p)
    if (isinstance(g, IntervalValue) or isinstance(p, IntervalValue)) or (
        isinstance(g, Relation) or isinstance(p, Relation)
    ):
        if gi is not None and pi is not None:
            return bool(_to_set(gi) == _to_set(pi))
        return False
    if isinstance(g, MatrixValue) or isinstance(p, MatrixValue):
        return _matrices_equal(g, p, unev)
    if isinstance(g, Collection) and isinstance(p, Collection):
        if g.kind == "tuple" or p.kind == "tuple":
            if g.kind != p.kind or len(g.items) != len(p.items):
                return False
            return all(values_equal(a, b, allow_unevaluated=unev) for a, b in zip(g.items, p.items))
        return _match_unordered(g.items, p.items, unev)
    return False


def _rows(v: Value) -> tuple[tuple[Value, ...], ...] | None:
    if isinstance(v, MatrixValue):
        return v.rows
    if isinstance(v, Collection) and v.kind == "tuple":
        return tuple((item,) for item in v.items)  # a vector written as a tuple
    return None


def _matrices_equal(g: Value, p: Value, unev: bool) -> bool:
    gr, pr = _rows(g), _rows(p)
    if gr is None or pr is None:
        return False
    if len(gr) == 1 and len(pr) > 1:  # row vector vs column: compare flattened
        gr = tuple((x,) for x in gr[0])
    if len(pr) == 1 and len(gr) > 1:
        pr = tuple((x,) for x in pr[0])
    if [len(r) for r in gr] != [len(r) for r in pr]:
        return False
    return all(
        values_equal(a, b, allow_unevaluated=unev) for ra, rb in zip(gr, pr) for a, b in zip(ra, rb)
    )


__all__ = ["TooLarge", "Unevaluated", "UnsupportedLatex", "exprs_equal", "to_sympy", "values_equal"]
