"""Strict validation of the ``rlvr_gym/Code-v0`` JSONL schema.

The schema itself is documented in :mod:`rlvr_gym.rewards.code.datasets`, whose
``load_code_jsonl`` calls :func:`read_code_jsonl`. Why strict: this is the format users write by
hand, and a misspelt key (``"comparater"``) silently falling back to a default would
grade a whole training run with the wrong rule. Every message names the file, the line,
the task and the field (``tests[2].stdout``), and suggests the key that was meant.
"""

from __future__ import annotations

import ast
import keyword
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rlvr_gym.errors import DataError, did_you_mean
from rlvr_gym.rewards.code._asserts import literal_case, parse
from rlvr_gym.rewards.code._files import read_records, where
from rlvr_gym.rewards.code.tasks import CallCase, CodeTask, IOTest

__all__ = ["COMPARATORS", "read_code_jsonl"]

COMPARATORS = ("exact", "tokens", "float", "lines_unordered", "checker")
_COMMON = ("task_id", "prompt", "language", "reference", "metadata")
_IO = ("tests", "comparator", "abs_tol", "rel_tol", "checker")
_CALL = ("entry_point", "cases", "asserts", "setup_code", "test_code")
_IO_TEST_KEYS = ("stdin", "stdout")
_CASE_KEYS = ("args", "expected", "atol")
_MISSING = object()


@dataclass(frozen=True)
class _Record:
    """One record being validated: where it is, for messages."""

    path: Path
    line: int
    data: Mapping[str, Any]
    task_id: str = ""

    def error(self, field: str, problem: str) -> DataError:
        task = f" task {self.task_id!r}:" if self.task_id else ""
        return DataError(f"{where(self.path, self.line)}:{task} field {field!r} {problem}")

    def get(self, name: str, default: Any = _MISSING) -> Any:
        return self.data.get(name, default)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _string(rec: _Record, field: str, value: Any, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise rec.error(field, f"must be a string, got {_type_name(value)}")
    if not empty_ok and not value.strip():
        raise rec.error(field, "must not be empty")
    return value


def _number(rec: _Record, field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise rec.error(field, f"must be a number, got {_type_name(value)}")
    if not (math.isfinite(value) and value >= 0):
        raise rec.error(field, f"must be a finite number >= 0, got {value!r}")
    return float(value)


def _python(rec: _Record, field: str, source: str) -> None:
    try:
        with warnings.catch_warnings():  # the author's escape sequences are not our error
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            compile(source, f"<{field}>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise rec.error(field, f"is not valid Python: {exc}") from exc


def _check_keys(rec: _Record, keys: Mapping[str, Any], allowed: tuple[str, ...], at: str) -> None:
    for key in keys:
        if key not in allowed:
            raise rec.error(
                f"{at}{key}",
                f"is not part of the schema{did_you_mean(key, allowed)} "
                f"(allowed: {', '.join(allowed)})",
            )


def _io_fields(rec: _Record) -> dict[str, Any]:
    tests = rec.get("tests")
    if not isinstance(tests, list) or not tests:
        raise rec.error("tests", 'must be a non-empty list of {"stdin": ..., "stdout": ...}')
    io_tests = []
    for index, test in enumerate(tests):
        at = f"tests[{index}]"
        if not isinstance(test, dict):
            raise rec.error(at, f"must be an object, got {_type_name(test)}")
        _check_keys(rec, test, _IO_TEST_KEYS, f"{at}.")
        for key in _IO_TEST_KEYS:
            if key not in test:
                raise rec.error(f"{at}.{key}", "is missing")
        io_tests.append(
            IOTest(
                stdin=_string(rec, f"{at}.stdin", test["stdin"], empty_ok=True),
                expected=_string(rec, f"{at}.stdout", test["stdout"], empty_ok=True),
            )
        )
    comparator = rec.get("comparator", "tokens")
    if comparator not in COMPARATORS:
        raise rec.error(
            "comparator",
            f"is {comparator!r}; use one of {', '.join(COMPARATORS)}"
            f"{did_you_mean(str(comparator), COMPARATORS)}",
        )
    fields: dict[str, Any] = {"io_tests": tuple(io_tests), "comparator": comparator}
    for name in ("abs_tol", "rel_tol"):
        value = rec.get(name)
        if value is _MISSING:
            continue
        if comparator != "float":
            raise rec.error(name, f"only applies to comparator 'float', not {comparator!r}")
        fields[name] = _number(rec, name, value)
    checker = rec.get("checker")
    if comparator == "checker":
        if checker is _MISSING:
            raise rec.error("checker", "is missing; comparator 'checker' needs checker source")
        _python(rec, "checker", _string(rec, "checker", checker))
        fields["checker"] = checker
    elif checker is not _MISSING:
        raise rec.error("checker", f"is given but comparator is {comparator!r}, not 'checker'")
    return fields


def _case(rec: _Record, index: int, raw: Any, entry: str) -> CallCase:
    at = f"cases[{index}]"
    if not isinstance(raw, dict):
        raise rec.error(at, f"must be an object, got {_type_name(raw)}")
    _check_keys(rec, raw, _CASE_KEYS, f"{at}.")
    if "args" not in raw:
        raise rec.error(f"{at}.args", "is missing (give [] for a call without arguments)")
    if "expected" not in raw:
        raise rec.error(f"{at}.expected", "is missing")
    args = raw["args"]
    if not isinstance(args, list):
        raise rec.error(f"{at}.args", f"must be a list of arguments, got {_type_name(args)}")
    atol = _number(rec, f"{at}.atol", raw["atol"]) if "atol" in raw else 0.0
    shown = ", ".join(map(repr, args))
    source = f"{entry}({shown}) == {raw['expected']!r}"
    return CallCase(args=tuple(args), expected=raw["expected"], atol=atol, source=source)


def _call_fields(rec: _Record) -> dict[str, Any]:
    language = rec.get("language", "python")
    if language != "python":
        raise rec.error("language", f"is {language!r}, but function tasks must be 'python'")
    entry = _string(rec, "entry_point", rec.get("entry_point"))
    if not entry.isidentifier() or keyword.iskeyword(entry):
        raise rec.error("entry_point", f"must be a Python identifier, got {entry!r}")
    raw_cases = rec.get("cases", [])
    if not isinstance(raw_cases, list):
        raise rec.error("cases", f"must be a list, got {_type_name(raw_cases)}")
    cases = [_case(rec, index, raw, entry) for index, raw in enumerate(raw_cases)]
    asserts = rec.get("asserts", [])
    if not isinstance(asserts, list):
        raise rec.error("asserts", f"must be a list of strings, got {_type_name(asserts)}")
    kept: list[str] = []
    for index, line in enumerate(asserts):
        at = f"asserts[{index}]"
        text = _string(rec, at, line).strip()
        try:
            module = parse(text)
        except SyntaxError as exc:
            raise rec.error(at, f"is not valid Python: {exc}") from exc
        if len(module.body) != 1 or not isinstance(module.body[0], ast.Assert):
            raise rec.error(at, "must be a single assert statement")
        case = literal_case(module.body[0], entry, text)
        if case is None:
            kept.append(text + "\n")
        else:
            cases.append(case)
    fields: dict[str, Any] = {"kind": "call", "entry_point": entry}
    for name in ("setup_code", "test_code"):
        value = rec.get(name, "")
        fields[name] = _string(rec, name, value, empty_ok=True)
        _python(rec, name, value)
    fields["test_code"] = "".join(kept) + fields["test_code"]
    if not cases and not fields["test_code"].strip():
        raise rec.error("cases", "is empty and there are no asserts or test_code: no tests")
    fields["call_cases"] = tuple(cases)
    return fields


def _task(rec: _Record, languages: Mapping[str, Any]) -> CodeTask:
    _check_keys(rec, rec.data, _COMMON + _IO + _CALL, "")
    task_id = _string(rec, "task_id", rec.get("task_id", None))
    rec = _Record(rec.path, rec.line, rec.data, task_id)
    prompt = _string(rec, "prompt", rec.get("prompt", None))
    language = rec.get("language", "python")
    if not isinstance(language, str) or language not in languages:
        raise rec.error(
            "language",
            f"is {language!r}; use one of {', '.join(sorted(languages))}"
            f"{did_you_mean(str(language), languages)}",
        )
    is_io, is_call = "tests" in rec.data, "entry_point" in rec.data
    if is_io == is_call:
        which = "both" if is_io else "neither"
        raise rec.error(
            "tests",
            f"and 'entry_point' are {which} given: give 'tests' for a stdin/stdout task "
            "or 'entry_point' (with 'cases'/'asserts'/'test_code') for a function task",
        )
    other, kind = (_CALL, "stdin/stdout") if is_io else (_IO, "function")
    for key in other:
        if key in rec.data:
            raise rec.error(key, f"does not apply to a {kind} task")
    fields = _io_fields(rec) if is_io else _call_fields(rec)
    reference = rec.get("reference", None)
    if reference is not None:
        _string(rec, "reference", reference)
    metadata = rec.get("metadata", {})
    if not isinstance(metadata, dict):
        raise rec.error("metadata", f"must be an object, got {_type_name(metadata)}")
    return CodeTask(
        task_id=task_id,
        prompt=prompt,
        language=language,
        reference=reference,
        metadata=MappingProxyType(dict(metadata)),
        **fields,
    )


def read_code_jsonl(path: str | Path) -> list[CodeTask]:
    """Read and validate a Code-v0 file (the public entry is ``datasets.load_code_jsonl``).

    Raises:
        DataError: the file is unreadable, or a record breaks the schema.
    """
    from rlvr_gym.sandbox.api import LANGUAGES  # heavy package: import only when loading

    file = Path(path)
    tasks: list[CodeTask] = []
    seen: dict[str, int] = {}
    for line, data in read_records(file):
        task = _task(_Record(file, line, data), LANGUAGES)
        if task.task_id in seen:
            raise DataError(
                f"{where(file, line)}: field 'task_id' {task.task_id!r} repeats line "
                f"{seen[task.task_id]}; task ids must be unique"
            )
        seen[task.task_id] = line
        tasks.append(task)
    if not tasks:
        raise DataError(f"{file}: no tasks (the file is empty)")
    return tasks


def parse_task(data: Mapping[str, Any], origin: str = "<inline task>") -> CodeTask:
    """Validate one task object in the Code-v0 schema (an inline task of a scoring line).

    Raises:
        DataError: the object breaks the schema; the message names the field.
    """
    from rlvr_gym.sandbox.api import LANGUAGES

    if not isinstance(data, Mapping):
        raise DataError(f"{origin}: a task must be a JSON object, got {_type_name(data)}")
    return _task(_Record(Path(origin), 0, data), LANGUAGES)
