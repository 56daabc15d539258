"""Turning ``assert`` tests into :class:`CallCase` values, with ``ast``, never ``eval``.

Why decompose at all: an opaque test (HumanEval's ``check``, an MBPP ``assert`` line)
stops at its first failure and only says pass/fail, and its expected values sit in code
the judge must run next to the model's program. An assert of the form
``f(<literal args>) == <literal>`` says everything as data: the judge can call ``f`` in
the sandbox, compare on the trusted side, and give one unit of partial credit per case.

Only shapes whose meaning is unambiguous are decomposed; everything else stays test code:

* ``assert f(<lits>) == <lit>`` (or ``<lit> == f(<lits>)``), with or without a message;
* ``assert abs(f(<lits>) - <lit>) < <lit>`` (or ``<=``; operands of ``-`` either way),
  which becomes a case with ``atol``.

A literal is anything :func:`ast.literal_eval` accepts (numbers including negative ones,
strings, bytes, tuples, lists, dicts, sets, ``None``, booleans), plus bounded arithmetic
on such values (``3 * 19``, ``2.0 / 3.0``, ``'ab' + 'c'``) folded with CPython's own
operators. Keyword arguments and starred arguments are not decomposed, because
:class:`CallCase` is positional.

The same literal arguments also say what *type* each argument has, which JSON inputs
lose: see :mod:`rlvr_gym.rewards.code._shapes`.
"""

from __future__ import annotations

import ast
import builtins
import operator
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rlvr_gym.rewards.code.tasks import CallCase

__all__ = [
    "CheckSplit",
    "infer_entry_point",
    "literal_case",
    "missing_imports",
    "parse",
    "split_asserts",
    "split_check",
]

NOT_LITERAL = (ValueError, TypeError, SyntaxError, MemoryError, RecursionError)
_BUILTINS = frozenset(dir(builtins))


def parse(source: str) -> ast.Module:
    """:func:`ast.parse`, silent about the source's own escape-sequence warnings.

    Why: published tests contain strings like ``"\\w"`` written without ``r``; Python
    warns about them at every parse, which would blame our loader for the dataset's style.

    Raises:
        SyntaxError: ``source`` is not valid Python.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return ast.parse(source)


class _NotLiteral(Exception):
    """An expression outside the small constant language :func:`_fold` accepts."""


_FOLD_OPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_MAX_FOLDED_LEN = 10_000
_MAX_FOLDED_BITS = 4096


def _fold_binop(node: ast.BinOp) -> Any:
    fn = _FOLD_OPS.get(type(node.op))
    if fn is None:
        raise _NotLiteral
    left, right = _fold(node.left), _fold(node.right)
    numbers = (int, float)
    if isinstance(node.op, ast.Pow) and not (
        isinstance(left, numbers) and isinstance(right, numbers) and abs(right) <= 64
    ):
        raise _NotLiteral  # bounded so a trusted-but-odd file cannot hang the loader
    if isinstance(node.op, ast.Mult) and not (
        isinstance(left, numbers) and isinstance(right, numbers)
    ):
        count = right if isinstance(left, (str, bytes, tuple, list)) else left
        if not isinstance(count, int) or count > _MAX_FOLDED_LEN:
            raise _NotLiteral
    try:
        value = fn(left, right)
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise _NotLiteral from exc
    if isinstance(value, int) and value.bit_length() > _MAX_FOLDED_BITS:
        raise _NotLiteral
    if isinstance(value, (str, bytes, tuple, list)) and len(value) > _MAX_FOLDED_LEN:
        raise _NotLiteral
    return value


def _fold(node: ast.expr) -> Any:
    """Evaluate literals plus arithmetic on them (``3 * 19``, ``2.0 / 3.0``, ``'ab' + 'c'``).

    Why more than :func:`ast.literal_eval`: HumanEval writes expected values as
    ``candidate(3 * 19) == [3, 19]``; folding such constants lets those asserts become
    data. The operators are CPython's own, so the value is the one the test would see.
    """
    if isinstance(node, ast.BinOp):
        return _fold_binop(node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _fold(node.operand)
        if isinstance(value, bool) or not isinstance(value, (int, float, complex)):
            raise _NotLiteral
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = [_fold(item) for item in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(items)
        try:
            return items if isinstance(node, ast.List) else set(items)
        except TypeError as exc:
            raise _NotLiteral from exc
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise _NotLiteral  # ``{**other}``
        try:
            return {_fold(k): _fold(v) for k, v in zip(node.keys, node.values) if k is not None}
        except TypeError as exc:
            raise _NotLiteral from exc
    try:
        return ast.literal_eval(node)
    except NOT_LITERAL as exc:
        raise _NotLiteral from exc


def literal_value(node: ast.expr) -> tuple[bool, Any]:
    """``(True, value)`` if ``node`` is a (folded) literal, else ``(False, None)``."""
    try:
        return True, _fold(node)
    except (_NotLiteral, RecursionError):
        return False, None


def _literal_args(call: ast.expr, func: str) -> tuple[Any, ...] | None:
    """The literal positional arguments of ``call`` if it is ``func(<literals>)``."""
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == func
        and not call.keywords
    ):
        return None
    values = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            return None
        ok, value = literal_value(arg)
        if not ok:
            return None
        values.append(value)
    return tuple(values)


def _equality_case(test: ast.Compare, func: str, source: str) -> CallCase | None:
    """``f(<lits>) == <lit>`` in either order."""
    left, right = test.left, test.comparators[0]
    for call, other in ((left, right), (right, left)):
        args = _literal_args(call, func)
        if args is None:
            continue
        ok, expected = literal_value(other)
        if ok:
            return CallCase(args=args, expected=expected, source=source)
    return None


def _tolerance_case(test: ast.Compare, func: str, source: str) -> CallCase | None:
    """``abs(f(<lits>) - <lit>) < <tol>`` (or ``<=``), ``-`` operands in either order."""
    diff, bound = test.left, test.comparators[0]
    if not (
        isinstance(diff, ast.Call)
        and isinstance(diff.func, ast.Name)
        and diff.func.id == "abs"
        and len(diff.args) == 1
        and not diff.keywords
        and isinstance(diff.args[0], ast.BinOp)
        and isinstance(diff.args[0].op, ast.Sub)
    ):
        return None
    ok, tol = literal_value(bound)
    if not ok or isinstance(tol, bool) or not isinstance(tol, (int, float)) or tol < 0:
        return None
    sub = diff.args[0]
    for call, other in ((sub.left, sub.right), (sub.right, sub.left)):
        args = _literal_args(call, func)
        if args is None:
            continue
        ok, expected = literal_value(other)
        if ok:
            return CallCase(args=args, expected=expected, atol=float(tol), source=source)
    return None


def literal_case(node: ast.stmt, func: str, source: str) -> CallCase | None:
    """The :class:`CallCase` an ``assert`` statement states, or ``None`` if it is opaque.

    Args:
        node: a parsed statement; anything but ``ast.Assert`` gives ``None``.
        func: the name the assert calls (``candidate`` in HumanEval, the function's own
            name in MBPP).
        source: the statement's text, kept as the case's ``source`` for feedback.
    """
    if not isinstance(node, ast.Assert) or not isinstance(node.test, ast.Compare):
        return None
    test = node.test
    if len(test.ops) != 1:
        return None
    op = test.ops[0]
    if isinstance(op, ast.Eq):
        return _equality_case(test, func, source)
    if isinstance(op, (ast.Lt, ast.LtE)):
        return _tolerance_case(test, func, source)
    return None


def split_asserts(lines: Iterable[str], func: str) -> tuple[tuple[CallCase, ...], list[str]]:
    """Split MBPP-style one-line asserts into decomposed cases and lines kept as code.

    Raises:
        SyntaxError: a line is not valid Python (the caller adds file and line).
    """
    cases: list[CallCase] = []
    kept: list[str] = []
    for line in lines:
        module = parse(line)
        case = None
        if len(module.body) == 1:
            case = literal_case(module.body[0], func, line.strip())
        if case is None:
            kept.append(line)
        else:
            cases.append(case)
    return tuple(cases), kept


def _called_names(source: str) -> set[str]:
    return {
        node.func.id
        for node in ast.walk(parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


def _defined_functions(source: str) -> set[str]:
    try:
        module = parse(source)
    except SyntaxError:
        return set()
    return {
        node.name
        for node in module.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def infer_entry_point(tests: Sequence[str], code: str) -> str:
    """The function every assert in ``tests`` calls: MBPP's implicit entry point.

    Why not just the reference's first ``def``: references define helpers too. The name
    is the one called in every assert; a name the reference defines wins over builtins
    (MBPP/126 defines its own ``sum``), and otherwise builtins (``set``, ``abs``) do not
    count.

    Raises:
        SyntaxError: a test is not valid Python.
        ValueError: no name, or more than one, is called by every test.
    """
    if not tests:
        raise ValueError("there are no tests to find the function name in")
    common = set.intersection(*(_called_names(test) for test in tests))
    names = (common & _defined_functions(code)) or (common - _BUILTINS)
    if len(names) != 1:
        found = ", ".join(sorted(names)) or "none"
        raise ValueError(
            f"cannot tell the function under test: names called by every assert: {found}"
        )
    return names.pop()


@dataclass(frozen=True)
class CheckSplit:
    """A HumanEval ``test`` field split into data cases and what still has to run.

    Attributes:
        cases: the asserts lifted out of ``check``, in order.
        test_code: the rest, ending in ``check(<entry_point>)``; ``""`` when nothing
            non-trivial remains.
    """

    cases: tuple[CallCase, ...]
    test_code: str


def _is_trivial(node: ast.stmt) -> bool:
    """A statement that can neither fail nor test anything (docstring, pass, import)."""
    if isinstance(node, (ast.Pass, ast.Import, ast.ImportFrom)):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Name):
        return node.value.id in _BUILTINS  # e.g. a stray ``print`` (HumanEval/129)
    if isinstance(node, ast.Assert):
        ok, value = literal_value(node.test)
        return ok and bool(value)
    return False


def _is_trivial_module_level(node: ast.stmt, check: ast.FunctionDef) -> bool:
    if node is check or _is_trivial(node):
        return True
    if isinstance(node, ast.Assign):
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        return names == ["METADATA"] and len(node.targets) == 1 and literal_value(node.value)[0]
    # A helper only ``check`` could call is dead once ``check`` tests nothing.
    return isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.decorator_list


def _find_check(module: ast.Module) -> ast.FunctionDef | None:
    for node in module.body:
        if isinstance(node, ast.FunctionDef) and node.name == "check":
            return node
    return None


def split_check(test: str, entry_point: str) -> CheckSplit:
    """Lift ``assert candidate(<lits>) == <lit>`` statements out of HumanEval's ``check``.

    Only top-level statements of ``check``'s body are lifted: an assert inside a loop or
    after a computed value depends on state the data form cannot carry. When nothing is
    lifted the original text is kept byte for byte; otherwise the rest is re-rendered
    with :func:`ast.unparse` (comments are lost, behaviour is not).

    Args:
        test: the dataset's ``test`` field (defines ``check(candidate)``).
        entry_point: the function the task asks for; the returned code ends by calling
            ``check`` on it.

    Raises:
        SyntaxError: ``test`` is not valid Python.
    """
    call = f"\ncheck({entry_point})\n"
    module = parse(test)
    check = _find_check(module)
    if check is None or len(check.args.args) != 1 or check.args.vararg or check.args.kwarg:
        return CheckSplit((), test + call)
    param = check.args.args[0].arg
    cases: list[CallCase] = []
    kept: list[ast.stmt] = []
    for node in check.body:
        source = ast.get_source_segment(test, node) or ast.unparse(node)
        case = literal_case(node, param, source)
        if case is None:
            kept.append(node)
        else:
            cases.append(case)
    if not cases:
        return CheckSplit((), test + call)
    check.body = kept or [ast.Pass()]
    if all(_is_trivial(node) for node in kept) and all(
        _is_trivial_module_level(node, check) for node in module.body
    ):
        return CheckSplit(tuple(cases), "")
    return CheckSplit(tuple(cases), ast.unparse(ast.fix_missing_locations(module)) + "\n" + call)


def _bound_by_imports(module: ast.Module) -> dict[str, str]:
    """Name -> the import statement binding it, for ``module``'s top-level imports."""
    bound: dict[str, str] = {}
    for node in module.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                bound[name] = ast.unparse(ast.Import(names=[alias]))
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for alias in node.names:
                if alias.name != "*":
                    statement = ast.ImportFrom(module=node.module, names=[alias], level=0)
                    bound[alias.asname or alias.name] = ast.unparse(statement)
    return bound


def missing_imports(tests: Iterable[str], code: str, setup: str) -> list[str]:
    """Import lines of ``code`` (top level) binding names ``tests`` use but ``setup`` lacks.

    Why: MBPP's own harness ran the asserts in the solution's namespace, so an assert
    may use a module only the solution imports (Mbpp/596: ``sys.getsizeof``, with empty
    ``test_imports``); here tests run apart from the program, after ``setup``. One line
    per name, in the order ``code`` imports them; an unparsable ``code`` gives none.

    Raises:
        SyntaxError: a test or ``setup`` is not valid Python.
    """
    used = {
        node.id
        for test in tests
        for node in ast.walk(parse(test))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    have = _bound_by_imports(parse(setup))
    try:
        offered = _bound_by_imports(parse(code))
    except SyntaxError:
        return []
    lines: list[str] = []
    for name, line in offered.items():
        if name in used and name not in have and line not in lines:
            lines.append(line)
    return lines
