"""Wire format between the call judge's processes: plain values as tagged JSON, capped.

Why a codec of its own: the candidate process (the model's code) answers with values the
trusted side must compare, and no object it made may cross over - only data. JSON
scalars carry None, bools, strs, finite floats and small ints; every JSON array is tagged
by its first element (containers, big ints, nan/inf, bytes, complex). Decoding checks
types exactly and caps size, depth and element count, so a hostile reply costs a clear
error, never unbounded memory or a lying object.

Stdlib only, Python >= 3.9, no ``rlvr_gym`` import: the file is shipped into the sandbox
as ``rlvr_wire.py`` beside the harness, and the host imports the same module, so both
sides share one format.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import math
import re
from collections import deque
from collections.abc import Callable, ItemsView, Iterator, KeysView, ValuesView
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_MESSAGE_BYTES", "CodecError", "decode", "dumps", "encode", "loads"]

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 100
MAX_NODES = 1_000_000
MAX_HEX_DIGITS = 100_000
_INT_LIMIT = 2**63  # bigger ints travel as hex: JSON readers choke on huge literals
_HEX_RE = re.compile(rf"-?[0-9a-f]{{1,{MAX_HEX_DIGITS}}}")
_SEQ_TAGS: dict[type, str] = {list: "l", tuple: "t", set: "s", frozenset: "fs"}
_SEQ_TYPES: dict[str, Callable[[list[Any]], Any]] = {tag: t for t, tag in _SEQ_TAGS.items()}
_PLAIN = (bool, int, float, complex, str, bytes, bytearray, list, tuple, set, frozenset, dict)
_ITERABLES = (Iterator, range, KeysView, ValuesView, ItemsView, deque)


class CodecError(ValueError):
    """A value cannot be encoded as plain data, or a message is not a valid encoding."""


# --- codec: tagged JSON for plain values -------------------------------------------------
# None, bools, strs, finite floats and ints below 2**63 are JSON scalars. Every JSON array
# is tagged by its first element: l/t/s/fs/d containers, i (hex int), f (nan/inf),
# b/ba (base64 bytes/bytearray), c (complex). JSON objects only frame messages.


def encode(value: Any, *, coerce: bool = False, max_depth: int = MAX_DEPTH) -> Any:
    """Encode plain data as tagged JSON-ready values, checking types exactly.

    Args:
        value: the value; only builtin plain types unless ``coerce``.
        coerce: also accept what a candidate may legitimately return: subclasses of
            builtins (converted to the base type), iterators, ranges, dict views and
            deques (drained into lists), numpy values (via ``tolist``).
        max_depth: the deepest container nesting accepted.

    Raises:
        CodecError: an unsupported type, too deep, or more than ``MAX_NODES`` elements.
    """
    return _encode(value, 0, coerce, max_depth, [MAX_NODES])


def _float(x: float) -> Any:
    return x if math.isfinite(x) else ["f", repr(x)]


def _encode(x: Any, depth: int, coerce: bool, max_depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise CodecError(f"value has more than {MAX_NODES} elements")
    kind = type(x)
    if x is None or kind is bool or kind is str:
        return x
    if kind is int:
        return x if -_INT_LIMIT < x < _INT_LIMIT else ["i", format(x, "x")]
    if kind is float:
        return _float(x)
    if kind is bytes or kind is bytearray:
        return ["b" if kind is bytes else "ba", base64.b64encode(x).decode("ascii")]
    if kind is complex:
        return ["c", _float(x.real), _float(x.imag)]
    if depth >= max_depth:
        raise CodecError(f"value is nested deeper than {max_depth} levels")
    tag = _SEQ_TAGS.get(kind)
    if tag is not None:
        return [tag, *(_encode(item, depth + 1, coerce, max_depth, budget) for item in x)]
    if kind is dict:
        out: list[Any] = ["d"]
        for key, item in x.items():
            out.append(_encode(key, depth + 1, coerce, max_depth, budget))
            out.append(_encode(item, depth + 1, coerce, max_depth, budget))
        return out
    if not coerce:
        raise CodecError(f"unsupported type {kind.__name__}: only plain data can be exchanged")
    plain = _coerce(x)
    if type(plain) not in _PLAIN:
        raise CodecError(f"unsupported return type {kind.__name__}")
    return _encode(plain, depth, True, max_depth, budget)


def _coerce(x: Any) -> Any:
    """A builtin value for a candidate's object (runs in C only, so it may call C's code)."""
    exact: tuple[tuple[type, Callable[[Any], Any]], ...] = (
        (int, int.__int__),  # the int value, not what an overridden __int__ says
        (float, float.__float__),
        (str, str.__str__),
        *((cls, cls) for cls in (complex, bytes, bytearray, list, tuple, set, frozenset, dict)),
    )
    for base, convert in exact:
        if isinstance(x, base):
            return convert(x)
    if isinstance(x, _ITERABLES):
        items = list(itertools.islice(x, MAX_NODES + 1))
        if len(items) > MAX_NODES:
            raise CodecError(f"returned iterator yields more than {MAX_NODES} items")
        return items
    if type(x).__module__.split(".")[0] == "numpy" and hasattr(x, "tolist"):
        return x.tolist()
    raise CodecError(f"unsupported return type {type(x).__name__}; return plain data")


def decode(node: Any, *, max_depth: int = MAX_DEPTH) -> Any:
    """Rebuild plain Python values from :func:`encode`'s output, trusting nothing.

    Raises:
        CodecError: an unknown tag, a bad payload, an out-of-range literal, too deep or
            more than ``MAX_NODES`` elements.
    """
    return _decode(node, 0, max_depth, [MAX_NODES])


def _decode(x: Any, depth: int, max_depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise CodecError(f"value has more than {MAX_NODES} elements")
    kind = type(x)
    if x is None or kind is bool or kind is str:
        return x
    if kind is int and -_INT_LIMIT < x < _INT_LIMIT:
        return x
    if kind is float and math.isfinite(x):
        return x
    if kind is not list or not x or type(x[0]) is not str:
        raise CodecError(f"expected a plain scalar or a tagged array, got {kind.__name__}")
    if depth >= max_depth:
        raise CodecError(f"value is nested deeper than {max_depth} levels")
    tag, items = x[0], x[1:]
    if tag in _SEQ_TYPES:
        values = [_decode(item, depth + 1, max_depth, budget) for item in items]
        try:
            return _SEQ_TYPES[tag](values)
        except TypeError:
            raise CodecError("unhashable element in a set") from None
    if tag == "d":
        if len(items) % 2:
            raise CodecError("a dict needs key/value pairs")
        out: dict[Any, Any] = {}
        for i in range(0, len(items), 2):
            key = _decode(items[i], depth + 1, max_depth, budget)
            value = _decode(items[i + 1], depth + 1, max_depth, budget)
            try:
                if key in out:
                    raise CodecError("duplicate dict key")
                out[key] = value
            except TypeError:
                raise CodecError("unhashable dict key") from None
        return out
    if tag == "c" and len(items) == 2:
        parts = [_decode(item, depth + 1, max_depth, budget) for item in items]
        if all(type(p) is float for p in parts):
            return complex(parts[0], parts[1])
    text = items[0] if len(items) == 1 and type(items[0]) is str else None
    if tag == "i" and text is not None and _HEX_RE.fullmatch(text):
        return int(text, 16)
    if tag == "f" and text in ("nan", "inf", "-inf"):
        return float(text)
    if tag in ("b", "ba") and text is not None:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise CodecError("invalid base64 payload") from None
        return raw if tag == "b" else bytearray(raw)
    raise CodecError(f"unknown tag or bad payload for tag {tag[:20]!r}")


def dumps(message: dict[str, Any]) -> bytes:
    """Serialise one message as compact ASCII JSON (no NaN literals)."""
    return json.dumps(message, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def loads(data: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> dict[str, Any]:
    """Parse one message: a JSON object within ``max_bytes``, without duplicate keys.

    Raises:
        CodecError: too large, not UTF-8 JSON, too deep, or not an object.
    """
    if len(data) > max_bytes:
        raise CodecError(f"message of {len(data)} bytes exceeds the {max_bytes}-byte limit")
    try:
        message = json.loads(
            data.decode("utf-8"),
            parse_int=_parse_int,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CodecError(f"message is not valid JSON: {str(exc)[:200]}") from None
    if type(message) is not dict:
        raise CodecError("message must be a JSON object")
    return message


def _parse_int(text: str) -> int:
    if len(text) > 20:  # bounded work on any input: bigger ints use the 'i' tag
        raise ValueError("integer literal too long")
    return int(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key in a JSON object")
    return out
