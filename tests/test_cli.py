"""End-to-end tests of the ``rlvr-gym`` console script: real processes, real workers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import rlvr_gym
from tests.sandbox.test_docker_pool import needs_docker

CLI = Path(sys.executable).with_name("rlvr-gym")
MATH = "rlvr_gym/Math-v0"


def run(
    *args: str, stdin: bytes | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    assert CLI.exists(), f"console script not installed next to {sys.executable}"
    proc = subprocess.run(
        [str(CLI), *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def think(answer: str) -> str:
    return f"<think>Working it out.</think>\nThe final answer is $\\boxed{{{answer}}}$."


def jsonl(*objs: object) -> bytes:
    return b"".join(json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in objs)


def read_out(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


# Input lines and what each output line must say; indices are 0-based, lines 1-based.
MIXED: list[tuple[bytes, dict[str, object]]] = [
    (
        jsonl({"id": "a", "note": "π≈3.14", "response": think("42"), "answer": "42"}),
        {"status": "correct", "reward": 1.0, "id": "a", "note": "π≈3.14"},
    ),
    (b'{"id": "b", "response": "unterminated\n', {"status": "error", "line": 2}),
    (
        jsonl({"id": "c", "response": think("41"), "answer": "42"}),
        {"status": "incorrect", "reward": 0.0, "id": "c"},
    ),
    (
        jsonl({"id": "d", "response": think("7")}),
        {"status": "error", "line": 4, "id": "d", "error_has": "'answer'"},
    ),
    (
        jsonl({"id": "e", "response": 7, "answer": "7"}),
        {"status": "error", "line": 5, "id": "e", "error_has": "must be a string"},
    ),
    (b"[1, 2, 3]\n", {"status": "error", "line": 6, "error_has": "JSON object"}),
    (b"\n", {"status": "error", "line": 7, "error_has": "blank"}),
    (
        b'{"response": "\xff\xfe", "answer": "1"}\n',
        {"status": "error", "line": 8, "error_has": "UTF-8"},
    ),
    (
        jsonl({"id": "i", "response": think("\\frac{1}{3}"), "answer": "\\frac{1}{3}"}),
        {"status": "correct", "reward": 1.0, "id": "i"},
    ),
]


def check_mixed(out: list[dict[str, object]]) -> None:
    assert len(out) == len(MIXED)
    for got, (_, want) in zip(out, MIXED, strict=True):
        for key, value in want.items():
            if key == "error_has":
                assert value in str(got["error"]), got
            else:
                assert got[key] == value, (key, got)
        if got["status"] == "error":
            assert isinstance(got["error"], str) and got["error"]
            assert "reward" not in got
        else:
            assert {"reward", "status", "extracted", "detail"} <= got.keys()
            assert "line" not in got and "error" not in got


@pytest.fixture
def mixed_file(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(raw for raw, _ in MIXED))
    return path


def test_score_mixed_good_and_bad_lines_to_stdout(mixed_file: Path) -> None:
    proc = run("score", "--env", MATH, "--input", str(mixed_file), "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    check_mixed(read_out(proc.stdout))
    # Summary goes to stderr, with count, mean over scored lines only, statuses and rate.
    assert re.search(r"records:\s+9 \(3 scored, 6 bad lines\)", proc.stderr), proc.stderr
    assert re.search(r"mean reward:\s+0\.6667", proc.stderr), proc.stderr
    assert "correct=2" in proc.stderr and "error=6" in proc.stderr and "incorrect=1" in proc.stderr
    assert re.search(r"throughput:\s+[\d.]+ records/s", proc.stderr)
    assert re.search(r"wall time:\s+[\d.]+ s", proc.stderr)


def test_score_to_output_file_small_batches_keep_order(mixed_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    proc = run(
        "score",
        "--env",
        MATH,
        "--input",
        str(mixed_file),
        "--output",
        str(out),
        "--batch-size",
        "2",
        "--workers",
        "1",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    check_mixed(read_out(out.read_text(encoding="utf-8")))


def test_score_workers_2_many_batches_in_order(tmp_path: Path) -> None:
    # Distinct golds; every third response is wrong. A reordering anywhere (across
    # workers or batches) would put a verdict on the wrong line.
    n = 60
    rows = [
        {"k": i, "response": think(str(i + 1000 + (i % 3 == 0))), "answer": str(i + 1000)}
        for i in range(n)
    ]
    path = tmp_path / "many.jsonl"
    path.write_bytes(jsonl(*rows))
    proc = run("score", "--env", MATH, "--input", str(path), "--workers", "2", "--batch-size", "16")
    assert proc.returncode == 0, proc.stderr
    out = read_out(proc.stdout)
    assert [o["k"] for o in out] == list(range(n))
    assert [o["status"] for o in out] == [
        "incorrect" if i % 3 == 0 else "correct" for i in range(n)
    ]
    assert re.search(r"records:\s+60 \(60 scored, 0 bad lines\)", proc.stderr)


def test_score_custom_field_names_and_stdin() -> None:
    data = jsonl(
        {"completion": think("9"), "gold": "9"},
        {"completion": think("8"), "gold": "9"},
        {"response": think("9"), "answer": "9"},
    )
    proc = run(
        "score",
        "--env",
        MATH,
        "--input",
        "-",
        "--response-field",
        "completion",
        "--answer-field",
        "gold",
        "--workers",
        "1",
        stdin=data,
    )
    assert proc.returncode == 0, proc.stderr
    out = read_out(proc.stdout)
    assert [o["status"] for o in out] == ["correct", "incorrect", "error"]
    assert "'completion'" in str(out[2]["error"]) and "--response-field" in str(out[2]["error"])


def test_unknown_env_suggests_closest(mixed_file: Path) -> None:
    proc = run("score", "--env", "rlvr_gym/Mth-v0", "--input", str(mixed_file))
    assert proc.returncode == 2
    assert "unknown env id 'rlvr_gym/Mth-v0'" in proc.stderr
    assert "did you mean 'rlvr_gym/Math-v0'" in proc.stderr
    assert proc.stdout == ""


def test_unreadable_input_is_a_clear_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    proc = run("score", "--env", MATH, "--input", str(missing))
    assert proc.returncode == 2
    assert "cannot read input file" in proc.stderr and str(missing) in proc.stderr
    proc = run("score", "--env", MATH, "--input", str(tmp_path))  # a directory
    assert proc.returncode == 2
    assert "cannot read input file" in proc.stderr


def test_output_equal_to_input_is_refused(mixed_file: Path) -> None:
    before = mixed_file.read_bytes()
    proc = run("score", "--env", MATH, "--input", str(mixed_file), "--output", str(mixed_file))
    assert proc.returncode == 2
    assert "is the input file" in proc.stderr
    assert mixed_file.read_bytes() == before


@pytest.mark.parametrize(
    "flag,value", [("--workers", "0"), ("--batch-size", "x"), ("--deadline", "-1")]
)
def test_bad_numbers_are_usage_errors(mixed_file: Path, flag: str, value: str) -> None:
    proc = run("score", "--env", MATH, "--input", str(mixed_file), flag, value)
    assert proc.returncode == 2
    assert flag in proc.stderr


def test_deadline_reaches_the_reward(mixed_file: Path) -> None:
    # No grading finishes within a microsecond: every well-formed line times out, and
    # the bad lines are still reported as bad (not as timeouts).
    proc = run(
        "score",
        "--env",
        MATH,
        "--input",
        str(mixed_file),
        "--deadline",
        "0.000001",
        "--workers",
        "1",
    )
    assert proc.returncode == 0, proc.stderr
    out = read_out(proc.stdout)
    assert [o["status"] for o in out] == [
        "error" if want["status"] == "error" else "timeout" for _, want in MIXED
    ]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_unwritable_output_fails_cleanly(mixed_file: Path) -> None:
    proc = run("score", "--env", MATH, "--input", str(mixed_file), "--output", "/dev/full")
    assert proc.returncode == 1
    assert "writing output failed" in proc.stderr


def test_envs_lists_math() -> None:
    proc = run("envs")
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MATH)]
    assert len(lines) == 1
    assert len(lines[0].split(maxsplit=1)) == 2  # id followed by a description


def test_demo_runs_and_prints_every_row_and_summary() -> None:
    proc = run("demo", "--local", "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    n = len(rlvr_gym_demo_lines())
    assert n >= 30
    rows = [ln for ln in proc.stdout.splitlines() if re.match(r"^\s*\d+ ", ln)]
    assert len(rows) == n
    statuses = {"correct", "incorrect", "no_answer", "hedged", "timeout", "infra_error"}
    assert all(any(f" {s} " in row for s in statuses) for row in rows), rows
    assert re.search(rf"records:\s+{n} \({n} scored, 0 bad lines\)", proc.stdout)
    assert re.search(rf"as expected: \d+/{n}", proc.stdout)


def rlvr_gym_demo_lines() -> list[dict[str, object]]:
    from importlib import resources

    text = resources.files("rlvr_gym").joinpath("data/demo_math.jsonl").read_text("utf-8")
    rows = [json.loads(line) for line in text.splitlines()]
    assert all({"problem", "response", "answer", "expect"} <= r.keys() for r in rows)
    return rows


def test_demo_set_covers_every_model_caused_status() -> None:
    expects = {r["expect"] for r in rlvr_gym_demo_lines()}
    assert {"correct", "incorrect", "hedged", "no_answer"} <= expects


def test_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"rlvr-gym {rlvr_gym.__version__}"


def test_no_command_is_a_usage_error() -> None:
    proc = run()
    assert proc.returncode == 2
    assert "usage:" in proc.stderr


def test_score_keys_already_in_the_input_are_replaced_not_duplicated(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    raw = (
        b'{"response": "\\\\boxed{7}", "answer": "7", "status": "stale", "reward": -1}\n'
        b'  {"response": "\\\\boxed{8}", "answer": "7", "meta": {"k": [1, 2]}}  \r\n'
    )
    src.write_bytes(raw)
    proc = run("score", "--env", MATH, "--input", str(src), "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2
    for line in lines:  # duplicate keys would survive as text even though json.loads hides them
        assert line.count('"status"') == 1 and line.count('"reward"') == 1, line
    first, second = (json.loads(line) for line in lines)
    assert (first["status"], first["reward"]) == ("correct", 1.0)
    assert (second["status"], second["meta"]) == ("incorrect", {"k": [1, 2]})


# --- code envs ------------------------------------------------------------------------------

CODE = "rlvr_gym/Code-v0"
SUM_OK = "```python\nprint(sum(map(int, open(0).read().split()[1:])))\n```"


def test_envs_lists_every_code_env_as_scorable() -> None:
    proc = run("envs")
    assert proc.returncode == 0, proc.stderr
    for env_id in ("HumanEval", "MBPP", "MBPPPlus", "CodeContests", "Code", "CodeRepair"):
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(f"rlvr_gym/{env_id}-v0"))
        assert ("no offline scorer" in line) == (env_id == "CodeRepair")


@pytest.mark.docker
@needs_docker
def test_score_code_lines_by_task_id_and_inline_task(tmp_path: Path) -> None:
    inline = {"task_id": "double", "prompt": "x", "tests": [{"stdin": "2\n", "stdout": "4\n"}]}
    lines = jsonl(
        {"task_id": "demo/sum-of-list", "response": SUM_OK},
        {"task_id": "demo/sum-of-list", "response": "```python\nprint(0)\n```"},
        {"task": inline, "response": "```python\nprint(2 * int(input()))\n```"},
        {"task": inline, "response": "no program"},
        {"task_id": "demo/nope", "response": SUM_OK},
        {"response": SUM_OK},
    )
    src = tmp_path / "in.jsonl"
    src.write_bytes(lines)
    proc = run("score", "--env", CODE, "--input", str(src), "--backend", "docker")
    assert proc.returncode == 0, proc.stderr
    out = read_out(proc.stdout)
    assert [(o.get("reward"), o["status"]) for o in out] == [
        (1.0, "correct"),
        (0.0, "incorrect"),
        (1.0, "correct"),
        (0.0, "no_answer"),
        (0.0, "infra_error"),  # the line's task is unknown: not the response's fault
        (None, "error"),
    ]
    assert "demo/nope" in str(out[4]["detail"]) and "'task_id' or 'task'" in str(out[5]["error"])


@pytest.mark.docker
@needs_docker
def test_score_code_lines_against_a_dataset_file(tmp_path: Path) -> None:
    data = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "code"
    from rlvr_gym.rewards.code.datasets import load_humaneval

    task = load_humaneval(data / "HumanEval.jsonl.gz")[2]
    src = tmp_path / "in.jsonl"
    src.write_bytes(jsonl({"task_id": task.task_id, "response": f"```python\n{task.reference}```"}))
    args = ["--env", "rlvr_gym/HumanEval-v0", "--data", str(data / "HumanEval.jsonl.gz")]
    proc = run("score", *args, "--input", str(src), "--backend", "docker")
    assert proc.returncode == 0, proc.stderr
    assert [(o["reward"], o["status"]) for o in read_out(proc.stdout)] == [(1.0, "correct")]
