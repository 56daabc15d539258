"""Seeded procedural math problems with exactly computed answers.

Why procedural tasks: public math sets are small and their answers leak into
pretraining data; a generator gives an unlimited, uncontaminated curriculum whose
difficulty can be dialled, and it is the default task source so environments work with
no data files at all.

Reproducibility contract: task ``i`` of ``ProceduralMathSource(seed=s, ...)`` is a pure
function of ``(s, i)`` and the source's kinds and difficulties. Each task gets its own
random stream, derived by hashing ``(seed, index)``, so indexing is O(1), needs no
state, and the same id names the same problem on every machine. Draws use only
``random.Random.random()``, whose output CPython guarantees across versions (``randint``
and ``choice`` are not guaranteed), so upgrading Python does not silently change a
seeded curriculum.

Answers are computed with :class:`fractions.Fraction` (never floats) and written in the
LaTeX the math reward parses: ``-\\frac{3}{4}``, ``-2, 5`` for a set of roots,
``(\\frac{1}{2}, -3)`` for an ordered pair.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from typing import Any

from rlvr_gym.envs._expr import (
    Node,
    Num,
    Op,
    Retry,
    Rng,
    decimal_text,
    evaluate,
    latex_rational,
    poly,
    random_tree,
    render,
)
from rlvr_gym.envs.tasks import MathTask, check_index, unknown_task_error
from rlvr_gym.errors import ConfigError, RlvrGymError, did_you_mean

__all__ = ["DIFFICULTIES", "KINDS", "ProceduralMathSource", "latex_rational"]

DIFFICULTIES: tuple[int, ...] = (1, 2, 3)


# ------------------------------------------------------------------- task kinds

_Generated = tuple[str, str, dict[str, Any]]  # prompt, answer, spec


def _arithmetic(rng: Rng, level: int) -> _Generated:
    n_ops, ops, top, limit = {
        1: (2, "+-*", 12, 200),
        2: (3, "+-*/", 20, 2_000),
        3: (rng.between(4, 5), "+-*/-", 30, 20_000),
    }[level]

    def leaf() -> Node:
        if level == 3 and rng.chance(0.15):
            # A small power of a literal that may be negative: "(-3)^{2}" versus
            # "-3^{2}" is exactly the precedence point these problems test.
            base, exponent = rng.nonzero(2, 5), rng.between(2, 3)
            return Op("^", Num(Fraction(base)), Num(Fraction(exponent)))
        value = rng.between(1, top)
        return Num(Fraction(-value if level == 3 and rng.chance(0.2) else value))

    node = random_tree(rng, n_ops, ops, leaf, limit, exact_int=True)
    value = evaluate(node, limit)
    if level == 1 and value < 0:
        raise Retry
    latex, py = render(node)
    ask = rng.pick(["Evaluate ${}$.", "What is the value of ${}$?", "Compute ${}$."])
    return ask.format(latex), latex_rational(value), {"expression": py}


def _fractions(rng: Rng, level: int) -> _Generated:
    n_ops, ops, max_den = {1: (1, "+-", 6), 2: (2, "+-*/", 9), 3: (3, "+-*/", 12)}[level]

    def leaf() -> Node:
        den = rng.between(2, max_den)
        value = Fraction(rng.between(1, 2 * den - 1), den)
        if level == 3 and rng.chance(0.15):
            value = Fraction(rng.between(1, 5))
        return Num(-value if level == 3 and rng.chance(0.3) else value)

    node = random_tree(rng, n_ops, ops, leaf, 10_000, exact_int=False)
    value = evaluate(node, 10_000)
    if (level == 1 and value < 0) or value.denominator > 1_000:
        raise Retry
    latex, py = render(node)
    prompt = f"Compute ${latex}$. Express your answer as a fraction in lowest terms."
    return prompt, latex_rational(value), {"expression": py}


def _linear(rng: Rng, level: int) -> _Generated:
    if level == 1:
        x, a, b = rng.between(-10, 10), rng.between(2, 9), rng.between(-20, 20)
        lhs, lhs_py = poly([(a, "x"), (b, "")])
        rhs, rhs_py = str(a * x + b), str(a * x + b)
        solution = Fraction(x)
    elif level == 2:
        a, c = rng.nonzero(1, 9), rng.nonzero(1, 9)
        if a == c:
            raise Retry
        b, d = rng.between(-20, 20), rng.between(-20, 20)
        lhs, lhs_py = poly([(a, "x"), (b, "")])
        rhs, rhs_py = poly([(c, "x"), (d, "")])
        solution = Fraction(d - b, a - c)
    elif rng.chance(0.5):
        a, b, c, d, e, f = (
            rng.between(2, 9),
            rng.between(1, 9),
            rng.between(0, 20),
            rng.between(2, 9),
            rng.between(1, 9),
            rng.between(0, 20),
        )
        lhs = f"{a}(x - {b}) - {c}" if c else f"{a}(x - {b})"
        rhs = f"{d}({e} - x) + {f}" if f else f"{d}({e} - x)"
        lhs_py, rhs_py = f"{a}*(x - {b}) - {c}", f"{d}*({e} - x) + {f}"
        solution = Fraction(f + d * e + a * b + c, a + d)
    else:
        p, q = rng.between(2, 9), rng.between(2, 9)
        b, c, r = rng.between(1, 12), rng.between(1, 12), rng.between(1, 6)
        if p == q:
            raise Retry
        lhs, rhs = f"\\frac{{x + {b}}}{{{p}}}", f"\\frac{{x - {c}}}{{{q}}} + {r}"
        lhs_py, rhs_py = f"(x + {b})/{p}", f"(x - {c})/{q} + {r}"
        # (x + b)/p = (x - c)/q + r  <=>  x (q - p) = p q r - p c - q b
        solution = Fraction(p * q * r - p * c - q * b, q - p)
    prompt = rng.pick(
        ["Solve for $x$: ${}$.", "Find $x$ if ${}$.", "What value of $x$ satisfies ${}$?"]
    )
    return (
        prompt.format(f"{lhs} = {rhs}"),
        latex_rational(solution),
        {"equation": f"{lhs_py} = {rhs_py}"},
    )


def _quadratic(rng: Rng, level: int) -> _Generated:
    r1 = rng.between(-9, 9)
    r2 = r1 if rng.chance(0.15) else rng.between(-9, 9)
    a = 1 if level == 1 else rng.nonzero(1, 4) if level == 2 else rng.nonzero(1, 3)
    b, c = -a * (r1 + r2), a * r1 * r2
    if level < 3:
        lhs, lhs_py = poly([(a, "x^{2}"), (b, "x"), (c, "")])
        rhs, rhs_py = "0", "0"
    elif rng.chance(0.5):
        # (x - p)(x - q) = k with p + q = r1 + r2 and p q - k = r1 r2 (a = 1 here).
        p = rng.between(-9, 9)
        q = r1 + r2 - p
        k = p * q - r1 * r2
        first, second = (
            "x" if shift == 0 else f"\\left({poly([(1, 'x'), (-shift, '')])[0]}\\right)"
            for shift in (p, q)
        )
        lhs = f"{first}{second}"
        lhs_py, rhs, rhs_py = f"(x - ({p}))*(x - ({q}))", str(k), str(k)
    else:
        u, v = rng.between(-9, 9), rng.between(-20, 20)
        lhs, lhs_py = poly([(a, "x^{2}"), (u, "x"), (v, "")])
        rhs, rhs_py = poly([(u - b, "x"), (v - c, "")])
    roots = sorted({r1, r2})
    answer = ", ".join(str(r) for r in roots)
    prompt = (
        f"Find all real solutions of ${lhs} = {rhs}$. "
        "If there is more than one, list them separated by commas."
    )
    return prompt, answer, {"equation": f"{lhs_py} = {rhs_py}", "roots": tuple(roots)}


def _percent(rng: Rng, level: int) -> _Generated:
    if level == 1:
        pct = rng.pick([5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 80, 90, 120, 150])
        step = 100 // math.gcd(pct, 100)
        base = step * rng.between(1, 200 // step + 5)
        value = Fraction(pct * base, 100)
        prompt = f"What is ${pct}\\%$ of ${base}$?"
        spec: dict[str, Any] = {"template": "percent_of", "percent": pct, "base": base}
    elif level == 2 and rng.chance(0.5):
        pct, whole = rng.between(1, 200), rng.pick([20, 25, 40, 50, 80, 100, 200, 250, 400, 500])
        part = Fraction(pct * whole, 100)
        if part.denominator != 1:
            raise Retry
        value = Fraction(pct)
        prompt = f"What percent of ${whole}$ is ${part.numerator}$?"
        spec = {"template": "what_percent", "part": part.numerator, "whole": whole}
    elif level == 2:
        pct = rng.pick([10, 20, 25, 30, 40, 50, 60, 75])
        original = (100 // math.gcd(100 - pct, 100)) * rng.between(1, 30)
        paid = Fraction(original * (100 - pct), 100)
        value = Fraction(original)
        prompt = (
            f"After a ${pct}\\%$ discount, a jacket costs ${decimal_text(paid)}$ dollars. "
            "What was its original price, in dollars?"
        )
        spec = {"template": "undo_discount", "percent": pct, "paid": str(paid)}
    else:
        up, down = rng.between(5, 60), rng.between(5, 60)
        # Whole cents only (a price like 501.5088 invites rounding): the start price is
        # a multiple of what 100 * (100 + up) * (100 - down) / 10_000 leaves over.
        step = 100 // math.gcd(100, (100 + up) * (100 - down))
        start = step * rng.between(max(1, 20 // step), max(1, 500 // step))
        value = Fraction(start * (100 + up) * (100 - down), 10_000)
        prompt = (
            f"A price of ${start}$ dollars is increased by ${up}\\%$, and the new price is "
            f"then decreased by ${down}\\%$. What is the final price, in dollars?"
        )
        spec = {"template": "successive", "start": start, "up": up, "down": down}
    return prompt, decimal_text(value), spec


def _gcd_lcm(rng: Rng, level: int) -> _Generated:
    count = 3 if level == 3 else 2
    common = rng.between(2, 12 if level == 1 else 30)
    cap = {1: 9, 2: 25, 3: 12}[level]
    numbers = tuple(common * rng.between(1, cap) for _ in range(count))
    if len(set(numbers)) < count:
        raise Retry
    operation = "gcd" if level == 1 else rng.pick(["gcd", "lcm"])
    value = math.gcd(*numbers) if operation == "gcd" else math.lcm(*numbers)
    name = "greatest common divisor" if operation == "gcd" else "least common multiple"
    listed = (
        ", ".join(f"${n}$" for n in numbers[:-1])
        + f"{',' if count > 2 else ''} and ${numbers[-1]}$"
    )
    return (
        f"What is the {name} of {listed}?",
        str(value),
        {"operation": operation, "numbers": numbers},
    )


def _modular(rng: Rng, level: int) -> _Generated:
    if level == 1:
        base, exponent = rng.between(2, 9), rng.between(2, 5)
        prompt = rng.pick(["Compute ${}^{{{}}}$.", "What is ${}^{{{}}}$?"]).format(base, exponent)
        return prompt, str(base**exponent), {"base": base, "exponent": exponent, "modulus": None}
    base = rng.between(2, 20) if level == 2 else rng.between(2, 99)
    exponent = rng.between(10, 60) if level == 2 else rng.between(100, 10**6)
    modulus = rng.between(3, 13) if level == 2 else rng.between(7, 100)
    prompt = f"What is the remainder when ${base}^{{{exponent}}}$ is divided by ${modulus}$?"
    return (
        prompt,
        str(pow(base, exponent, modulus)),
        {"base": base, "exponent": exponent, "modulus": modulus},
    )


def _system(rng: Rng, level: int) -> _Generated:
    if level == 1:
        x, y = Fraction(rng.between(-10, 10)), Fraction(rng.between(-10, 10))
        a1, b1, a2, b2 = 1, 1, rng.pick([1, 2]), rng.pick([-1, -2])
    else:
        a1, b1, a2, b2 = (rng.nonzero(1, 9) for _ in range(4))
        x, y = Fraction(rng.between(-12, 12)), Fraction(rng.between(-12, 12))
    if a1 * b2 - a2 * b1 == 0:
        raise Retry
    c1, c2 = a1 * x + b1 * y, a2 * x + b2 * y
    if level == 3:
        # Perturb the right-hand sides: the solution becomes a genuine rational pair.
        c1, c2 = c1 + rng.between(1, 5), c2 - rng.between(0, 5)
        det = a1 * b2 - a2 * b1
        x, y = Fraction(c1 * b2 - c2 * b1, det), Fraction(a1 * c2 - a2 * c1, det)
    eqs = [poly([(a, "x"), (b, "y")]) for a, b in ((a1, b1), (a2, b2))]
    prompt = (
        f"Solve the system of equations ${eqs[0][0]} = {c1}$ and ${eqs[1][0]} = {c2}$. "
        "Give your answer as an ordered pair $(x, y)$."
    )
    answer = f"({latex_rational(x)}, {latex_rational(y)})"
    return (
        prompt,
        answer,
        {"equations": (f"{eqs[0][1]} = {c1}", f"{eqs[1][1]} = {c2}"), "solution": (str(x), str(y))},
    )


KINDS: dict[str, Callable[[Rng, int], _Generated]] = {
    "arithmetic": _arithmetic,
    "fractions": _fractions,
    "linear": _linear,
    "quadratic": _quadratic,
    "percent": _percent,
    "gcd_lcm": _gcd_lcm,
    "modular": _modular,
    "system": _system,
}
"""Generator per task kind; each takes a random stream and a difficulty in 1..3."""

_MAX_ATTEMPTS = 1_000


class ProceduralMathSource:
    """An indexable, seeded stream of generated math problems.

    Example:
        >>> source = ProceduralMathSource(seed=7, size=100, kinds=["linear"])
        >>> task = source[3]
        >>> task == source.get(task.task_id)
        True
        >>> task == ProceduralMathSource(seed=7, size=100, kinds=["linear"])[3]
        True

    Attributes:
        seed: Base seed; with the index it fixes every task.
        size: Number of tasks (indices ``0..size-1``); any positive int, nothing is stored.
        difficulties: Difficulty levels drawn from, uniformly.
        kinds: Task kinds drawn from, uniformly (names from :data:`KINDS`).
        name: ``"procedural"``, with the kinds and levels appended when not the defaults,
            so task ids from differently configured sources never coincide.
    """

    def __init__(
        self,
        seed: int = 0,
        size: int = 10_000,
        difficulty: int | Sequence[int] = DIFFICULTIES,
        kinds: Sequence[str] | None = None,
    ) -> None:
        """Configure the generator; nothing is generated until a task is indexed.

        Raises:
            ConfigError: If ``size`` is not positive, a difficulty is not in 1..3, or a
                kind is unknown (with a did-you-mean hint).
        """
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an int, got {type(seed).__name__}")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f"size must be a positive int, got {size!r}")
        levels = (difficulty,) if isinstance(difficulty, int) else tuple(difficulty)
        bad = [level for level in levels if level not in DIFFICULTIES]
        if not levels or bad:
            raise ConfigError(
                f"difficulty must be 1, 2 or 3 (or a sequence of them), got {difficulty!r}"
            )
        names = tuple(KINDS) if kinds is None else tuple(kinds)
        if isinstance(kinds, str):
            raise ConfigError(
                f"kinds must be a sequence of names, not the string {kinds!r}; use [{kinds!r}]"
            )
        for name in names:
            if name not in KINDS:
                raise ConfigError(
                    f"unknown task kind {name!r}; known kinds: {', '.join(KINDS)}"
                    f"{did_you_mean(name, KINDS)}"
                )
        if not names:
            raise ConfigError("kinds must name at least one kind")
        self.seed, self.size = seed, size
        self.difficulties: tuple[int, ...] = tuple(dict.fromkeys(levels))
        self.kinds: tuple[str, ...] = tuple(dict.fromkeys(names))
        suffix = []
        if self.kinds != tuple(KINDS):
            suffix.append(",".join(self.kinds))
        if self.difficulties != DIFFICULTIES:
            suffix.append("d=" + ",".join(map(str, self.difficulties)))
        self.name = "procedural" + (f"[{';'.join(suffix)}]" if suffix else "")

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> MathTask:
        position = check_index(index, self.size, self.name)
        rng = Rng(self.seed, position)
        kind = rng.pick(self.kinds)
        level = rng.pick(self.difficulties)
        for _ in range(_MAX_ATTEMPTS):
            try:
                prompt, answer, spec = KINDS[kind](rng, level)
            except Retry:
                continue
            return MathTask(
                task_id=f"{self.name}:{self.seed}:{position}",
                prompt=prompt,
                answer=answer,
                metadata={
                    "kind": kind,
                    "difficulty": level,
                    "seed": self.seed,
                    "index": position,
                    "spec": spec,
                },
            )
        raise RlvrGymError(  # pragma: no cover - every kind accepts most draws
            f"generator {kind!r} produced no usable problem in {_MAX_ATTEMPTS} draws "
            f"(seed={self.seed}, index={position}); this is a bug, please report it"
        )

    def __iter__(self) -> Iterator[MathTask]:
        return (self[i] for i in range(self.size))

    def get(self, task_id: str) -> MathTask:
        """Regenerate the task named ``task_id`` (``"{name}:{seed}:{index}"``).

        Raises:
            DataError: If the id belongs to another configuration or is out of range.
        """
        prefix, _, rest = task_id.rpartition(":")
        name, _, seed = prefix.rpartition(":")
        valid_index = rest.isdigit() and int(rest) < self.size
        if name == self.name and seed == str(self.seed) and valid_index:
            return self[int(rest)]
        examples = [f"{self.name}:{self.seed}:{i}" for i in range(min(self.size, 1_000))]
        if valid_index:
            examples.append(f"{self.name}:{self.seed}:{int(rest)}")
        raise unknown_task_error(task_id, self.name, examples)

    def __repr__(self) -> str:
        return (
            f"ProceduralMathSource(seed={self.seed}, size={self.size}, "
            f"difficulty={self.difficulties}, kinds={self.kinds})"
        )
