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

The same literal arguments also say what *type* each argument has, which datasets that
state inputs as JSON lose (MBPP+: tuples and sets arrive as lists, complex numbers as
strings). :func:`infer_arg_shapes` reads each argument's shape off every call in the
asserts (``list[tuple[int|str]]``: a list of tuples) and :func:`convert_inputs` rebuilds
JSON inputs to it, leaving alone whatever the asserts disagree on or do not show.
"""

from __future__ import annotations

import ast
import builtins
import operator
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rlvr_gym.rewards.code.tasks import CallCase

__all__ = [
    "CONFLICT",
    "ArgShape",
    "CheckSplit",
    "Conversion",
    "MapShape",
    "SeqShape",
    "convert_inputs",
    "describe_shape",
    "infer_arg_shapes",
    "infer_entry_point",
    "literal_case",
    "merge_shapes",
    "missing_imports",
    "parse",
    "shape_of",
    "split_asserts",
    "split_check",
]

_NOT_LITERAL = (ValueError, TypeError, SyntaxError, MemoryError, RecursionError)
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
    except _NOT_LITERAL as exc:
        raise _NotLiteral from exc


def _literal(node: ast.expr) -> tuple[bool, Any]:
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
        ok, value = _literal(arg)
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
        ok, expected = _literal(other)
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
    ok, tol = _literal(bound)
    if not ok or isinstance(tol, bool) or not isinstance(tol, (int, float)) or tol < 0:
        return None
    sub = diff.args[0]
    for call, other in ((sub.left, sub.right), (sub.right, sub.left)):
        args = _literal_args(call, func)
        if args is None:
            continue
        ok, expected = _literal(other)
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
        ok, value = _literal(node.test)
        return ok and bool(value)
    return False


def _is_trivial_module_level(node: ast.stmt, check: ast.FunctionDef) -> bool:
    if node is check or _is_trivial(node):
        return True
    if isinstance(node, ast.Assign):
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        return names == ["METADATA"] and len(node.targets) == 1 and _literal(node.value)[0]
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


# --- argument shapes: restoring the Python types of JSON-decoded inputs ------------------
# MBPP+ states its inputs as JSON, which has no tuples, sets or complex numbers: a tuple
# argument arrives as a list, a complex one as a string ('1j'), and references that need
# the real type raise or compute something else. The task's own asserts call the
# function with literal arguments of the right types, so each argument's shape is read
# off them and JSON values are rebuilt to match.


class _Conflict:
    """Marks a part of a shape on which the asserts disagree (a tuple here, a list there)."""

    def __repr__(self) -> str:
        return "CONFLICT"


CONFLICT = _Conflict()
_NUMBERS = frozenset({"int", "float", "complex"})


@dataclass(frozen=True)
class SeqShape:
    """How a JSON array at some position is rebuilt.

    Attributes:
        kind: ``list``, ``tuple``, ``set`` or ``frozenset``.
        item: the shape of its elements (:class:`ArgShape` with nothing known when the
            asserts only show empty containers there: elements are then left alone).
        nested: the asserts nest containers of this kind irregularly (``(4, (7, (2,)))``):
            a tree of them, so an array at any depth below is rebuilt as this same shape,
            even deeper than the literals went. ``item.seq`` is then ``None``.
    """

    kind: str
    item: ArgShape
    nested: bool = False


@dataclass(frozen=True)
class MapShape:
    """How a JSON object is rebuilt: its keys' and values' shapes."""

    key: ArgShape
    value: ArgShape


@dataclass(frozen=True)
class ArgShape:
    """What the asserts show at one position, one alternative per kind of JSON value.

    JSON arrays are rebuilt as ``seq``, JSON objects as ``mapping``; a JSON string is
    parsed as a number when ``scalars`` has numbers but never ``str`` (``'1j'`` where
    the asserts pass ``1j``). ``None`` means no assert shows that kind of value there
    (the value is left as decoded); :data:`CONFLICT` means they disagree (likewise).

    Attributes:
        seq: the shape of arrays, ``None`` or :data:`CONFLICT`.
        mapping: the shape of objects, ``None`` or :data:`CONFLICT`.
        scalars: the type names of the scalars seen (``int``, ``str``, ``NoneType``...).
    """

    seq: SeqShape | _Conflict | None = None
    mapping: MapShape | _Conflict | None = None
    scalars: frozenset[str] = frozenset()


_SEQ_KINDS: dict[type, str] = {list: "list", tuple: "tuple", set: "set", frozenset: "frozenset"}


def shape_of(value: Any) -> ArgShape:
    """The shape of one literal value (an assert's argument)."""
    kind = _SEQ_KINDS.get(type(value))
    if kind is not None:
        item = ArgShape()
        for element in value:
            item = merge_shapes(item, shape_of(element))
        return ArgShape(seq=_seq(kind, item))
    if type(value) is dict:
        key, val = ArgShape(), ArgShape()
        for k, v in value.items():
            key, val = merge_shapes(key, shape_of(k)), merge_shapes(val, shape_of(v))
        return ArgShape(mapping=MapShape(key, val))
    return ArgShape(scalars=frozenset({type(value).__name__}))


def _tree_items(seq: SeqShape) -> ArgShape | None:
    """The merged element shape of every level of a tree of ``seq.kind`` containers.

    ``None`` if some level holds containers of another kind (not one tree).
    """
    if seq.nested:
        return seq.item
    sub = seq.item.seq
    if sub is None:
        return seq.item
    if isinstance(sub, SeqShape) and sub.kind == seq.kind:
        deeper = _tree_items(sub)
        if deeper is not None:
            return merge_shapes(replace(seq.item, seq=None), deeper)
    return None


def _seq(kind: str, item: ArgShape) -> SeqShape:
    """A sequence shape, folded into a tree when containers of ``kind`` nest irregularly.

    Irregular means scalars and containers of the same kind side by side (``(4, (7, 6),
    8)``): then the depth of the literals is an accident of the example, and deeper
    inputs (MBPP+ nests ten levels) are the same tree. A regular nesting (a matrix
    ``[[1, 2], [3, 4]]``) keeps its exact depth.
    """
    inner = item.seq
    if isinstance(inner, SeqShape) and inner.kind == kind and item.scalars:
        flat = _tree_items(SeqShape(kind, item))
        if flat is not None:
            return SeqShape(kind, flat, nested=True)
    return SeqShape(kind, item)


def _merge_seq(
    a: SeqShape | _Conflict | None, b: SeqShape | _Conflict | None
) -> SeqShape | _Conflict | None:
    if a is None or b is None:
        return a if b is None else b
    if isinstance(a, _Conflict) or isinstance(b, _Conflict) or a.kind != b.kind:
        return CONFLICT
    if a.nested or b.nested:
        items_a, items_b = _tree_items(a), _tree_items(b)
        if items_a is None or items_b is None:
            return CONFLICT
        return SeqShape(a.kind, merge_shapes(items_a, items_b), nested=True)
    return _seq(a.kind, merge_shapes(a.item, b.item))


def _merge_map(
    a: MapShape | _Conflict | None, b: MapShape | _Conflict | None
) -> MapShape | _Conflict | None:
    if a is None or b is None:
        return a if b is None else b
    if isinstance(a, _Conflict) or isinstance(b, _Conflict):
        return CONFLICT
    return MapShape(merge_shapes(a.key, b.key), merge_shapes(a.value, b.value))


def merge_shapes(a: ArgShape, b: ArgShape) -> ArgShape:
    """The shape covering both: alternatives united, disagreements marked :data:`CONFLICT`."""
    return ArgShape(
        seq=_merge_seq(a.seq, b.seq),
        mapping=_merge_map(a.mapping, b.mapping),
        scalars=a.scalars | b.scalars,
    )


def infer_arg_shapes(source: str, func: str) -> tuple[ArgShape, ...]:
    """The shape of each positional argument of ``func`` over every call in ``source``.

    Every call ``func(...)`` anywhere in ``source`` counts (also inside ``set(...)`` or
    ``math.isclose(...)``); an argument that is not a literal, a keyword argument, and
    anything after a ``*args`` tell nothing. Positions no call shows get an empty shape.

    Raises:
        SyntaxError: ``source`` is not valid Python.
    """
    shapes: list[ArgShape] = []
    for node in ast.walk(parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id != func:
            continue
        for index, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                break
            ok, value = _literal(arg)
            if not ok:
                continue
            while len(shapes) <= index:
                shapes.append(ArgShape())
            shapes[index] = merge_shapes(shapes[index], shape_of(value))
    return tuple(shapes)


def _number(text: str) -> int | float | complex | None:
    """The number a string spells as a Python literal (``'2'``, ``'(-0-1j)'``), else None."""
    try:
        value = ast.literal_eval(text.strip())
    except _NOT_LITERAL:
        return None
    return value if type(value) in (int, float, complex) else None


def _wants_number(shape: ArgShape) -> bool:
    """Numbers but never a string at this position: a string there may spell a number."""
    return "str" not in shape.scalars and bool(shape.scalars & _NUMBERS)


@dataclass(frozen=True)
class Conversion:
    """Inputs rebuilt to their argument shapes (:func:`convert_inputs`).

    Attributes:
        inputs: the argument tuples, rebuilt; an unchanged value is the same object.
        applied: per positional argument, the shape it was rebuilt to
            (:func:`describe_shape`) if that changed it in at least one input, else
            ``None``.
        failed: how many arguments were kept as decoded because rebuilding raised (a
            set would hold an unhashable value).
    """

    inputs: tuple[tuple[Any, ...], ...]
    applied: tuple[str | None, ...]
    failed: int


class _Rebuilder:
    """Rebuilds JSON values to shapes; a first pass finds where strings spell numbers.

    A string becomes a number only where the asserts show numbers and never a string,
    and where every string the task's inputs hold at that position spells one: MBPP+
    stores complex numbers as strings (``'1j'``), but its generated inputs also put
    words where the asserts had numbers (``('a', 'j')`` in a tuple of ints), and those
    must stay words. Positions are shape nodes, shared by all inputs of a task.
    """

    def __init__(self) -> None:
        # id(shape) -> every string there spells a number. By identity, not equality:
        # two arguments of equal shape are still two positions.
        self._seen: dict[int, bool] = {}

    def scan(self, value: Any, shape: ArgShape, tree: SeqShape | None = None) -> None:
        if isinstance(value, list):
            seq = shape.seq if shape.seq is not None else tree
            if isinstance(seq, SeqShape):
                for item in value:
                    self.scan(item, seq.item, seq if seq.nested else None)
        elif isinstance(value, dict):
            if isinstance(shape.mapping, MapShape):
                for key, item in value.items():
                    self.scan(key, shape.mapping.key)
                    self.scan(item, shape.mapping.value)
        elif isinstance(value, str) and _wants_number(shape):
            numeric = _number(value) is not None
            self._seen[id(shape)] = self._seen.get(id(shape), True) and numeric

    def rebuild(self, value: Any, shape: ArgShape, tree: SeqShape | None = None) -> Any:
        """``value`` rebuilt to ``shape``; the same object if nothing changes.

        Raises:
            TypeError: a set would hold an unhashable element.
        """
        if isinstance(value, list):
            seq = shape.seq if shape.seq is not None else tree
            if not isinstance(seq, SeqShape):
                return value
            inner = seq if seq.nested else None
            items = [self.rebuild(item, seq.item, inner) for item in value]
            if seq.kind == "list":
                return value if all(a is b for a, b in zip(items, value)) else items
            return {"tuple": tuple, "set": set, "frozenset": frozenset}[seq.kind](items)
        if isinstance(value, dict):
            mapping = shape.mapping
            if not isinstance(mapping, MapShape):
                return value
            pairs = [
                (self.rebuild(k, mapping.key), self.rebuild(v, mapping.value))
                for k, v in value.items()
            ]
            if all(nk is k and nv is v for (nk, nv), (k, v) in zip(pairs, value.items())):
                return value
            return dict(pairs)
        if isinstance(value, str) and self._seen.get(id(shape), False):
            number = _number(value)
            if number is None:
                return value
            numbers = shape.scalars & _NUMBERS
            if numbers == {"complex"}:
                return complex(number)
            if numbers == {"float"} and isinstance(number, int):
                return float(number)
            return number
        return value


def convert_inputs(inputs: Sequence[Sequence[Any]], shapes: Sequence[ArgShape]) -> Conversion:
    """JSON-decoded argument lists rebuilt to the shapes the asserts show.

    Lists become tuples, sets or stay lists, recursively, as ``shapes`` say; dicts get
    their keys and values rebuilt; strings become numbers where :class:`_Rebuilder`
    allows. Where a shape says nothing (no literal, asserts disagreeing, only empty
    containers) the value is kept as decoded. Arguments beyond ``shapes`` are kept.
    """
    rebuilder = _Rebuilder()
    for args in inputs:
        for value, shape in zip(args, shapes):
            rebuilder.scan(value, shape)
    arity = max((len(args) for args in inputs), default=0)
    changed = [False] * arity
    failed = 0
    rebuilt: list[tuple[Any, ...]] = []
    for args in inputs:
        new = list(args)
        for index, (value, shape) in enumerate(zip(args, shapes)):
            try:
                new[index] = rebuilder.rebuild(value, shape)
            except TypeError:
                failed += 1
            changed[index] = changed[index] or new[index] is not value
        rebuilt.append(tuple(new))
    applied = tuple(
        describe_shape(shapes[index]) if changed[index] else None for index in range(arity)
    )
    return Conversion(tuple(rebuilt), applied, failed)


def describe_shape(shape: ArgShape) -> str:
    """A type-like rendering, e.g. ``list[tuple[int|str]]``, ``dict[str, tuple[int]]``.

    Containers show their element shape in brackets (none when only empty ones were
    seen), a ``*`` marks a tree (``tuple*[int]``: tuples nested to any depth, holding
    ints), alternatives are joined by ``|`` (``tuple[int]|int``), scalars are type
    names, ``?`` is a disagreement and ``-`` means nothing is known.
    """
    parts: list[str] = []
    if isinstance(shape.seq, _Conflict):
        parts.append("?")
    elif shape.seq is not None:
        inner = describe_shape(shape.seq.item)
        star = "*" if shape.seq.nested else ""
        parts.append(f"{shape.seq.kind}{star}" + ("" if inner == "-" else f"[{inner}]"))
    if isinstance(shape.mapping, _Conflict):
        parts.append("?")
    elif shape.mapping is not None:
        key, value = describe_shape(shape.mapping.key), describe_shape(shape.mapping.value)
        parts.append("dict" if key == value == "-" else f"dict[{key}, {value}]")
    parts.extend(sorted(shape.scalars))
    return "|".join(parts) or "-"


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
