"""Task sources backed by dataset files (JSON Lines, JSON arrays, gzip-compressed).

Public math sets disagree on field names and on how the gold answer is written: MATH-500
has ``problem``/``answer``, GSM8K hides the number after a ``#### `` line of its
rationale, AIME stores ints, AMC stores floats (``27.0``), Qwen's labelled sets use
``question``/``gt``. :class:`JsonlTaskSource` detects these layouts so the files load as
published, and takes explicit field names for anything else. Golds are normalised once,
at load time, into the string form the math reward parses.

Loading is eager: math sets are small (thousands of rows), and reading everything up
front means a bad record fails at construction, with its file and line, instead of
in the middle of a training run.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from rlvr_gym.envs.tasks import MathTask, check_index, unknown_task_error
from rlvr_gym.errors import ConfigError, DataError, did_you_mean

__all__ = ["AnswerFormat", "JsonlTaskSource", "OnError", "normalize_answer"]

AnswerFormat = Literal["auto", "plain", "gsm8k", "boxed"]
OnError = Literal["raise", "skip"]

_ANSWER_FORMATS: tuple[str, ...] = ("auto", "plain", "gsm8k", "boxed")
_ON_ERROR: tuple[str, ...] = ("raise", "skip")

# Field names tried in order when none is given. `gt` precedes `answer` because Qwen's
# labelled files carry both and only `gt` is clean (`answer` keeps units and `\dfrac`).
# Only string ids known to be unique are auto-detected; integer `id`/`idx` columns are
# row numbers and would make ids like "7" that collide across files.
PROMPT_FIELDS: tuple[str, ...] = ("problem", "question", "prompt", "input")
ANSWER_FIELDS: tuple[str, ...] = ("gt", "answer", "final_answer", "target")
ID_FIELDS: tuple[str, ...] = ("unique_id", "task_id")

# AIME files ship the prompt with the instruction already appended; the environment adds
# its own, so the dataset copy is removed to avoid posing it twice.
_INSTRUCTION_SUFFIX = re.compile(
    r"\s*Please reason step by step, and put your final answer within \\boxed\{\}\.?\s*\Z"
)
_GSM8K_FINAL = re.compile(r"^[ \t]*####[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")


def _last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` in ``text``, braces matched, or None."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    depth, start = 1, starts[-1]
    for pos in range(start, len(text)):
        char = text[pos]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start:pos].strip()
    return None


def normalize_answer(raw: Any, answer_format: AnswerFormat = "auto") -> str:
    """Turn a dataset's gold answer into the string the math reward parses.

    Args:
        raw: The value stored in the file (str, int or float).
        answer_format: ``"plain"`` keeps the text; ``"gsm8k"`` takes the text after the
            final ``#### `` line and drops thousands separators; ``"boxed"`` takes the
            last ``\\boxed{}``; ``"auto"`` applies the GSM8K rule when a ``#### `` line is
            present and keeps the text otherwise.

    Returns:
        The gold answer, stripped. Integral floats lose their ``.0`` (AMC's ``27.0`` is
        ``"27"``) so graders that compare strings first are not misled.

    Raises:
        DataError: If the value is empty, not a string or finite number, or lacks the
            marker its format requires. The message has no location; callers add it.
    """
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise DataError(f"answer must be a string or a number, got {type(raw).__name__}")
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise DataError(f"answer is not a finite number ({raw!r})")
        return str(int(raw)) if raw.is_integer() else repr(raw)
    text = raw.strip()
    finals = _GSM8K_FINAL.findall(text)
    if answer_format == "gsm8k" or (answer_format == "auto" and finals):
        if not finals:
            raise DataError("answer has no '#### <answer>' line (answer_format='gsm8k')")
        text = _THOUSANDS.sub("", finals[-1]).strip()
    elif answer_format == "boxed":
        boxed = _last_boxed(text)
        if boxed is None:
            raise DataError("answer has no \\boxed{...} (answer_format='boxed')")
        text = boxed
    if not text:
        raise DataError("answer is empty")
    return text


def _file_stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".jsonl", ".json", ".ndjson"):
        name = name.removesuffix(suffix)
    return name or path.name


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise DataError(f"task file {str(path)!r} does not exist; check the path") from None
    except IsADirectoryError:
        raise DataError(f"task file {str(path)!r} is a directory; pass a file") from None
    except OSError as exc:
        raise DataError(f"cannot read task file {str(path)!r}: {exc}") from exc
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: corrupt gzip data ({exc})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8 ({exc.reason})") from exc


def _iter_records(path: Path, text: str) -> Iterator[tuple[int, str, Any]]:
    """Yield ``(number, location, parsed-or-exception)`` for each record.

    ``number`` is the 1-based line (JSON Lines) or record (JSON array) number; parse
    failures are yielded as :class:`DataError` so the caller applies ``on_error``.
    """
    # Decided by content, not suffix: some publishers name JSON Lines files `.json`.
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}:{exc.lineno}: invalid JSON ({exc.msg} at column {exc.colno})"
            ) from exc
        if not isinstance(records, list):
            raise DataError(
                f"{path}: a .json task file must hold an array of objects, "
                f"got {type(records).__name__}; use JSON Lines for one object per line"
            )
        for number, record in enumerate(records, start=1):
            yield number, f"{path} record {number}", record
        return
    # split("\n"), not splitlines(): JSON strings may hold a raw U+2028 or U+0085,
    # which splitlines() would treat as line ends. A trailing "\r" is JSON whitespace.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        location = f"{path}:{number}"
        try:
            yield number, location, json.loads(line)
        except json.JSONDecodeError as exc:
            yield (
                number,
                location,
                DataError(f"{location}: invalid JSON ({exc.msg} at column {exc.colno})"),
            )


def _pick_field(record: Mapping[str, Any], candidates: Sequence[str]) -> str | None:
    return next((name for name in candidates if name in record), None)


class JsonlTaskSource:
    """Math tasks read from a JSON Lines or JSON file (optionally gzip-compressed).

    Example:
        >>> source = JsonlTaskSource("data/math/gsm8k_test.jsonl")  # doctest: +SKIP
        >>> source[0].answer  # doctest: +SKIP
        '18'

    Attributes:
        path: The file read.
        name: File name without ``.jsonl``/``.json``/``.gz``; also the task-id prefix.
        prompt_field: Field the problem statement was read from (given or detected).
        answer_field: Field the gold answer was read from (given or detected).
        id_field: Field task ids were read from, or None for ``"{name}:{line}"`` ids.
        skipped: One message per record skipped under ``on_error="skip"``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        prompt_field: str | None = None,
        answer_field: str | None = None,
        id_field: str | None = None,
        answer_format: AnswerFormat = "auto",
        on_error: OnError = "raise",
        strip_instruction: bool = True,
    ) -> None:
        """Load every task in ``path``.

        Args:
            path: A ``.jsonl`` (one object per line) or ``.json`` (array of objects)
                file; gzip is detected from the content, so ``.gz`` works for both.
            prompt_field: Field holding the problem; None tries
                :data:`PROMPT_FIELDS` in order on the first record.
            answer_field: Field holding the gold; None tries :data:`ANSWER_FIELDS`.
            id_field: Field holding a unique task id; None tries :data:`ID_FIELDS` and
                otherwise numbers tasks ``"{name}:{line}"``.
            answer_format: How to read the gold; see :func:`normalize_answer`.
            on_error: ``"raise"`` stops at the first bad record with a
                :class:`DataError` naming its file and line; ``"skip"`` leaves bad
                records out and emits one warning listing them.
            strip_instruction: Remove a trailing "Please reason step by step, ...
                \\boxed{}." from prompts, since environments add their own instruction.

        Raises:
            ConfigError: If ``answer_format`` or ``on_error`` is not a known value.
            DataError: If the file cannot be read, a record is bad (with
                ``on_error="raise"``), or no usable task remains.
        """
        if answer_format not in _ANSWER_FORMATS:
            raise ConfigError(
                f"unknown answer_format {answer_format!r}; choose one of "
                f"{', '.join(_ANSWER_FORMATS)}{did_you_mean(answer_format, _ANSWER_FORMATS)}"
            )
        if on_error not in _ON_ERROR:
            raise ConfigError(
                f"unknown on_error {on_error!r}; choose 'raise' or 'skip'"
                f"{did_you_mean(on_error, _ON_ERROR)}"
            )
        self.path = Path(path)
        self.name = _file_stem(self.path)
        self._answer_format: AnswerFormat = answer_format
        self._strip_instruction = strip_instruction
        self.prompt_field = prompt_field
        self.answer_field = answer_field
        self.id_field = id_field
        self._resolved = False
        skipped: list[str] = []
        tasks: list[MathTask] = []
        index: dict[str, int] = {}
        for number, location, record in _iter_records(self.path, _read_text(self.path)):
            try:
                if isinstance(record, DataError):
                    raise record
                task = self._to_task(number, location, record)
                if task.task_id in index:
                    first = tasks[index[task.task_id]].metadata["line"]
                    raise DataError(
                        f"{location}: duplicate task id {task.task_id!r} (first used at "
                        f"{self.path}:{first}); ids in field {self.id_field!r} must be "
                        "unique — fix the data or pick another id_field"
                    )
            except DataError as exc:
                if on_error == "raise":
                    raise
                skipped.append(str(exc))
                continue
            index[task.task_id] = len(tasks)
            tasks.append(task)
        self.skipped: tuple[str, ...] = tuple(skipped)
        if skipped:
            shown = "; ".join(skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
            warnings.warn(
                f"skipped {len(skipped)} bad record(s) in {self.path}: {shown}",
                UserWarning,
                stacklevel=2,
            )
        if not tasks:
            raise DataError(
                f"{self.path} holds no usable tasks"
                + (f" ({len(skipped)} bad record(s) skipped)" if skipped else " (empty file)")
            )
        self._tasks: tuple[MathTask, ...] = tuple(tasks)
        self._index = index

    def _resolve_fields(self, location: str, record: Mapping[str, Any]) -> None:
        """Fix the field names from the first record, so every record is read alike."""
        fields = ", ".join(sorted(record)) or "none"
        if self.prompt_field is None:
            self.prompt_field = _pick_field(record, PROMPT_FIELDS)
            if self.prompt_field is None:
                raise DataError(
                    f"{location}: cannot tell which field holds the problem (tried "
                    f"{', '.join(PROMPT_FIELDS)}; fields present: {fields}); "
                    "pass prompt_field=..."
                )
        if self.answer_field is None:
            self.answer_field = _pick_field(record, ANSWER_FIELDS)
            if self.answer_field is None:
                raise DataError(
                    f"{location}: cannot tell which field holds the answer (tried "
                    f"{', '.join(ANSWER_FIELDS)}; fields present: {fields}); "
                    "pass answer_field=..."
                )
        if self.id_field is None:
            self.id_field = _pick_field(record, ID_FIELDS)
        self._resolved = True

    def _field(self, location: str, record: Mapping[str, Any], name: str, role: str) -> Any:
        if name not in record:
            fields = ", ".join(sorted(record)) or "none"
            raise DataError(
                f"{location}: record has no {name!r} field ({role}); fields present: "
                f"{fields}{did_you_mean(name, record)}. Pass {role}_field=... to read "
                "another field"
            )
        return record[name]

    def _to_task(self, number: int, location: str, record: Any) -> MathTask:
        if not isinstance(record, dict):
            raise DataError(f"{location}: expected a JSON object, got {type(record).__name__}")
        if not self._resolved:
            self._resolve_fields(location, record)
        assert self.prompt_field is not None and self.answer_field is not None
        prompt = self._field(location, record, self.prompt_field, "prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise DataError(
                f"{location}: field {self.prompt_field!r} (prompt) must be a non-empty "
                f"string, got {prompt!r:.60}"
            )
        if self._strip_instruction:
            prompt = _INSTRUCTION_SUFFIX.sub("", prompt)
        raw_answer = self._field(location, record, self.answer_field, "answer")
        try:
            answer = normalize_answer(raw_answer, self._answer_format)
        except DataError as exc:
            raise DataError(f"{location}: field {self.answer_field!r}: {exc}") from None
        if self.id_field is None:
            task_id = f"{self.name}:{number}"
        else:
            raw_id = self._field(location, record, self.id_field, "id")
            if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or raw_id == "":
                raise DataError(
                    f"{location}: field {self.id_field!r} (id) must be a non-empty string "
                    f"or an int, got {raw_id!r:.60}"
                )
            task_id = str(raw_id)
        metadata: dict[str, Any] = {
            key: value
            for key, value in record.items()
            if key not in (self.prompt_field, self.answer_field)
        }
        metadata["source"] = self.name
        metadata["line"] = number
        if not isinstance(raw_answer, str) or raw_answer.strip() != answer:
            metadata["raw_answer"] = raw_answer
        return MathTask(task_id=task_id, prompt=prompt, answer=answer, metadata=metadata)

    def __len__(self) -> int:
        return len(self._tasks)

    def __getitem__(self, index: int) -> MathTask:
        return self._tasks[check_index(index, len(self._tasks), self.name)]

    def __iter__(self) -> Iterator[MathTask]:
        return iter(self._tasks)

    def get(self, task_id: str) -> MathTask:
        """Task with id ``task_id``.

        Raises:
            DataError: If no task has that id; the message suggests the closest one.
        """
        position = self._index.get(task_id)
        if position is None:
            raise unknown_task_error(task_id, self.name, list(self._index))
        return self._tasks[position]

    def __repr__(self) -> str:
        return f"JsonlTaskSource({str(self.path)!r}, tasks={len(self._tasks)})"
