"""EnvService over real gRPC: remote episodes equal local ones; sessions are bounded.

A remote session runs the env's own code on the server, so a seeded reset must render the
same prompt as a local ``gymnasium.make(...).reset(seed=...)``; sessions expire after
``session_ttl_s`` idle, are capped by ``max_sessions``, and clients may set only plain
constructor arguments.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc
import gymnasium
import pytest

import rlvr_gym.envs  # noqa: F401  (registers the env ids)
from rlvr_gym.proto.v1 import env_service_pb2 as epb
from rlvr_gym.server.env_servicer import REMOTE_KWARGS
from tests.sandbox.test_docker_pool import docker_test
from tests.server.conftest import RunningServer, rpc_error, wait_for

MATH = "rlvr_gym/Math-v0"
REPAIR = "rlvr_gym/CodeRepair-v0"
CODE = "rlvr_gym/Code-v0"
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND


@pytest.fixture(scope="module")
def stub(server: RunningServer) -> Any:
    return server.env_stub()


def reset(stub: Any, **fields: Any) -> tuple[epb.ResetResponse, dict[str, Any]]:
    reply = stub.Reset(epb.ResetRequest(**fields))
    return reply, json.loads(reply.info_json)


def step(stub: Any, session_id: str, action: str) -> tuple[epb.StepResponse, dict[str, Any]]:
    reply = stub.Step(epb.StepRequest(session_id=session_id, action=action))
    return reply, json.loads(reply.info_json)


# --- Math-v0 --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 7, 12345])
def test_seeded_reset_renders_the_same_prompt_as_a_local_env(stub: Any, seed: int) -> None:
    local = gymnasium.make(MATH)
    try:
        local_obs, local_info = local.reset(seed=seed)
    finally:
        local.close()
    reply, info = reset(stub, env_id=MATH, seed=seed)
    try:
        assert reply.observation == local_obs
        assert info["task_id"] == local_info["task_id"]
        assert reply.session_id
    finally:
        stub.Close(epb.CloseRequest(session_id=reply.session_id))


def test_math_episode_rewards_the_right_answer(stub: Any) -> None:
    kwargs = json.dumps({"reveal_answer": True})
    right, info = reset(stub, env_id=MATH, seed=3, env_kwargs_json=kwargs)
    wrong, _ = reset(stub, env_id=MATH, seed=3, env_kwargs_json=kwargs)
    try:
        answer = info["answer"]
        reply, step_info = step(stub, right.session_id, rf"Thus \boxed{{{answer}}}.")
        assert (reply.reward, reply.terminated, reply.truncated) == (1.0, True, False)
        assert step_info["status"] == "correct" and step_info["task_id"] == info["task_id"]
        reply, step_info = step(stub, wrong.session_id, r"\boxed{\pi^{17}}")
        assert (reply.reward, reply.terminated) == (0.0, True)
        assert step_info["status"] == "incorrect"
        # The episode ended: another step is refused, not graded.
        details = rpc_error(
            grpc.StatusCode.FAILED_PRECONDITION, step, stub, right.session_id, "again"
        )
        assert "reset" in details.lower()
    finally:
        for reply in (right, wrong):
            stub.Close(epb.CloseRequest(session_id=reply.session_id))


def test_reset_reuses_a_session_and_picks_tasks_by_id_or_index(
    server: RunningServer, stub: Any
) -> None:
    source = server.server.graders.math_source()
    first, info = reset(stub, env_id=MATH, index=5)
    try:
        assert info["task_id"] == source[5].task_id
        again, info = reset(stub, session_id=first.session_id, task_id=source[9].task_id)
        assert again.session_id == first.session_id
        assert info["task_id"] == source[9].task_id
        details = rpc_error(INVALID, reset, stub, session_id=first.session_id, env_id=CODE, index=0)
        assert "env_id" in details and MATH in details
    finally:
        stub.Close(epb.CloseRequest(session_id=first.session_id))


def test_unknown_session_is_not_found(stub: Any) -> None:
    details = rpc_error(NOT_FOUND, step, stub, "no-such-session", "x")
    assert "session_id" in details and "no-such-session" in details
    details = rpc_error(NOT_FOUND, reset, stub, session_id="no-such-session")
    assert "no-such-session" in details


def test_close_ends_the_session_and_is_idempotent(server: RunningServer, stub: Any) -> None:
    reply, _ = reset(stub, env_id=MATH, seed=1)
    assert reply.session_id in server.server.envs.sessions
    stub.Close(epb.CloseRequest(session_id=reply.session_id))
    stub.Close(epb.CloseRequest(session_id=reply.session_id))  # already closed: fine
    assert reply.session_id not in server.server.envs.sessions
    rpc_error(NOT_FOUND, step, stub, reply.session_id, r"\boxed{1}")


def test_unknown_env_is_invalid_argument(stub: Any) -> None:
    details = rpc_error(INVALID, reset, stub, env_id="rlvr_gym/Mth-v0")
    assert "env_id" in details and "rlvr_gym/Mth-v0" in details


@pytest.mark.parametrize(
    ("kwargs_json", "expected"),
    [
        pytest.param('{"source": "/etc/passwd"}', "env_kwargs_json.source", id="source-path"),
        pytest.param('{"reward": "x"}', "env_kwargs_json.reward", id="reward-object"),
        pytest.param('{"tasks": []}', "env_kwargs_json.tasks", id="tasks"),
        pytest.param('{"workers": 64}', "env_kwargs_json.workers", id="workers"),
        pytest.param('{"reveal_answer": [1]}', "must be a plain value", id="list-value"),
        pytest.param('{"format_reward_weight": NaN}', "must be finite", id="nan"),
        pytest.param("[1, 2]", "JSON object", id="not-an-object"),
        pytest.param("{source: 1}", "not JSON", id="not-json"),
        pytest.param('{"max_prompt_chars": -1}', "max_prompt_chars", id="env-refuses-value"),
    ],
)
def test_disallowed_or_bad_kwargs_are_invalid_argument(
    server: RunningServer, stub: Any, kwargs_json: str, expected: str
) -> None:
    before = set(server.server.envs.sessions)
    details = rpc_error(INVALID, reset, stub, env_id=MATH, env_kwargs_json=kwargs_json)
    assert expected in details, details
    assert set(server.server.envs.sessions) == before  # no session was opened


def test_remote_kwargs_are_plain_settings_only() -> None:
    assert not {"source", "reward", "tasks", "path", "workers", "config", "sandbox"} & (
        REMOTE_KWARGS
    )


def test_unknown_task_id_on_reset_is_not_found(server: RunningServer, stub: Any) -> None:
    # The same unknown id that ScoreBatch answers with NOT_FOUND.
    before = set(server.server.envs.sessions)
    details = rpc_error(NOT_FOUND, reset, stub, env_id=MATH, task_id="procedural:0:999999999")
    assert "procedural:0:999999999" in details
    assert set(server.server.envs.sessions) == before


def test_a_failed_reset_leaves_no_session_behind(
    start_server: Callable[..., RunningServer],
) -> None:
    # The client never learns the id of a session whose first reset failed, so it cannot
    # close it: such a session must not stay open (and count against max_sessions).
    running = start_server(max_sessions=2)
    stub = running.env_stub()
    for _ in range(3):
        with pytest.raises(grpc.RpcError):
            reset(stub, env_id=MATH, index=10**12)
    assert running.server.envs.sessions == {}
    reply, _ = reset(stub, env_id=MATH, seed=0)
    assert reply.session_id


# --- sessions: TTL and cap --------------------------------------------------------------------


def test_idle_session_expires_after_the_ttl(start_server: Callable[..., RunningServer]) -> None:
    running = start_server(session_ttl_s=0.3)
    stub = running.env_stub()
    reply, _ = reset(stub, env_id=MATH, seed=0)
    assert reply.session_id in running.server.envs.sessions
    wait_for(lambda: not running.server.envs.sessions, "the idle session to expire")
    details = rpc_error(NOT_FOUND, step, stub, reply.session_id, r"\boxed{1}")
    assert "expired" in details and "0.3 s" in details


def test_max_sessions_caps_open_sessions(start_server: Callable[..., RunningServer]) -> None:
    running = start_server(max_sessions=2)
    stub = running.env_stub()
    first, _ = reset(stub, env_id=MATH, seed=0)
    second, _ = reset(stub, env_id=MATH, seed=1)
    details = rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED, reset, stub, env_id=MATH, seed=2)
    assert "max_sessions 2" in details
    # Resetting an open session is not a new one.
    again, _ = reset(stub, session_id=first.session_id, seed=5)
    assert again.session_id == first.session_id
    stub.Close(epb.CloseRequest(session_id=second.session_id))
    third, _ = reset(stub, env_id=MATH, seed=2)
    assert third.session_id not in (first.session_id, second.session_id)
    assert len(running.server.envs.sessions) == 2


# --- CodeRepair-v0: multi-turn ----------------------------------------------------------------


@docker_test
def test_code_repair_failing_then_correct_attempt(server: RunningServer, stub: Any) -> None:
    reply, info = reset(
        stub, env_id=REPAIR, task_id="demo/sum-of-list", env_kwargs_json='{"max_turns": 3}'
    )
    session = reply.session_id
    try:
        assert "n integers" in reply.observation
        assert (info["turn"], info["max_turns"]) == (0, 3)
        wrong = "```python\ninput()\nprint(max(map(int, input().split())))\n```"
        first, info = step(stub, session, wrong)
        assert (first.reward, first.terminated, first.truncated) == (0.0, False, False)
        assert first.observation.startswith("Attempt 1 of 3 failed")
        assert info["turn"] == 1 and info["status"] == "incorrect"
        right = "```python\ninput()\nprint(sum(map(int, input().split())))\n```"
        second, info = step(stub, session, right)
        assert (second.reward, second.terminated, second.truncated) == (1.0, True, False)
        assert info["turn"] == 2 and info["status"] == "correct"
    finally:
        stub.Close(epb.CloseRequest(session_id=session))


@docker_test
def test_code_repair_runs_out_of_turns(stub: Any) -> None:
    reply, _ = reset(
        stub, env_id=REPAIR, task_id="demo/sum-of-list", env_kwargs_json='{"max_turns": 1}'
    )
    try:
        last, info = step(stub, reply.session_id, "```python\nprint(0)\n```")
        assert (last.reward, last.terminated, last.truncated) == (0.0, False, True)
        assert info["status"] == "incorrect"
    finally:
        stub.Close(epb.CloseRequest(session_id=reply.session_id))


def test_code_repair_bad_setting_is_invalid_argument(stub: Any) -> None:
    details = rpc_error(INVALID, reset, stub, env_id=REPAIR, env_kwargs_json='{"max_turns": 0}')
    assert "max_turns" in details


def test_concurrent_resets_cannot_exceed_max_sessions(
    start_server: Callable[..., RunningServer],
) -> None:
    # The cap must hold when new sessions are opened at the same time, not just in turn.
    running = start_server(max_sessions=2)
    stub = running.env_stub()
    calls = [stub.Reset.future(epb.ResetRequest(env_id=MATH, seed=i)) for i in range(8)]
    opened = 0
    for call in calls:
        try:
            call.result()
            opened += 1
        except grpc.RpcError as exc:
            assert exc.code() is grpc.StatusCode.RESOURCE_EXHAUSTED  # type: ignore[attr-defined]
    assert opened == len(running.server.envs.sessions) <= 2


# --- Open: a session without an episode ---------------------------------------------------------


def test_open_reports_the_spaces_and_the_session_resets(stub: Any) -> None:
    local = gymnasium.make(MATH, max_prompt_chars=5000)
    try:
        local_obs, _ = local.reset(seed=4)
        spaces = (local.observation_space.max_length, local.action_space.max_length)  # type: ignore[attr-defined]
    finally:
        local.close()
    opened = stub.Open(epb.OpenRequest(env_id=MATH, env_kwargs_json='{"max_prompt_chars": 5000}'))
    try:
        assert (opened.max_observation_chars, opened.max_action_chars) == spaces
        reply, _ = reset(stub, session_id=opened.session_id, seed=4)
        assert reply.session_id == opened.session_id
        assert reply.observation == local_obs
    finally:
        stub.Close(epb.CloseRequest(session_id=opened.session_id))


def test_open_refuses_what_reset_refuses(stub: Any) -> None:
    rpc_error(INVALID, stub.Open, epb.OpenRequest(env_id="rlvr_gym/Nope-v0"))
    details = rpc_error(
        INVALID, stub.Open, epb.OpenRequest(env_id=MATH, env_kwargs_json='{"source": "/etc"}')
    )
    assert "env_kwargs_json.source" in details


def test_ansi_render_comes_back_with_reset_and_step(stub: Any) -> None:
    reply, _ = reset(stub, env_id=MATH, seed=2, env_kwargs_json='{"render_mode": "ansi"}')
    try:
        assert reply.observation in reply.render
        stepped = stub.Step(epb.StepRequest(session_id=reply.session_id, action=r"\boxed{0}"))
        assert "--- response ---" in stepped.render and r"\boxed{0}" in stepped.render
    finally:
        stub.Close(epb.CloseRequest(session_id=reply.session_id))
