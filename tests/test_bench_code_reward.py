"""Smoke tests of ``bench/code_reward_throughput.py``: its peers judge right, and it runs."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from rlvr_gym.rewards.code.tasks import CallCase, CodeTask
from tests.sandbox.test_docker_pool import needs_docker

BENCH = Path(__file__).resolve().parents[1] / "bench" / "code_reward_throughput.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("code_reward_throughput", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("script", "ok", "detail"),
    [
        ("assert 1 + 1 == 2\n", True, ""),
        ("print('noise')\nassert 1 + 1 == 3, 'wrong'\n", False, "failed: AssertionError: wrong"),
        ("raise SystemExit(0)\n", False, "failed: SystemExit"),
        ("while True:\n    pass\n", False, "timed out"),
    ],
)
def test_in_process_peer_verdicts(bench: ModuleType, script: str, ok: bool, detail: str) -> None:
    passed, why = bench.in_process_check(script, timeout=0.5)
    assert passed is ok
    assert why.startswith(detail)


TWICE = CodeTask(
    task_id="t/twice",
    prompt="",
    kind="call",
    entry_point="twice",
    call_cases=(
        CallCase(args=([1, 2],), expected=None),
        CallCase(args=([0.1],), expected=None, atol=1e-9),
    ),
)
REFERENCE = "def twice(xs):\n    xs.append(0)\n    return [2 * x for x in xs]\n"


@pytest.mark.parametrize(
    ("program", "ok"),
    [
        (REFERENCE, True),
        ("def twice(xs):\n    return [x + x for x in xs] + [0]\n", True),  # same values
        ("def twice(xs):\n    return [2 * x for x in xs]\n", False),  # misses the 0
        ("def twice(xs):\n    return tuple(2 * x for x in xs) + (0,)\n", False),  # a tuple
    ],
)
def test_mbpp_plus_script_compares_with_the_reference(
    bench: ModuleType, program: str, ok: bool
) -> None:
    script = bench.mbpp_plus_script(program, TWICE, REFERENCE)
    assert bench.in_process_check(script)[0] is ok


@pytest.mark.docker
@needs_docker
def test_quick_run_writes_its_report(bench: ModuleType, tmp_path: Path) -> None:
    assert bench.main(["--limit", "3", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "code_reward_throughput.json").read_text())
    rows = {(r["dataset"], r["method"]): r for r in report["results"]}
    assert set(rows) == {(d, m) for d in ("humaneval", "mbppplus") for m in bench.METHODS}
    assert all(r["passed"] == r["samples"] == 3 for r in rows.values())
    assert report["leftover_containers"] == []
