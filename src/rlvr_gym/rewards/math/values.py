"""Turn a normalised answer string into a structured value.

An answer is one of: a scalar (a number or an expression), an ordered tuple, an
unordered collection of solutions, an interval or union of intervals, an equation, a
matrix, a multiple-choice letter, or text. Reading the structure first, and only then
the mathematics, is what lets the comparator accept ``x=5`` for ``5``, ``2x-y+3=0`` for
``y=2x+3`` and ``x \\le 3`` for ``(-\\infty, 3]`` while still telling a hedge (``3, 5``
for a single gold) from a set of solutions.

Ambiguous readings, resolved one way and documented in the README:

* a bare top-level comma list (``1, 2``) is an *unordered* collection of solutions;
  parentheses (``(1, 2)``) make an ordered tuple, which also matches the open interval
  with the same ends; ``\\{1, 2\\}`` is a set;
* ``a \\pm b`` is the two-element collection ``{a + b, a - b}``;
* a number with a subscript (``204_5``) is a numeral in that base and is never equal to
  the same digits in another base.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

_NUMERAL = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$")
_FRACTION = re.compile(r"^([-+]?)\\frac\{\s*([-+]?\d+)\s*\}\{\s*([-+]?\d+)\s*\}$")
_SLASH = re.compile(r"^([-+]?\d+)\s*/\s*(\d+)$")
_MIXED = re.compile(r"^([-+]?)(\d+)\s*\\frac\{\s*(\d+)\s*\}\{\s*(\d+)\s*\}$")
_SCI = re.compile(
    r"^(?:([-+]?(?:\d+(?:\.\d*)?|\.\d+))\s*(?:\\times|\\cdot|\*|x)\s*)?10\^\{?([-+]?\d+)\}?$"
)
_BASE = re.compile(r"^([0-9A-Za-z]+)_\{?\s*(\d+|\\text\{\s*\d+\s*\})\s*\}?$")
_WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")
_ENV = re.compile(r"\\begin\{([pbBvV]?matrix|array)\}(?:\{[^{}]*\})?(.*?)\\end\{\1\}", re.S)
_CONNECTIVES = re.compile(r"\s*(?:,|;|\bor\b|\band\b|\\text\{\s*(?:or|and)\s*\}|\\(?:lor|vee))\s*")
_WORD_CONNECTIVE = re.compile(r"\s(?:or|and)\s|\\(?:lor|vee)")
_REL = re.compile(r"\\(?:le|leq|leqslant|ge|geq|geqslant|ne|neq)(?![a-zA-Z])|<=|>=|!=|≤|≥|<|>|=")
_REL_CANON = {
    "\\le": "<=", "\\leq": "<=", "\\leqslant": "<=", "<=": "<=", "≤": "<=",
    "\\ge": ">=", "\\geq": ">=", "\\geqslant": ">=", ">=": ">=", "≥": ">=",
    "\\ne": "!=", "\\neq": "!=", "!=": "!=", "<": "<", ">": ">", "=": "=",
}  # fmt: skip
_UNION = re.compile(r"\\cup|∪|\\text\{\s*U\s*\}")
SINGLE_SYMBOL = re.compile(r"^[a-zA-Z](?:_\{?\w+\}?)?$|^\\[a-zA-Z]+$")
FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "!=": "!="}
_MEMBER = re.compile(r"^[a-zA-Z]\s*\\in(?![a-zA-Z])\s*")
_PM = re.compile(r"\\pm|\\mp|±")
_PLAIN_MATH_CMDS = re.compile(r"\\(?:frac|sqrt|pi|cdot|times|infty|left|right|log|ln|sin|cos)")


@dataclass(frozen=True)
class Scalar:
    """A single number or expression, kept as text until sympy is needed.

    ``numeral`` is set when the text is a plain written number (integer, decimal,
    fraction, mixed number, scientific notation); ``percent`` when it carried ``%``;
    ``base`` for ``digits_base`` numerals.
    """

    text: str
    numeral: Fraction | None = None
    percent: bool = False
    base: int | None = None


@dataclass(frozen=True)
class Collection:
    """Several values: ``kind`` is ``tuple`` (ordered), ``set`` or ``list`` (unordered)."""

    items: tuple[Value, ...]
    kind: str
    brackets: str = ""


@dataclass(frozen=True)
class IntervalValue:
    """A union of intervals; each part is ``(lo, hi, lo_closed, hi_closed)`` as text."""

    parts: tuple[tuple[str, str, bool, bool], ...]


@dataclass(frozen=True)
class Relation:
    """``lhs op rhs`` (``=``, ``<``, ``<=``, ``>``, ``>=``, ``!=``), possibly chained."""

    sides: tuple[str, ...]
    ops: tuple[str, ...]


@dataclass(frozen=True)
class MatrixValue:
    """Rows of scalars."""

    rows: tuple[tuple[Scalar, ...], ...]


@dataclass(frozen=True)
class Choice:
    """A multiple-choice letter."""

    letter: str


@dataclass(frozen=True)
class Text:
    """A word answer, compared case- and space-insensitively."""

    text: str
    key: str = field(default="", compare=False)


Value = Scalar | Collection | IntervalValue | Relation | MatrixValue | Choice | Text


def _split_top_with(s: str, sep: re.Pattern[str]) -> tuple[list[str], list[str]]:
    """Split ``s`` at top-level (bracket depth 0) matches of ``sep``; also the matches."""
    parts: list[str] = []
    seps: list[str] = []
    depth = 0
    start = 0
    pos = 0
    n = len(s)
    while pos < n:
        ch = s[pos]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            m = sep.match(s, pos)
            if m and m.end() > pos:
                parts.append(s[start:pos].strip())
                seps.append(m.group(0))
                start = pos = m.end()
                continue
        pos += 1
    parts.append(s[start:].strip())
    return parts, seps


def split_top(s: str, sep: re.Pattern[str]) -> list[str]:
    """Split ``s`` at matches of ``sep`` that are not inside any bracket pair."""
    return _split_top_with(s, sep)[0]


def _matching_close(s: str, open_idx: int) -> int:
    depth = 0
    for i in range(open_idx, len(s)):
        if s[i] in "([{":
            depth += 1
        elif s[i] in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def parse_numeral(text: str) -> tuple[Fraction, bool] | None:
    """Return ``(value, percent)`` when ``text`` is a plainly written number."""
    t = text.replace(" ", "")
    percent = t.endswith("%")
    if percent:
        t = t[:-1]
    if _NUMERAL.match(t):
        return Fraction(t), percent
    m = _FRACTION.match(t)
    if m:
        num, den = int(m.group(2)), int(m.group(3))
        if den == 0:
            return None
        value = Fraction(num, den)
        return (-value if m.group(1) == "-" else value), percent
    m = _SLASH.match(t)
    if m and int(m.group(2)) != 0:
        return Fraction(int(m.group(1)), int(m.group(2))), percent
    m = _MIXED.match(text.strip().rstrip("%").strip())
    if m and int(m.group(4)) != 0:
        value = int(m.group(2)) + Fraction(int(m.group(3)), int(m.group(4)))
        return (-value if m.group(1) == "-" else value), percent
    m = _SCI.match(t)
    if m and abs(int(m.group(2))) <= 400:
        mantissa = Fraction(m.group(1)) if m.group(1) else Fraction(1)
        return mantissa * Fraction(10) ** int(m.group(2)), percent
    return None


def _scalar(text: str) -> Scalar:
    num = parse_numeral(text)
    if num is not None:
        return Scalar(text, num[0], num[1])
    m = _BASE.match(text.replace(" ", ""))
    if m:
        base = int(re.sub(r"\D", "", m.group(2)))
        if 2 <= base <= 36:
            return Scalar(m.group(1).upper(), None, False, base)
    stripped = text.rstrip()
    if stripped.endswith("%"):
        return Scalar(stripped[:-1].strip(), None, True)
    return Scalar(text)


def _matrix(body: str) -> MatrixValue:
    rows = [r for r in re.split(r"\\\\|\\cr", body) if r.strip()]
    return MatrixValue(tuple(tuple(_scalar(c.strip()) for c in r.split("&")) for r in rows))


def _interval(s: str) -> IntervalValue | None:
    parts: list[tuple[str, str, bool, bool]] = []
    for piece in split_top(s, _UNION):
        if len(piece) < 5 or piece[0] not in "([" or piece[-1] not in ")]":
            return None
        if _matching_close(piece, 0) != len(piece) - 1:
            return None
        inner = split_top(piece[1:-1], re.compile(","))
        if len(inner) != 2 or not all(inner):
            return None
        parts.append((inner[0], inner[1], piece[0] == "[", piece[-1] == "]"))
    return IntervalValue(tuple(parts))


def _relation(s: str) -> Relation | None:
    pieces, ops = _split_top_with(s, _REL)
    if not ops or not all(pieces):
        return None
    return Relation(tuple(pieces), tuple(_REL_CANON[o] for o in ops))


def _is_text(s: str) -> bool:
    if _PLAIN_MATH_CMDS.search(s):
        return False
    return bool(_WORD.search(s))


def parse_value(s: str, *, allow_list: bool = True) -> Value:
    """Parse a normalised answer string into a :class:`Value`."""
    s = s.strip()
    env = _ENV.fullmatch(s)
    if env:
        return _matrix(env.group(2))
    member = _MEMBER.match(s)
    if member:  # "x \in [-2, 7]" states the set the answer lies in
        return parse_value(s[member.end() :], allow_list=allow_list)
    if s.startswith("\\{") and s.endswith("\\}"):
        inner = [p for p in split_top(s[2:-2], re.compile(",")) if p]
        members: list[Value] = []
        for part in inner:
            value = parse_value(part, allow_list=False)
            if isinstance(value, Scalar) and _PM.search(part):
                pm = _plus_minus(part)  # {1 \pm \sqrt5, -2} has three members
                members.extend(pm.items if isinstance(pm, Collection) else (pm,))
            else:
                members.append(value)
        return Collection(tuple(members), "set")
    if allow_list:
        if _UNION.search(s):
            iv = _interval(s)
            if iv is not None:
                return iv
        items = [p for p in split_top(s, _CONNECTIVES) if p]
        if len(items) > 1:
            return _several([parse_value(p, allow_list=False) for p in items])
        if _PM.search(s):
            return _plus_minus(s)
    if s and s[0] in "([" and s[-1] in ")]" and _matching_close(s, 0) == len(s) - 1:
        inner = split_top(s[1:-1], re.compile(","))
        if len(inner) >= 2:
            if len(inner) == 2 and (s[0] + s[-1] in ("[)", "(]", "[]") or "infty" in s):
                iv = _interval(s)
                if iv is not None:
                    return iv
            return Collection(
                tuple(parse_value(p, allow_list=False) for p in inner), "tuple", s[0] + s[-1]
            )
    rel = _relation(s)
    if rel is not None:
        return rel
    choice = re.fullmatch(r"\(?\s*([A-E])\s*\)?", s)
    if choice:
        return Choice(choice.group(1))
    if _is_text(s):
        key = re.sub(r"[^a-z0-9]", "", s.lower())
        return Text(s, key)
    return _scalar(s)


def _plus_minus(s: str) -> Value:
    """``a \\pm b`` → the two values; ``x = \\pm 3`` → the values of ``x``."""
    rel = _relation(s)
    if rel is not None and rel.ops == ("=",) and SINGLE_SYMBOL.match(rel.sides[0]):
        return _plus_minus(rel.sides[1])
    parts = re.split(r"(\\pm|\\mp|±)", s, maxsplit=1)
    if len(parts) != 3:
        return parse_value(s, allow_list=False)
    a, _, b = (part.strip() for part in parts)
    if not b:
        return Text(s, "")  # a bare \pm is not an answer
    if not a:
        return Collection((_scalar(b), _scalar(f"-{b}")), "list")
    return Collection((_scalar(f"{a}+{b}"), _scalar(f"{a}-{b}")), "list")


def _several(values: list[Value]) -> Value:
    """Read a top-level list: inequalities form a union, ``x=1, y=2`` a point."""
    intervals = [as_intervals(v) if isinstance(v, Relation) else None for v in values]
    if all(iv is not None for iv in intervals):
        return IntervalValue(tuple(part for iv in intervals if iv for part in iv.parts))
    if all(isinstance(v, Relation) and v.ops == ("=",) for v in values):
        names = [v.sides[0] for v in values if isinstance(v, Relation)]
        if all(SINGLE_SYMBOL.match(n) for n in names) and len(set(names)) == len(names):
            return Collection(tuple(_unwrap(v) for v in values), "tuple", "()")
    return Collection(tuple(_unwrap(v) for v in values), "list")


def as_intervals(v: Value) -> IntervalValue | None:
    """Read a one-variable inequality, or a 2-tuple, as intervals."""
    if isinstance(v, IntervalValue):
        return v
    if isinstance(v, Collection) and v.kind == "tuple" and len(v.items) == 2:
        lo, hi = v.items
        if isinstance(lo, Scalar) and isinstance(hi, Scalar) and v.brackets in ("()", "[]"):
            closed = v.brackets == "[]"
            return IntervalValue(((lo.text, hi.text, closed, closed),))
    if isinstance(v, Relation) and v.ops == ("!=",) and SINGLE_SYMBOL.match(v.sides[0]):
        a = v.sides[1]
        return IntervalValue((("-\\infty", a, False, False), (a, "\\infty", False, False)))
    if isinstance(v, Relation) and "=" not in v.ops and "!=" not in v.ops:
        sides, ops = list(v.sides), list(v.ops)
        var_idx = [i for i, s in enumerate(sides) if SINGLE_SYMBOL.match(s)]
        if len(var_idx) != 1 or len(sides) not in (2, 3):
            return None
        if any(o in (">", ">=") for o in ops):
            sides.reverse()
            ops = [FLIP[o] for o in reversed(ops)]
        k = next(i for i, s in enumerate(sides) if SINGLE_SYMBOL.match(s))
        if len(sides) == 3 and k == 1:
            return IntervalValue(((sides[0], sides[2], ops[0] == "<=", ops[1] == "<="),))
        if len(sides) == 2 and k == 0:
            return IntervalValue((("-\\infty", sides[1], False, ops[0] == "<="),))
        if len(sides) == 2 and k == 1:
            return IntervalValue(((sides[0], "\\infty", ops[0] == "<=", False),))
    return None


def _unwrap(v: Value) -> Value:
    """``x = 5`` inside a list of solutions stands for ``5``."""
    if isinstance(v, Relation) and v.ops == ("=",) and re.fullmatch(r"[a-zA-Z](_\w+)?", v.sides[0]):
        return parse_value(v.sides[1], allow_list=False)
    return v
