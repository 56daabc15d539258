"""JsonlTaskSource on the real data files and on hand-made broken ones."""

from __future__ import annotations

import gzip
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlvr_gym.envs.generators import ProceduralMathSource
from rlvr_gym.envs.sources import JsonlTaskSource, normalize_answer
from rlvr_gym.envs.tasks import MathTask, TaskIndexError, TaskSource
from rlvr_gym.errors import ConfigError, DataError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "math"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data not found at {DATA}")


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------- the real files


@needs_data
@pytest.mark.parametrize(
    ("file", "count", "index", "task_id", "gold", "prompt_start"),
    [
        (
            "math500.jsonl",
            500,
            0,
            "test/precalculus/807.json",
            "\\left( 3, \\frac{\\pi}{2} \\right)",
            "Convert the point $(0,3)$",
        ),
        ("gsm8k_test.jsonl", 1319, 0, "gsm8k_test:1", "18", "Janet’s ducks lay 16 eggs"),
        ("gsm8k_test.jsonl", 1319, 146, "gsm8k_test:147", "2125", None),  # gold "2,125"
        ("aime24.jsonl", 30, 0, "aime24:1", "204", "Every morning Aya"),
        ("aime25.jsonl", 30, 0, "aime25:1", "70", "Find the sum of all integer bases"),
        ("amc23.jsonl", 40, 0, "amc23:1", "27", "Cities $A$ and $B$"),
        ("amc23.jsonl", 40, 15, "amc23:16", "-1", None),
        (
            "qwen25math_cot_labeled.jsonl",
            100,
            0,
            "qwen25math_cot_labeled:1",
            "420",
            "What is $10.0000198",
        ),
        # `gt`, not the `answer` field (which is "\dfrac{1}{9}").
        ("qwen25math_cot_labeled.jsonl", 100, 1, "qwen25math_cot_labeled:2", "\\frac{1}{9}", None),
    ],
)
def test_real_files_load(
    file: str, count: int, index: int, task_id: str, gold: str, prompt_start: str | None
) -> None:
    source = JsonlTaskSource(DATA / file)
    assert len(source) == count
    task = source[index]
    assert (task.task_id, task.answer) == (task_id, gold)
    if prompt_start is not None:
        assert task.prompt.startswith(prompt_start)
    assert source.get(task_id) == task
    assert len({t.task_id for t in source}) == count


@needs_data
def test_gsm8k_golds_are_plain_numbers() -> None:
    golds = [task.answer for task in JsonlTaskSource(DATA / "gsm8k_test.jsonl")]
    assert all(re.fullmatch(r"-?\d+", gold) for gold in golds)
    assert "-10" in golds and "1450000" in golds


@needs_data
def test_amc_floats_lose_their_point_zero() -> None:
    golds = [task.answer for task in JsonlTaskSource(DATA / "amc23.jsonl")]
    assert not any(gold.endswith(".0") for gold in golds)
    assert golds[:3] == ["27", "36", "45"]


@needs_data
@pytest.mark.parametrize("file", ["aime24.jsonl", "aime25.jsonl"])
def test_aime_instruction_is_stripped(file: str) -> None:
    source = JsonlTaskSource(DATA / file)
    assert all("Please reason step by step" not in task.prompt for task in source)
    kept = JsonlTaskSource(DATA / file, strip_instruction=False)
    assert kept[0].prompt.endswith("within \\boxed{}.")


@needs_data
def test_metadata_keeps_the_other_fields() -> None:
    task = JsonlTaskSource(DATA / "math500.jsonl")[0]
    assert task.metadata["subject"] == "Precalculus"
    assert task.metadata["line"] == 1
    with pytest.raises(TypeError):
        task.metadata["subject"] = "x"  # type: ignore[index]


# ------------------------------------------------------------ bad records


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            {"problem": "1+1", "answer": "2"},
            '{"problem": "2+2", "answer": ',
            {"problem": "3+3", "answer": "6"},
        ],
    )
    with pytest.raises(DataError, match=re.escape(f"{path}:2: invalid JSON")):
        JsonlTaskSource(path)


def test_missing_field_names_file_line_and_field(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "missing.jsonl",
        [
            {"problem": "1+1", "answer": "2"},
            {"problem": "3+3", "anwser": "6"},
        ],
    )
    with pytest.raises(DataError) as caught:
        JsonlTaskSource(path)
    message = str(caught.value)
    assert f"{path}:2" in message
    assert "'answer'" in message and "anwser" in message


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ([1, 2], "expected a JSON object"),
        ({"problem": "", "answer": "1"}, "non-empty string"),
        ({"problem": "q", "answer": None}, "string or a number"),
        ({"problem": "q", "answer": True}, "string or a number"),
        ({"problem": "q", "answer": "   "}, "empty"),
        ({"problem": "q", "answer": float("nan")}, "finite"),
    ],
)
def test_bad_values(tmp_path: Path, row: Any, match: str) -> None:
    path = write_jsonl(tmp_path / "v.jsonl", [{"problem": "ok", "answer": "1"}, row])
    with pytest.raises(DataError, match=match) as caught:
        JsonlTaskSource(path)
    assert f"{path}:2" in str(caught.value)


def test_undetectable_layout_asks_for_field_names(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "odd.jsonl", [{"text": "1+1", "solution": "2"}])
    with pytest.raises(DataError, match="prompt_field"):
        JsonlTaskSource(path)
    source = JsonlTaskSource(path, prompt_field="text", answer_field="solution")
    assert source[0].answer == "2"


def test_skip_mode_warns_and_keeps_the_good_records(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            {"problem": "1+1", "answer": "2"},
            "not json",
            {"problem": "3+3"},
            {"problem": "4+4", "answer": 8},
        ],
    )
    with pytest.warns(UserWarning, match="skipped 2 bad record"):
        source = JsonlTaskSource(path, on_error="skip")
    assert [task.task_id for task in source] == ["mixed:1", "mixed:4"]
    assert len(source.skipped) == 2 and f"{path}:3" in source.skipped[1]


def test_blank_lines_are_ignored_and_empty_files_rejected(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "gaps.jsonl", ["", json.dumps({"prompt": "q", "answer": 3})])
    assert JsonlTaskSource(path)[0].task_id == "gaps:2"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="no usable tasks"):
        JsonlTaskSource(empty)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "dup.jsonl",
        [
            {"problem": "a", "answer": "1", "unique_id": "x"},
            {"problem": "b", "answer": "2", "unique_id": "x"},
        ],
    )
    with pytest.raises(DataError, match=re.escape(f"{path}:2: duplicate task id 'x'")):
        JsonlTaskSource(path)


def test_bad_options_are_config_errors(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "ok.jsonl", [{"problem": "a", "answer": "1"}])
    with pytest.raises(ConfigError, match="did you mean 'gsm8k'"):
        JsonlTaskSource(path, answer_format="gsm8")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="on_error"):
        JsonlTaskSource(path, on_error="ignore")  # type: ignore[arg-type]


# ------------------------------------------------------- formats and fields


def test_json_array_and_gzip(tmp_path: Path) -> None:
    rows = [{"question": f"q{i}", "answer": f"step\n#### {i * 1000:,}"} for i in range(3)]
    array = tmp_path / "arr.json"
    array.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    packed = tmp_path / "rows.jsonl.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    packed_array = tmp_path / "arr.json.gz"
    packed_array.write_bytes(gzip.compress(array.read_bytes()))
    for path, stem in ((array, "arr"), (packed, "rows"), (packed_array, "arr")):
        source = JsonlTaskSource(path)
        assert [task.answer for task in source] == ["0", "1000", "2000"]
        assert source[2].task_id == f"{stem}:3"
    not_array = tmp_path / "obj.json"
    not_array.write_text('[{"problem": "a", "answer": 1}, 5]', encoding="utf-8")
    with pytest.raises(DataError, match="record 2"):
        JsonlTaskSource(not_array)


def test_explicit_fields_and_ids(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "custom.jsonl",
        [
            {"q": "What is 2+2?", "sol": "It is \\boxed{\\frac{8}{2}}.", "key": 17},
        ],
    )
    source = JsonlTaskSource(
        path, prompt_field="q", answer_field="sol", id_field="key", answer_format="boxed"
    )
    task = source.get("17")
    assert (task.prompt, task.answer) == ("What is 2+2?", "\\frac{8}{2}")
    with pytest.raises(DataError, match=r"'kee'.*did you mean 'key'"):
        JsonlTaskSource(path, prompt_field="q", answer_field="sol", id_field="kee")


def test_lookup_errors(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "three.jsonl", [{"prompt": "p", "answer": i} for i in range(3)])
    source = JsonlTaskSource(path)
    assert source[-1] == source[2]
    with pytest.raises(TaskIndexError, match="out of range"):
        source[3]
    with pytest.raises(IndexError):
        source[-4]
    with pytest.raises(DataError, match="did you mean 'three:2'"):
        source.get("three:22")


def test_sources_satisfy_the_protocol(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "p", "answer": 1}])
    assert isinstance(JsonlTaskSource(path), TaskSource)
    assert isinstance(ProceduralMathSource(), TaskSource)


def test_math_task_validates_types() -> None:
    with pytest.raises(DataError, match="answer must be a str"):
        MathTask("id", "prompt", 42)  # type: ignore[arg-type]


# ------------------------------------------------------- answer normalisation


@pytest.mark.parametrize(
    ("raw", "fmt", "gold"),
    [
        (27.0, "auto", "27"),
        (-1.0, "auto", "-1"),
        (2.5, "auto", "2.5"),
        (7, "auto", "7"),
        ("  \\frac{1}{2} ", "auto", "\\frac{1}{2}"),
        ("1, 2", "auto", "1, 2"),  # a set stays a set: commas only stripped for GSM8K
        ("Adds up.\n#### 1,450,000", "auto", "1450000"),
        ("x\n#### -10", "auto", "-10"),
        ("#### 5\nmore\n#### 6", "auto", "6"),
        ("#### 5", "plain", "#### 5"),
        ("So \\boxed{\\sqrt{\\frac{1}{2}}} and", "boxed", "\\sqrt{\\frac{1}{2}}"),
    ],
)
def test_normalize_answer(raw: Any, fmt: Any, gold: str) -> None:
    assert normalize_answer(raw, fmt) == gold


@pytest.mark.parametrize(
    ("raw", "fmt"),
    [
        (True, "auto"),
        (math.inf, "auto"),
        ([1], "auto"),
        ("", "auto"),
        ("12", "gsm8k"),
        ("no box", "boxed"),
        ("\\boxed{unclosed", "boxed"),
    ],
)
def test_normalize_answer_rejects(raw: Any, fmt: Any) -> None:
    with pytest.raises(DataError):
        normalize_answer(raw, fmt)


@given(st.integers(-(10**12), 10**12))
def test_gsm8k_numbers_round_trip(value: int) -> None:
    assert normalize_answer(f"Reasoning {value}.\n#### {value:,}") == str(value)
    assert normalize_answer(float(value)) == str(value)


def test_unicode_line_separators_inside_strings(tmp_path: Path) -> None:
    path = tmp_path / "seps.jsonl"
    rows = [{"problem": "a\u2028b\x85c", "answer": "1"}, {"problem": "d", "answer": "2"}]
    text = "\r\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
    path.write_text(text, encoding="utf-8", newline="")
    source = JsonlTaskSource(path)
    assert [task.prompt for task in source] == ["a\u2028b\x85c", "d"]
    assert source[1].task_id == "seps:2"
