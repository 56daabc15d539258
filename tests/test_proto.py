"""The gRPC API's generated code: no drift from proto/, and enums that mirror the library.

Why: the committed ``src/rlvr_gym/proto`` is what clients and the server import; it must
be exactly what ``scripts/gen_proto.sh`` makes from ``proto/``, and the wire statuses must
name the library's statuses one to one, or a status would be lost in translation.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args

from rlvr_gym.proto.v1 import reward_service_pb2, sandbox_service_pb2, score_pb2
from rlvr_gym.rewards.types import Status
from rlvr_gym.sandbox.types import RunStatus

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "src" / "rlvr_gym" / "proto"


def test_committed_code_is_what_the_script_generates(tmp_path: Path) -> None:
    env = {"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"}
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "gen_proto.sh"), str(tmp_path)], check=True, env=env
    )
    fresh = tmp_path / "rlvr_gym" / "proto"
    made = sorted(p.relative_to(fresh) for p in fresh.rglob("*.py*") if p.is_file())
    committed = sorted(
        p.relative_to(GENERATED)
        for p in GENERATED.rglob("*.py*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert made == committed, "files differ: run `bash scripts/gen_proto.sh` and commit"
    stale = [str(p) for p in made if (fresh / p).read_bytes() != (GENERATED / p).read_bytes()]
    assert stale == [], f"stale generated code {stale}: run `bash scripts/gen_proto.sh`"


def test_score_statuses_mirror_the_reward_statuses() -> None:
    wire = {n.removeprefix("SCORE_STATUS_").lower() for n, _ in score_pb2.ScoreStatus.items()}
    assert wire - {"unspecified"} == {s.value for s in Status}


def test_run_statuses_mirror_the_sandbox_statuses() -> None:
    wire = {n.removeprefix("RUN_STATUS_").lower() for n, _ in sandbox_service_pb2.RunStatus.items()}
    assert wire - {"unspecified"} == set(get_args(RunStatus))


def test_a_request_round_trips_and_an_unknown_field_number_survives() -> None:
    task = score_pb2.Task(
        code=score_pb2.CodeTask(
            task_id="t",
            io_tests=[score_pb2.IOTest(stdin="1 2\n", expected="3\n")],
            call_cases=[score_pb2.CallCase(args_json="[1, 2]", expected_json="3")],
        )
    )
    request = reward_service_pb2.ScoreBatchRequest(
        env_id="rlvr_gym/Code-v0", task=task, responses=["a", "b"]
    )
    back = reward_service_pb2.ScoreBatchRequest.FromString(request.SerializeToString())
    assert back == request and back.task.WhichOneof("task") == "code"
    extended = request.SerializeToString() + b"\xa8\x06\x01"  # field 101 = 1, from a newer peer
    parsed = reward_service_pb2.ScoreBatchRequest.FromString(extended)
    assert parsed.responses == ["a", "b"]
