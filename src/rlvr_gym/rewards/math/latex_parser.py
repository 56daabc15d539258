"""A small, fast LaTeX-to-sympy parser for the expressions answers are made of.

Why hand-written: ``latex2sympy2_extended`` (ANTLR) costs about 4–5 ms per parse on
these machines, which alone would cap grading near 200 answers/s. Final answers are
almost always built from numbers, ``\\frac``, ``\\sqrt``, powers, ``\\pi``, single-letter
variables and a few functions; this recursive-descent parser covers that subset in tens
of microseconds and raises :class:`UnsupportedLatex` for anything else, so the caller
falls back to ``latex2sympy2_extended`` for the long tail.

Conventions (documented in the README): ``e`` is Euler's number and ``i`` the
imaginary unit; a digit string directly followed by ``\\frac`` with integer arguments is
a mixed number (``12\\frac{3}{5}`` = 63/5); ``^`` and ``_`` take one character unless
braced, as LaTeX renders them. Integer powers and factorials whose result would exceed
:data:`MAX_RESULT_BITS` raise :class:`TooLarge` instead of being computed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import sympy

MAX_RESULT_BITS = 100_000
MAX_DEPTH = 120
MAX_CHARS = 2_000


class UnsupportedLatex(ValueError):
    """The string uses LaTeX this parser does not cover (the caller may fall back)."""


class TooLarge(ValueError):
    """Evaluating the expression would build an astronomically large number."""


_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<cmd>\\[a-zA-Z]+|\\[{}|])|(?P<ch>\S))")
_UNICODE = {
    "π": "\\pi ",
    "√": "\\sqrt ",
    "·": "\\cdot ",
    "×": "\\times ",
    "÷": "\\div ",
    "−": "-",
    "∞": "\\infty ",
    "⋅": "\\cdot ",
}
_FUNCS: dict[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "cot": sympy.cot,
    "sec": sympy.sec,
    "csc": sympy.csc,
    "arcsin": sympy.asin,
    "arccos": sympy.acos,
    "arctan": sympy.atan,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "ln": sympy.log,
    "exp": sympy.exp,
}
_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
    "vartheta", "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "phi",
    "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma",
    "Phi", "Psi", "Omega",
}  # fmt: skip
_MUL_CMDS = {"\\cdot", "\\times", "\\ast"}
_PRIMARY_CMDS = {"\\frac", "\\sqrt", "\\pi", "\\infty", "\\binom", "\\log", "\\left|"}


def tokenize(text: str) -> list[tuple[str, str]]:
    """Split ``text`` into ``(kind, value)`` tokens: ``num``, ``cmd`` or ``ch``."""
    for k, v in _UNICODE.items():
        text = text.replace(k, v)
    out: list[tuple[str, str]] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            break  # only trailing whitespace is left
        kind = m.lastgroup or "ch"
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _check_pow(base: sympy.Expr, exp: sympy.Expr) -> None:
    if base.is_Number and exp.is_Integer and not base.is_zero:
        b = abs(float(base)) if base.is_Float else None
        mag = abs(int(exp))
        if b is None:
            num, den = sympy.fraction(base)
            bits = max(int(abs(num)).bit_length(), int(abs(den)).bit_length())
        else:
            bits = max(1, int(abs(math.log2(b))) + 1) if b > 0 else 1
        if bits > 1 and bits * mag > MAX_RESULT_BITS:
            raise TooLarge(f"power too large to evaluate: base of {bits} bits ^ {exp}")


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.toks = tokens
        self.i = 0
        self.depth = 0

    # -- token helpers -------------------------------------------------------------
    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise UnsupportedLatex("unexpected end of input")
        self.i += 1
        return tok

    def accept(self, value: str) -> bool:
        tok = self.peek()
        if tok is not None and tok[1] == value:
            self.i += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.accept(value):
            raise UnsupportedLatex(f"expected {value!r} at token {self.i}")

    # -- grammar ---------------------------------------------------------------------
    def parse(self) -> sympy.Expr:
        expr = self.expr()
        if self.peek() is not None:
            raise UnsupportedLatex(f"unexpected token {self.peek()!r}")
        return expr

    def expr(self) -> sympy.Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TooLarge("expression nested too deeply")
        terms = [self.term()]
        while True:
            if self.accept("+"):
                terms.append(self.term())
            elif self.accept("-"):
                terms.append(-self.term())
            elif self.accept("\\pm") or self.accept("\\mp"):
                raise UnsupportedLatex("\\pm inside an expression")
            else:
                break
        self.depth -= 1
        return sympy.Add(*terms) if len(terms) > 1 else terms[0]

    def _starts_primary(self) -> bool:
        tok = self.peek()
        if tok is None:
            return False
        kind, val = tok
        if kind in ("num",):
            return True
        if kind == "ch":
            return val.isalpha() or val in "({["
        return val in _PRIMARY_CMDS or val[1:] in _FUNCS or val[1:] in _GREEK

    def term(self) -> sympy.Expr:
        factors: list[sympy.Expr] = [self.unary()]
        while True:
            tok = self.peek()
            if tok is None:
                break
            if tok[1] in _MUL_CMDS or tok[1] == "*":
                self.i += 1
                factors.append(self.unary())
            elif tok[1] in ("/", "\\div"):
                self.i += 1
                den = self.unary()
                if den.is_zero:
                    raise UnsupportedLatex("division by zero")
                factors.append(sympy.Pow(den, -1))
            elif self._starts_primary():
                factors.append(self.postfix())
            else:
                break
        return sympy.Mul(*factors) if len(factors) > 1 else factors[0]

    def unary(self) -> sympy.Expr:
        if self.accept("-"):
            return -self.unary()
        if self.accept("+"):
            return self.unary()
        return self.postfix()

    def postfix(self) -> sympy.Expr:
        base = self.primary()
        while True:
            if self.accept("^"):
                exp = self.script()
                _check_pow(base, exp)
                base = sympy.Pow(base, exp)
            elif self.accept("!"):
                if base.is_Integer and int(base) > 2000:
                    raise TooLarge("factorial too large")
                base = sympy.factorial(base)
            else:
                return base

    def script(self) -> sympy.Expr:
        """A ``^``/``_`` argument: a braced group or a single character."""
        if self.accept("{"):
            inner = self.expr()
            self.expect("}")
            return inner
        kind, val = self.take()
        if kind == "num":
            if len(val) > 1 and "." not in val:  # x^23 is x^2 * 3 in LaTeX
                self.toks.insert(self.i, ("num", val[1:]))
                val = val[0]
            return sympy.Number(val)
        if kind == "ch" and val.isalpha():
            return self.symbol(val)
        if kind == "ch" and val == "-":
            return -self.script()
        if kind == "cmd" and val in ("\\pi", "\\infty"):
            return sympy.pi if val == "\\pi" else sympy.oo
        raise UnsupportedLatex(f"unsupported exponent {val!r}")

    def group(self, open_: str, close: str) -> sympy.Expr:
        inner = self.expr()
        self.expect(close)
        return inner

    def braced(self) -> sympy.Expr:
        if self.accept("{"):
            return self.group("{", "}")
        return self.postfix_atom()

    def postfix_atom(self) -> sympy.Expr:
        """An unbraced one-token argument (``\\frac12``, ``\\sqrt2``)."""
        kind, val = self.take()
        if kind == "num":
            if len(val) > 1 and "." not in val:
                self.toks.insert(self.i, ("num", val[1:]))
                val = val[0]
            return sympy.Number(val)
        if kind == "ch" and val.isalpha():
            return self.symbol(val)
        if kind == "cmd":
            self.i -= 1
            return self.primary()
        raise UnsupportedLatex(f"unsupported argument {val!r}")

    def symbol(self, name: str) -> sympy.Expr:
        if name == "e":
            return sympy.E
        if name == "i":
            return sympy.I
        if self.accept("_"):
            sub = self.take_script_text()
            return sympy.Symbol(f"{name}_{sub}")
        return sympy.Symbol(name)

    def take_script_text(self) -> str:
        if self.accept("{"):
            parts: list[str] = []
            while not self.accept("}"):
                parts.append(self.take()[1])
                if len(parts) > 20:
                    raise UnsupportedLatex("subscript too long")
            return "".join(parts)
        return self.take()[1]

    def primary(self) -> sympy.Expr:
        kind, val = self.take()
        if kind == "num":
            return sympy.Rational(val) if "." in val else sympy.Integer(val)
        if kind == "ch":
            if val.isalpha():
                return self.symbol(val)
            if val == "(":
                return self.group("(", ")")
            if val == "[":
                return self.group("[", "]")
            if val == "{":
                return self.group("{", "}")
            if val == "|":
                inner = self.expr()
                self.expect("|")
                return sympy.Abs(inner)
            raise UnsupportedLatex(f"unexpected {val!r}")
        return self.command(val)

    def command(self, val: str) -> sympy.Expr:
        name = val[1:]
        if name == "frac":
            num = self.braced()
            den = self.braced()
            if den.is_zero:
                raise UnsupportedLatex("division by zero")
            return sympy.Mul(num, sympy.Pow(den, -1))
        if name == "binom":
            n, k = self.braced(), self.braced()
            return sympy.binomial(n, k)
        if name == "sqrt":
            if self.accept("["):
                index = self.expr()
                self.expect("]")
                return sympy.root(self.braced(), index)
            return sympy.sqrt(self.braced())
        if name == "pi":
            return sympy.pi
        if name == "infty":
            return sympy.oo
        if name in _GREEK:
            return sympy.Symbol(name)
        if name == "log":
            base: sympy.Expr | None = None
            if self.accept("_"):
                base = self.script()
            arg = self.function_arg()
            return sympy.log(arg, base) if base is not None else sympy.log(arg)
        if name in _FUNCS:
            power: sympy.Expr | None = None
            if self.accept("^"):
                power = self.script()
            arg = self.function_arg()
            out = _FUNCS[name](arg)
            return sympy.Pow(out, power) if power is not None else out
        raise UnsupportedLatex(f"unsupported command {val}")

    def function_arg(self) -> sympy.Expr:
        tok = self.peek()
        if tok is not None and tok[1] in ("(", "{", "["):
            return self.primary()
        return self.postfix()


def parse_latex_fast(text: str) -> sympy.Expr:
    """Parse a normalised LaTeX expression into sympy, or raise.

    Raises:
        UnsupportedLatex: The input is outside the covered subset.
        TooLarge: The input would evaluate to an enormous number.
    """
    if len(text) > MAX_CHARS:
        raise TooLarge(f"expression of {len(text)} characters")
    tokens = tokenize(text)
    if not tokens:
        raise UnsupportedLatex("empty expression")
    try:
        return _Parser(tokens).parse()
    except RecursionError as exc:
        raise TooLarge("expression nested too deeply") from exc
