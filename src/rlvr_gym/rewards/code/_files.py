"""Reading dataset files into ``(line, record)`` pairs, with errors that name file and line.

Why one reader for every code set: the public sets come as JSON Lines (HumanEval,
CodeContests, EvalPlus' ``MbppPlus.jsonl.gz``) or as one JSON array (the MBPP sanitized
split, some MBPP+ exports), sometimes gzip-compressed. Readers here accept all of those,
so a user can pass the file as published; records of a JSON array are decoded one at a
time so every error still carries the line its record starts on.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from rlvr_gym.errors import DataError

__all__ = ["Record", "read_records", "where"]

# (line number the record starts on, the decoded record)
Record = tuple[int, Mapping[str, Any]]


def where(path: Path, line: int) -> str:
    """The ``file:line`` prefix of every message about a record."""
    return f"{path}:{line}"


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"dataset file {str(path)!r} does not exist; check the path") from None
    except IsADirectoryError:
        raise DataError(f"dataset file {str(path)!r} is a directory; pass a file") from None
    except OSError as exc:
        raise DataError(f"cannot read dataset file {str(path)!r}: {exc}") from exc
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt gzip data ({exc})") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{where(path, line)}: not valid UTF-8 ({exc.reason})") from exc


def _record(path: Path, line: int, value: Any) -> Record:
    if not isinstance(value, dict):
        raise DataError(
            f"{where(path, line)}: a record must be a JSON object, got {type(value).__name__}"
        )
    return line, value


def _jsonl(path: Path, text: str) -> Iterator[Record]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{where(path, number)}: invalid JSON ({exc.msg} at column {exc.colno})"
            ) from exc
        yield _record(path, number, value)


def _json_array(path: Path, text: str) -> Iterator[Record]:
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1

    def skip(pos: int) -> int:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        return pos

    def fail(pos: int, msg: str) -> DataError:
        return DataError(f"{where(path, text.count(chr(10), 0, pos) + 1)}: invalid JSON ({msg})")

    pos = skip(pos)
    if pos < len(text) and text[pos] == "]":
        pos += 1
    else:
        while True:
            line = text.count("\n", 0, pos) + 1
            try:
                value, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                raise fail(exc.pos, exc.msg) from exc
            yield _record(path, line, value)
            pos = skip(pos)
            if pos < len(text) and text[pos] == ",":
                pos = skip(pos + 1)
                continue
            if pos < len(text) and text[pos] == "]":
                pos += 1
                break
            raise fail(pos, "expected ',' or ']' after an array element")
    if skip(pos) != len(text):
        raise fail(skip(pos), "extra data after the array")


def read_records(path: Path) -> Iterator[Record]:
    """Yield the records of a JSON Lines file or of a file holding one JSON array.

    The layout is told by the first non-blank character (``[`` means an array); a
    ``.gz`` suffix means gzip. Records must be JSON objects.

    Raises:
        DataError: the file is missing, unreadable, not UTF-8, or not valid JSON; the
            message names the file and the line.
    """
    text = _read_text(path)
    if text.lstrip().startswith("["):
        return _json_array(path, text)
    return _jsonl(path, text)
