"""Our own reference solutions to CodeContests samples, checked in the real Docker sandbox.

Every ``<id>.py`` (and the ``<id>.cpp`` ports) must pass all of the task's tests, and
every ``<id>.wrong.py`` (a plausible bug: off by one, a missed edge case) must fail at
least one, so the refs can later anchor judge and reward tests with known verdicts.
Outputs are compared as whitespace-separated tokens, the tasks' comparator.

The tests reuse the sandbox tests' rule: skip only where no daemon can run and ``CI`` is
not ``"true"``; in CI a missing daemon fails them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import tests.sandbox.test_docker_pool as pool_tests
from rlvr_gym.rewards.code.datasets import load_code_contests
from rlvr_gym.rewards.code.tasks import CodeTask
from rlvr_gym.sandbox.api import ExecutionResult, Sandbox
from rlvr_gym.sandbox.types import ExecutionLimits

pytestmark = [pytest.mark.docker, pool_tests.needs_docker]

image = pool_tests.image  # the shared image fixture (builds or reuses the sandbox image)

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data" / "code" / "code_contests_samples.jsonl"
REFS = ROOT / "tests" / "data" / "code_contests_refs"
# Outputs are a few lines; a small output cap keeps a whole task in one batch reply.
LIMITS = ExecutionLimits(cpu_s=2, wall_s=5, memory_bytes=256 * 1024 * 1024, output_bytes=64 * 1024)
LANGUAGE = {".py": "python", ".cpp": "cpp"}


def safe_id(task_id: str) -> str:
    """The file stem of a task's refs: ``CodeContests/1000_A`` -> ``CodeContests_1000_A``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", task_id)


TASKS = {safe_id(t.task_id): t for t in load_code_contests(DATA)}
REF_FILES = sorted(p for p in REFS.iterdir() if p.suffix in LANGUAGE)


def task_of(path: Path) -> CodeTask:
    return TASKS[path.name.split(".")[0]]


def is_wrong(path: Path) -> bool:
    return path.name.endswith(".wrong" + path.suffix)


def passes(result: ExecutionResult, expected: str) -> bool:
    return result.status == "ok" and result.stdout.split() == expected.split()


@pytest.fixture(scope="module")
def sandbox(image: str) -> Iterator[Sandbox]:
    with pool_tests.leak_checked(pool_size=2, limits=LIMITS) as box:
        yield box


def run_all(sandbox: Sandbox, path: Path) -> list[bool]:
    """Pass/fail of ``path`` on every test of its task, in two batches (one per container)."""
    tests = task_of(path).io_tests
    code = path.read_text()
    half = len(tests) // 2
    chunks = [tests[:half], tests[half:]]
    with ThreadPoolExecutor(len(chunks)) as workers:
        runs = workers.map(
            lambda chunk: sandbox.run_batch(
                code, [t.stdin for t in chunk], language=LANGUAGE[path.suffix]
            ),
            chunks,
        )
        results = [r for chunk_results in runs for r in chunk_results]
    assert len(results) == len(tests)
    return [passes(r, t.expected) for r, t in zip(results, tests)]


def test_every_ref_file_names_a_task_and_has_a_wrong_twin() -> None:
    correct = [p for p in REF_FILES if not is_wrong(p)]
    for path in REF_FILES:
        assert path.name.split(".")[0] in TASKS, f"{path.name} names no task"
    py_refs = {p.stem for p in correct if p.suffix == ".py"}
    assert len(py_refs) >= 10
    assert len([p for p in correct if p.suffix == ".cpp"]) >= 2
    for stem in py_refs:
        assert (REFS / f"{stem}.wrong.py").is_file(), f"{stem} has no wrong variant"
    for path in REF_FILES:  # refs are for tasks a token comparison can judge
        meta = task_of(path).metadata
        assert not meta["multiple_answers"] and not meta["interactive"]
        assert task_of(path).comparator == "tokens"


@pytest.mark.parametrize("path", [p for p in REF_FILES if not is_wrong(p)], ids=lambda p: p.name)
def test_reference_passes_every_test(sandbox: Sandbox, path: Path) -> None:
    verdicts = run_all(sandbox, path)
    failed = [i for i, ok in enumerate(verdicts) if not ok]
    assert failed == [], f"{path.name} fails tests {failed[:10]} of {len(verdicts)}"


@pytest.mark.parametrize("path", [p for p in REF_FILES if is_wrong(p)], ids=lambda p: p.name)
def test_wrong_variant_fails_some_test(sandbox: Sandbox, path: Path) -> None:
    verdicts = run_all(sandbox, path)
    assert not all(verdicts), f"{path.name} passes all {len(verdicts)} tests"
    assert any(verdicts), f"{path.name} fails every test: a broken program, not a plausible bug"
