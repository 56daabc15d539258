"""Smoke tests of ``bench/grpc_load.py``: its workload is right by construction, and it runs.

No timing thresholds: the machine may be shared. What must hold on any machine is that
nothing is lost and no score differs from the oracle, through the service or in-process.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rlvr_gym.rewards.code.tasks import CodeTask
from rlvr_gym.server.convert import task_from_proto, task_to_proto
from tests.sandbox.test_docker_pool import needs_docker

BENCH = Path(__file__).resolve().parents[1] / "bench" / "grpc_load.py"

pytest.importorskip("grpc")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("grpc_load", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_math_groups_are_grpo_shaped_and_unique(bench: ModuleType) -> None:
    groups = bench.math_groups(800, 8)
    assert len(groups) == 100
    assert all(len(g.responses) == 8 and len(g.labels) == 8 for g in groups)
    texts = [r for g in groups for r in g.responses]
    assert len(set(texts)) == len(texts)  # no cache keyed by text can help either side
    assert [len(r) for r in bench.requests_of(groups, 16)] == [16] * 6 + [4]


def test_code_groups_are_half_right_and_every_wrong_kind_appears(bench: ModuleType) -> None:
    tasks = bench.load_humaneval(bench.HUMANEVAL)
    groups = bench.code_groups(tasks, 80, 8)
    assert len(groups) == 10
    kinds = [label for g in groups for label in g.labels]
    assert kinds.count("canonical") == 40
    assert set(kinds) == {"canonical", *bench.WRONG_KINDS}
    for g in groups:
        for label, (reward, status), response in zip(g.labels, g.expected, g.responses):
            assert (reward == 1.0) is (label == "canonical")
            assert status == {"canonical": "correct", "prose": "no_answer"}.get(label, "incorrect")
            assert ("```python" in response) is (label != "prose")


def test_server_config_admits_every_request_at_once(bench: ModuleType, tmp_path: Path) -> None:
    from rlvr_gym.server.config import load_config

    args = bench.parse_args(["--quick", "--groups-per-request", "2"])
    path = tmp_path / "server.toml"
    path.write_text(bench.server_toml(args, bench.HUMANEVAL))
    config = load_config(path)
    assert config.max_inflight == config.max_queue == 64 * 8 * 2
    steps = bench.parse_args(["--quick", "--step-groups", "64", "--step-clients", "8"])
    assert f"max_queue = {8 * 64 * 8}\n" in bench.server_toml(steps, bench.HUMANEVAL)
    assert config.data_paths == {bench.CODE_ENV: str(bench.HUMANEVAL)}
    assert config.metrics_address == ""


def test_inline_humaneval_tasks_survive_the_wire(bench: ModuleType) -> None:
    def cases(task: CodeTask) -> list[tuple[object, object, float]]:
        return [(c.args, c.expected, c.atol) for c in task.call_cases]

    for task in bench.load_humaneval(bench.HUMANEVAL)[:125]:
        back = task_from_proto(task_to_proto(task))
        assert isinstance(back, CodeTask)
        assert cases(back) == cases(task), task.task_id


def _check_report(bench: ModuleType, tmp_path: Path, kinds: set[str]) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((tmp_path / "grpc_load.json").read_text())
    assert report["lost"] == 0
    assert report["wrong"] == 0
    assert report["server_exit"] == 0
    assert report["leftover_containers"] == []
    assert set(report["summary"]) == kinds
    for entry in report["summary"].values():
        assert entry["lost"] == entry["wrong"] == 0
        assert entry["ratio_service_over_in_process"] > 0
        assert entry["in_process_responses_per_s"] > 0
        assert entry["service_responses_per_s"] > 0
    rows = {(r["kind"], r["method"]) for r in report["results"]}
    assert rows == {(k, m) for k in kinds for m in bench.METHODS}
    return report


def test_quick_math_run_loses_nothing_and_scores_right(bench: ModuleType, tmp_path: Path) -> None:
    """Math only: no Docker needed (the server starts its sandbox lazily, never here)."""
    assert bench.main(["--quick", "--code", "0", "--out", str(tmp_path)]) == 0
    report = _check_report(bench, tmp_path, {"math", "math-step"})
    assert report["summary"]["math-step"]["target"] == 0.8
    floor = report["transport_floor"]  # the same 800 math-step responses, graded by nobody
    assert floor["responses"] == 800
    assert floor["client_us_per_response"] > 0 and floor["server_us_per_response"] > 0
    assert 0 < floor["ceiling_ratio"] < 1 and floor["cpu_ratio"] > 0
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "grpc_load.png").exists()


@pytest.mark.docker
@needs_docker
def test_quick_run_loses_nothing_and_scores_right(bench: ModuleType, tmp_path: Path) -> None:
    argv = ["--quick", "--groups-per-request", "2", "--no-floor", "--out", str(tmp_path)]
    assert bench.main(argv) == 0
    report = _check_report(bench, tmp_path, {"math", "math-step", "code"})
    assert report["transport_floor"] is None
    code = {r["method"]: r for r in report["results"] if r["kind"] == "code"}
    assert all(r["statuses"].get("correct") == 40 for r in code.values())
