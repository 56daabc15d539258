"""The server as an operator sees it: health, reflection, overload, deadlines, auth, TLS,
graceful shutdown, metrics, client retries and ``rlvr-gym serve``.

Cancellation must reach the work: a call whose deadline passed, or whose client cancelled
it, leaves no math worker grinding and no program running in a container. Each such test
checks the pool itself (restarts, busy workers, ``docker top``), not just the status code.
"""

from __future__ import annotations

import asyncio
import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from prometheus_client.parser import text_string_to_metric_families

from rlvr_gym.proto.v1 import env_service_pb2 as epb
from rlvr_gym.proto.v1 import reward_service_pb2 as rpb
from rlvr_gym.proto.v1 import reward_service_pb2_grpc as rgrpc
from rlvr_gym.proto.v1 import sandbox_service_pb2 as spb
from rlvr_gym.proto.v1 import sandbox_service_pb2_grpc as sgrpc
from rlvr_gym.proto.v1 import score_pb2 as pb
from rlvr_gym.rewards.types import Status
from rlvr_gym.server.app import SERVICE_NAMES
from rlvr_gym.server.client import (
    AsyncRewardClient,
    MathGold,
    RemoteError,
    RetryPolicy,
    RewardClient,
)
from tests.sandbox.test_docker_pool import containers, docker, docker_test
from tests.server.conftest import (
    RunningServer,
    gone,
    grandchildren,
    rpc_error,
    slow_math,
    wait_for,
)

MATH = "rlvr_gym/Math-v0"
CODE = "rlvr_gym/Code-v0"
S = pb.ScoreStatus
StartServer = Callable[..., RunningServer]


def math_request(response: str, gold: str) -> rpb.ScoreRequest:
    return rpb.ScoreRequest(
        env_id=MATH, task=pb.Task(math=pb.MathTask(answer=gold)), response=response
    )


def quick(running: RunningServer) -> None:
    """A cheap correct call: starts the math pool and proves the server answers."""
    reply = running.reward_stub().Score(math_request(r"\boxed{2}", "2"), timeout=60)
    assert reply.score.status == S.SCORE_STATUS_CORRECT


async def async_wait_for(cond: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# --- health and reflection --------------------------------------------------------------------


def test_health_is_serving_for_the_server_and_each_service(server: RunningServer) -> None:
    stub = health_pb2_grpc.HealthStub(server.channel())
    for name in ("", *SERVICE_NAMES):
        reply = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, name
    rpc_error(
        grpc.StatusCode.NOT_FOUND,
        stub.Check,
        health_pb2.HealthCheckRequest(service="no.such.Service"),
        timeout=10,
    )


def test_reflection_lists_and_describes_the_services(server: RunningServer) -> None:
    database = ProtoReflectionDescriptorDatabase(server.channel())
    services = set(database.get_services())
    assert set(SERVICE_NAMES) <= services
    assert {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= services
    pool = DescriptorPool(database)
    reward = pool.FindServiceByName("rlvr_gym.proto.v1.RewardService")
    assert {"Score", "ScoreBatch", "ScoreStream", "ListEnvs", "DescribeEnv"} <= {
        m.name for m in reward.methods
    }
    env = pool.FindServiceByName("rlvr_gym.proto.v1.EnvService")
    assert {"Reset", "Step", "Close"} <= {m.name for m in env.methods}
    score = pool.FindMessageTypeByName("rlvr_gym.proto.v1.Score")
    assert {"reward", "status", "timing"} <= set(score.fields_by_name)


# --- overload ---------------------------------------------------------------------------------


def test_overload_is_refused_and_never_a_wrong_reward(start_server: StartServer) -> None:
    running = start_server(max_inflight=1, max_queue=1, math_deadline_s=120)
    quick(running)
    stub = running.reward_stub()
    admission = running.server.admission
    # Two slow gradings fill the one grading slot and the one queue place...
    right, gold = slow_math(1, 12)
    wrong_response, _ = slow_math(2, 12)
    held = [
        stub.Score.future(math_request(right, gold), timeout=120),
        stub.Score.future(math_request(wrong_response, gold), timeout=120),
    ]
    wait_for(lambda: (admission.inflight, admission.waiting) == (1, 1), "a full server")
    # ...so every further call is refused at once, none is graded in a hurry.
    burst = [
        stub.Score.future(math_request(rf"\boxed{{{i}}}", str(i)), timeout=120) for i in range(4)
    ]
    for call in burst:
        with pytest.raises(grpc.RpcError) as info:
            call.result()
        error: Any = info.value
        assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "max_queue 1" in error.details()
    first, second = (call.result().score for call in held)
    assert (first.status, first.reward) == (S.SCORE_STATUS_CORRECT, 1.0)
    assert (second.status, second.reward) == (S.SCORE_STATUS_INCORRECT, 0.0)
    assert second.timing.queue_ms > 0  # it waited for the first
    metrics = running.server.metrics.registry
    assert metrics.get_sample_value("rlvr_gym_rejected_total") == 4
    # Capacity is back: a batch larger than max_inflight still runs (alone).
    batch = stub.ScoreBatch(
        rpb.ScoreBatchRequest(
            env_id=MATH, task=pb.Task(math=pb.MathTask(answer="3")), responses=["3", "4", "3"]
        ),
        timeout=60,
    )
    assert [s.reward for s in batch.scores] == [1.0, 0.0, 1.0]


def test_score_stream_under_overload_masks_items_as_infra_error(start_server: StartServer) -> None:
    running = start_server(max_inflight=1, max_queue=1, math_deadline_s=120)
    quick(running)
    stub = running.reward_stub()
    admission = running.server.admission
    slow, gold = slow_math(3, 12)
    held = [stub.Score.future(math_request(slow, gold), timeout=120) for _ in range(2)]
    wait_for(lambda: (admission.inflight, admission.waiting) == (1, 1), "a full server")
    request = rpb.ScoreStreamRequest(
        request_id="s", env_id=MATH, task=pb.Task(math=pb.MathTask(answer="1")), response="1"
    )
    replies = list(stub.ScoreStream(iter([request]), timeout=60))
    assert [r.request_id for r in replies] == ["s"]
    assert replies[0].score.status == S.SCORE_STATUS_INFRA_ERROR
    assert replies[0].score.detail.startswith("RESOURCE_EXHAUSTED")
    assert [c.result().score.reward for c in held] == [1.0, 1.0]


# --- deadlines and cancellation reach the work ----------------------------------------------


def test_math_deadline_kills_the_worker_grading_the_call(start_server: StartServer) -> None:
    running = start_server(math_deadline_s=120)
    quick(running)
    pool = running.server.graders.math().pool
    before = pool.stats()
    slow, gold = slow_math(4, 30)  # a minute or more of sympy if nobody stops it
    rpc_error(
        grpc.StatusCode.DEADLINE_EXCEEDED,
        running.reward_stub().Score,
        math_request(slow, gold),
        timeout=0.5,
    )
    wait_for(
        lambda: pool.stats().restarts == before.restarts + 1 and pool.stats().busy == 0,
        "the worker grading the expired call to be killed and replaced",
    )
    after = pool.stats()
    assert after.timeouts == before.timeouts  # a cancellation, not a grading timeout
    wait_for(lambda: pool.stats().alive == 2, "the replacement worker")
    quick(running)
    registry = running.server.metrics.registry
    labels = {"method": "Score", "code": "CANCELLED"}
    assert registry.get_sample_value("rlvr_gym_requests_total", labels) == 1


async def test_client_cancel_kills_the_math_worker(start_server: StartServer) -> None:
    running = start_server(math_deadline_s=120)
    quick(running)
    pool = running.server.graders.math().pool
    restarts = pool.stats().restarts
    slow, gold = slow_math(5, 30)
    async with grpc.aio.insecure_channel(running.target) as channel:
        call = rgrpc.RewardServiceStub(channel).Score(math_request(slow, gold), timeout=120)
        await async_wait_for(lambda: running.busy("math_workers") == 1, "grading to start")
        assert call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    await async_wait_for(
        lambda: pool.stats().restarts == restarts + 1 and pool.stats().busy == 0,
        "the worker of the cancelled call to be killed",
    )
    await asyncio.to_thread(quick, running)


def _busy_loop_in(label: str) -> list[str]:
    """Containers of the pool with ``label`` running a program.

    Python programs are forked by the supervisor's zygote (``--zygote``), so a program
    is any process whose parent is a zygote; an idle container has none.
    """
    found = []
    for container in containers(label):
        top = docker("top", container, "-eo", "pid,ppid,args")
        rows = [line.split(None, 2) for line in top.stdout.splitlines()[1:] if line.strip()]
        zygotes = {row[0] for row in rows if len(row) == 3 and "--zygote" in row[2]}
        if any(row[1] in zygotes for row in rows):
            found.append(container)
    return found


def _execute_forever() -> spb.ExecuteRequest:
    return spb.ExecuteRequest(
        language="python",
        files={"main.py": b"while True:\n    pass\n"},
        limits=spb.Limits(cpu_s=60, wall_s=60),  # it would run a minute if not stopped
    )


def _score_forever() -> rpb.ScoreRequest:
    # Ten tests of the default 2 s CPU limit each: ~20 s of runs if nobody stops them.
    tests = [pb.IOTest(stdin=str(i), expected="1") for i in range(10)]
    task = pb.Task(code=pb.CodeTask(io_tests=tests))
    return rpb.ScoreRequest(
        env_id=CODE, task=task, response="```python\nwhile True:\n    pass\n```"
    )


def _sandbox_idle(running: RunningServer) -> bool:
    return running.server.graders.utilisation()["sandbox_containers"] == (0, 2)


@docker_test
@pytest.mark.parametrize("rpc", ["Execute", "Score"])
def test_code_deadline_kills_the_container_running_the_call(
    start_server: StartServer, rpc: str
) -> None:
    running = start_server(sandbox_backend="docker")
    pool = running.docker_pool()
    label = running.pool_label
    assert label is not None
    wait_for(lambda: _sandbox_idle(running), "the pool to be ready")
    cancelled, replaced = pool.cancelled_runs, pool.replaced
    if rpc == "Execute":
        call, request = running.sandbox_stub().Execute, _execute_forever()
    else:
        call, request = running.reward_stub().Score, _score_forever()
    future = call.future(request, timeout=3.0)
    wait_for(lambda: bool(_busy_loop_in(label)), "the program to run")
    rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, future.result)
    wait_for(lambda: pool.cancelled_runs == cancelled + 1, "the run to be cancelled")
    wait_for(lambda: not _busy_loop_in(label), "the busy loop to stop")
    wait_for(lambda: _sandbox_idle(running), "the pool to be back to full size")
    assert pool.replaced == replaced + 1
    assert len(containers(label)) == 2  # the killed one is removed, its replacement runs
    reply = running.sandbox_stub().Execute(
        spb.ExecuteRequest(files={"main.py": b"print('after')"}), timeout=60
    )
    assert [r.stdout for r in reply.results] == [b"after\n"]


@docker_test
async def test_client_cancel_kills_the_container(start_server: StartServer) -> None:
    running = start_server(sandbox_backend="docker")
    pool = await asyncio.to_thread(running.docker_pool)
    label = running.pool_label
    assert label is not None
    await async_wait_for(lambda: _sandbox_idle(running), "the pool to be ready")
    cancelled = pool.cancelled_runs
    async with grpc.aio.insecure_channel(running.target) as channel:
        call = sgrpc.SandboxServiceStub(channel).Execute(_execute_forever(), timeout=120)
        await async_wait_for(lambda: bool(_busy_loop_in(label)), "the program to run", timeout_s=30)
        assert call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    await async_wait_for(lambda: pool.cancelled_runs == cancelled + 1, "the run to be cancelled")
    await async_wait_for(lambda: not _busy_loop_in(label), "the busy loop to stop")
    await async_wait_for(lambda: _sandbox_idle(running), "the pool to be back to full size")


# --- authentication and TLS -----------------------------------------------------------------


def test_bearer_tokens_are_required_except_for_health(start_server: StartServer) -> None:
    running = start_server(auth_tokens=("s3cret",))
    channel = running.channel()
    rewards = rgrpc.RewardServiceStub(channel)
    request = math_request(r"\boxed{1}", "1")
    unauthenticated = grpc.StatusCode.UNAUTHENTICATED
    for metadata in [
        None,
        (("authorization", "Bearer wrong"),),
        (("authorization", "Bearer s3cret-and-more"),),
        (("authorization", "Basic s3cret"),),
        (("authorization", "s3cret"),),
        (("x-token", "s3cret"),),
    ]:
        details = rpc_error(unauthenticated, rewards.Score, request, metadata=metadata)
        assert "bearer token" in details
    good = (("authorization", "Bearer s3cret"),)
    assert rewards.Score(request, metadata=good, timeout=60).score.reward == 1.0
    assert (
        rewards.Score(request, metadata=(("authorization", "bearer s3cret"),)).score.reward == 1.0
    )
    # Every service and the streaming RPC are guarded, not just unary RewardService calls.
    rpc_error(unauthenticated, lambda: list(rewards.ScoreStream(iter([]))))
    rpc_error(
        unauthenticated,
        running.env_stub().Reset,
        epb.ResetRequest(env_id=MATH),
    )
    rpc_error(
        unauthenticated,
        running.sandbox_stub().Execute,
        spb.ExecuteRequest(files={"main.py": b"print(1)"}),
    )
    assert running.server.envs.sessions == {}
    health = health_pb2_grpc.HealthStub(channel)
    reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    with RewardClient(running.target, token="s3cret") as client:
        assert client.score(MATH, MathGold("1"), r"\boxed{1}").status is Status.CORRECT
    policy = RecordingPolicy()
    with (
        RewardClient(running.target, token="nope", retry=policy) as client,
        pytest.raises(RemoteError) as error,
    ):
        client.score(MATH, MathGold("1"), r"\boxed{1}")
    assert error.value.code is unauthenticated and policy.calls == []


def test_a_server_without_tokens_ignores_metadata(server: RunningServer) -> None:
    stub = server.reward_stub()
    request = math_request(r"\boxed{1}", "1")
    assert stub.Score(request, timeout=60).score.reward == 1.0
    assert stub.Score(request, metadata=(("authorization", "Bearer x"),)).score.reward == 1.0


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    x509 = ["-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
    san = ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
    proc = subprocess.run(
        ["openssl", "req", *x509, *san, "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return cert, key


def test_tls_server_speaks_tls_only(start_server: StartServer, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path, "server")
    other, _ = _self_signed(tmp_path, "other")
    running = start_server(tls_cert=str(cert), tls_key=str(key))
    with RewardClient(running.target, tls=cert.read_bytes(), timeout_s=60) as client:
        assert client.score(MATH, MathGold("9"), r"\boxed{9}").status is Status.CORRECT
    once = RetryPolicy(max_attempts=1)
    for tls in (False, other.read_bytes()):  # plaintext; a certificate it does not trust
        client = RewardClient(running.target, tls=tls, retry=once, timeout_s=10)
        with client, pytest.raises(RemoteError) as error:
            client.score(MATH, MathGold("9"), r"\boxed{9}")
        assert error.value.code is grpc.StatusCode.UNAVAILABLE


# --- graceful shutdown ----------------------------------------------------------------------


def _sleepy_sum(delay_s: float) -> str:
    program = f"import time\ntime.sleep({delay_s})\na, b = map(int, input().split())\nprint(a + b)"
    return f"```python\n{program}\n```"


@docker_test
def test_graceful_shutdown_finishes_inflight_calls_then_releases_everything(
    start_server: StartServer,
) -> None:
    running = start_server(sandbox_backend="docker", max_inflight=8, math_deadline_s=120)
    others = grandchildren()
    quick(running)
    workers = grandchildren() - others
    assert len(workers) == 2, workers
    running.math_pool()  # known before the stop, for the checks after it
    running.docker_pool()  # started now, so the slow calls below start running at once
    stub = running.reward_stub()
    add = pb.Task(code=pb.CodeTask(io_tests=[pb.IOTest(stdin="2 3\n", expected="5")]))

    def code_request(response: str) -> rpb.ScoreRequest:
        return rpb.ScoreRequest(env_id=CODE, task=add, response=response)

    right_a, gold_a = slow_math(6, 10)
    wrong_b, _ = slow_math(7, 10)
    calls = [
        (stub.Score.future(math_request(right_a, gold_a), timeout=60), 1.0),
        (stub.Score.future(math_request(wrong_b, gold_a), timeout=60), 0.0),
        (stub.Score.future(code_request(_sleepy_sum(2))), 1.0),
        (stub.Score.future(code_request(_sleepy_sum(2.5))), 1.0),
    ]
    admission = running.server.admission
    wait_for(lambda: admission.inflight == 4, "the four calls to be grading")
    stopping = running.submit(running.server.stop(grace_s=30))
    health = health_pb2_grpc.HealthStub(running.channel())

    def not_serving() -> bool:
        try:
            reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        except grpc.RpcError:
            return True
        return reply.status == health_pb2.HealthCheckResponse.NOT_SERVING

    wait_for(not_serving, "health to leave SERVING")
    refused = None
    for _ in range(100):  # calls after stop began are refused, while the old ones drain
        try:
            reply = running.reward_stub().Score(math_request(r"\boxed{1}", "1"), timeout=5)
        except grpc.RpcError as exc:
            refused = exc
            break
        assert reply.score.reward == 1.0  # accepted just before: still right
        time.sleep(0.02)
    assert refused is not None and refused.code() is grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert not all(call.done() for call, _ in calls), "the in-flight calls ended before"
    for call, reward in calls:
        assert call.result().score.reward == reward
    stopping.result(60)
    running.stop()  # checks that no container of the pool is left
    assert gone(workers), "math workers outlived the server"


def test_stop_is_idempotent_and_a_stopped_server_refuses(start_server: StartServer) -> None:
    running = start_server()
    quick(running)
    running.math_pool()
    running.run(running.server.stop(0))
    running.run(running.server.stop(0))
    once = RetryPolicy(max_attempts=1)
    client = RewardClient(running.target, retry=once, timeout_s=10)
    with client, pytest.raises(RemoteError) as error:
        client.score(MATH, MathGold("1"), "1")
    assert error.value.code is grpc.StatusCode.UNAVAILABLE


# --- metrics --------------------------------------------------------------------------------


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_endpoint_counts_requests_scores_latency_and_pools(
    start_server: StartServer,
) -> None:
    running = start_server()
    assert running.server.metrics_port
    stub = running.reward_stub()
    one = pb.Task(math=pb.MathTask(answer="1"))
    for _ in range(2):
        stub.ScoreBatch(
            rpb.ScoreBatchRequest(env_id=MATH, task=one, responses=[r"\boxed{1}", "2", "?"])
        )
    rpc_error(grpc.StatusCode.INVALID_ARGUMENT, stub.Score, rpb.ScoreRequest(env_id=MATH))
    stream = rpb.ScoreStreamRequest(request_id="x", env_id=MATH, task=one, response=r"\boxed{1}")
    assert len(list(stub.ScoreStream(iter([stream])))) == 1
    m = _scrape(running.server.metrics_port)

    def value(name: str, **labels: str) -> float | None:
        return m.get((name, tuple(sorted(labels.items()))))

    assert value("rlvr_gym_requests_total", method="ScoreBatch", code="OK") == 2
    assert value("rlvr_gym_requests_total", method="Score", code="INVALID_ARGUMENT") == 1
    assert value("rlvr_gym_requests_total", method="ScoreStream", code="OK") == 1
    assert value("rlvr_gym_scores_total", env=MATH, status="correct") == 3
    assert value("rlvr_gym_scores_total", env=MATH, status="incorrect") == 2
    assert value("rlvr_gym_scores_total", env=MATH, status="no_answer") == 2
    assert value("rlvr_gym_request_latency_seconds_count", method="ScoreBatch") == 2
    assert value("rlvr_gym_request_latency_seconds_bucket", method="ScoreBatch", le="+Inf") == 2
    buckets = [k for k in m if k[0] == "rlvr_gym_request_latency_seconds_bucket"]
    assert len(buckets) > 10
    assert value("rlvr_gym_queue_wait_seconds_count") == 3  # two batches, one stream item
    assert value("rlvr_gym_queue_depth") == 0
    assert value("rlvr_gym_inflight") == 0
    assert value("rlvr_gym_env_sessions") == 0
    assert value("rlvr_gym_pool_size", pool="math_workers") == 2
    assert value("rlvr_gym_pool_busy", pool="math_workers") == 0
    assert value("rlvr_gym_rejected_total") == 0


def test_gauges_are_read_at_scrape_time(start_server: StartServer) -> None:
    running = start_server(max_inflight=1, max_queue=4, math_deadline_s=120)
    quick(running)
    assert running.server.metrics_port
    stub = running.reward_stub()
    slow, gold = slow_math(8, 12)
    held = [stub.Score.future(math_request(slow, gold), timeout=120) for _ in range(3)]
    admission = running.server.admission
    wait_for(lambda: (admission.inflight, admission.waiting) == (1, 2), "two waiting calls")
    m = _scrape(running.server.metrics_port)
    assert m[("rlvr_gym_queue_depth", ())] == 2
    assert m[("rlvr_gym_inflight", ())] == 1
    assert m[("rlvr_gym_pool_busy", (("pool", "math_workers"),))] == 1
    assert [c.result().score.reward for c in held] == [1.0] * 3


# --- client retries -------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingPolicy(RetryPolicy):
    """A retry policy that records every backoff it was asked for (one per retry)."""

    calls: list[int] = field(default_factory=list)

    def backoff(self, attempt: int) -> float:
        self.calls.append(attempt)
        return super().backoff(attempt)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_client_gives_up_on_unavailable_after_max_attempts() -> None:
    policy = RecordingPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.02)
    client = RewardClient(f"127.0.0.1:{_free_port()}", retry=policy, timeout_s=30)
    with client, pytest.raises(RemoteError) as error:
        client.score(MATH, MathGold("1"), "1")
    assert error.value.code is grpc.StatusCode.UNAVAILABLE
    assert policy.calls == [1, 2]  # three attempts, two backoffs


async def test_async_client_gives_up_on_unavailable_after_max_attempts() -> None:
    policy = RecordingPolicy(max_attempts=4, initial_backoff_s=0.01, max_backoff_s=0.02)
    async with AsyncRewardClient(f"127.0.0.1:{_free_port()}", retry=policy) as client:
        with pytest.raises(RemoteError) as error:
            await client.score(MATH, MathGold("1"), "1")
    assert error.value.code is grpc.StatusCode.UNAVAILABLE
    assert policy.calls == [1, 2, 3]


def test_client_retries_resource_exhausted_until_capacity_frees(start_server: StartServer) -> None:
    running = start_server(max_inflight=1, max_queue=1, math_deadline_s=120)
    quick(running)
    stub = running.reward_stub()
    slow, gold = slow_math(9, 12)
    held = [stub.Score.future(math_request(slow, gold), timeout=120) for _ in range(2)]
    admission = running.server.admission
    wait_for(lambda: (admission.inflight, admission.waiting) == (1, 1), "a full server")
    policy = RecordingPolicy(max_attempts=1000, initial_backoff_s=0.05, max_backoff_s=0.1)
    with RewardClient(running.target, retry=policy, timeout_s=120) as client:
        result = client.score(MATH, MathGold("6"), r"\boxed{6}")
        assert result.status is Status.CORRECT
        assert policy.calls, "the first attempt should have been refused and retried"
        refused = running.server.metrics.registry.get_sample_value("rlvr_gym_rejected_total")
        assert refused == len(policy.calls)
        # A bad request is an answer, not a reason to retry.
        retries = len(policy.calls)
        with pytest.raises(RemoteError) as error:
            client.score(MATH, MathGold(""), "1")
        assert error.value.code is grpc.StatusCode.INVALID_ARGUMENT
        assert len(policy.calls) == retries
    assert [c.result().score.reward for c in held] == [1.0, 1.0]


def test_client_deadline_bounds_the_retries() -> None:
    policy = RecordingPolicy(max_attempts=10**6, initial_backoff_s=0.01, max_backoff_s=0.05)
    client = RewardClient(f"127.0.0.1:{_free_port()}", retry=policy, timeout_s=1.0)
    with client, pytest.raises(RemoteError) as error:
        client.score(MATH, MathGold("1"), "1")
    assert error.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert 0 < len(policy.calls) < 10**6


# --- `rlvr-gym serve` -----------------------------------------------------------------------


GRPC_CORE_LOG = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d")  # gRPC's C core writes these itself


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("rlvr-gym")
    assert script.exists(), script
    return [str(script)]


def test_serve_prints_its_address_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text('math_workers = 1\nsandbox_backend = "process"\nlog_level = "info"\n')
    stderr_path = tmp_path / "stderr.log"
    addresses = ["--address", "127.0.0.1:0", "--metrics-address", ""]
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [*_cli(), "serve", *addresses, "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout or []], daemon=True)
    reader.start()
    try:
        first = lines.get(timeout=120)
        assert first.startswith("rlvr-gym: serving on 127.0.0.1:"), first
        port = int(first.strip().rpartition(":")[2])
        assert port > 0
        with RewardClient(f"127.0.0.1:{port}", timeout_s=60) as client:
            assert client.score(MATH, MathGold("12"), r"\boxed{12}").reward == 1.0
            with pytest.raises(RemoteError):
                client.score(MATH, MathGold(""), "1")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    records = []
    for line in stderr_path.read_text().splitlines():
        if line.strip() and not GRPC_CORE_LOG.match(line):
            try:
                records.append(json.loads(line))
            except ValueError:
                pytest.fail(f"a stderr line that is not a JSON log record: {line!r}")
    messages = [r["msg"] for r in records]
    assert "serving" in messages and "stopped" in messages, messages
    serving = next(r for r in records if r["msg"] == "serving")
    assert serving["port"] == port and serving["level"] == "info"
    refused = [r for r in records if r.get("code") == "INVALID_ARGUMENT"]
    assert refused and refused[0]["method"] == "ScoreBatch"
    assert all({"ts", "level", "logger", "msg"} <= set(r) for r in records)


def test_serve_on_a_taken_port_fails_with_a_message() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [*_cli(), "serve", "--address", f"127.0.0.1:{port}", "--metrics-address", ""],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode != 0
    assert "cannot serve" in proc.stderr and str(port) in proc.stderr, proc.stderr
