"""Restoring the Python types of JSON-decoded call inputs from a task's own asserts.

MBPP+ states its inputs as JSON, which has no tuples, sets or complex numbers: a tuple
argument arrives as a list, a complex one as a string (``'1j'``), and references that
need the real type raise or compute something else. The task's asserts call the function
with literal arguments of the right types: :func:`infer_arg_shapes` reads each argument's
shape off every such call (``list[tuple[int|str]]``: a list of tuples) and
:func:`convert_inputs` rebuilds JSON inputs to it, leaving alone whatever the asserts
disagree on or do not show.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from rlvr_gym.rewards.code._asserts import NOT_LITERAL, literal_value, parse

__all__ = [
    "CONFLICT",
    "ArgShape",
    "Conversion",
    "MapShape",
    "SeqShape",
    "convert_inputs",
    "describe_shape",
    "infer_arg_shapes",
    "merge_shapes",
    "shape_of",
]

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
            ok, value = literal_value(arg)
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
    except NOT_LITERAL:
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
