"""``ScoreColumns``: the compact ScoreBatch reply decodes to exactly what ``scores`` would.

Also the client's side of the contract: it asks for columns, accepts ``scores`` from a
server that predates them, and refuses a reply that does not hold one score per response
(a shorted reply would shift every later reward onto the wrong sample).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlvr_gym.errors import DataError
from rlvr_gym.proto.v1 import reward_service_pb2 as rpb
from rlvr_gym.proto.v1 import reward_service_pb2_grpc as rgrpc
from rlvr_gym.rewards.types import RewardResult, Status
from rlvr_gym.server.client import MathGold, RemoteError, RewardClient
from rlvr_gym.server.columns import columns_to_proto, results_from_columns
from rlvr_gym.server.convert import score_from_proto, scores_to_proto
from tests.server.conftest import RunningServer

MATH = "rlvr_gym/Math-v0"

RESULTS = [
    RewardResult(1.0, Status.CORRECT, "42", {"accuracy": 1.0}, "identical to gold"),
    RewardResult(0.0, Status.INCORRECT, "41", {"accuracy": 0.0}, "gold '42' vs '41'"),
    RewardResult(0.0, Status.NO_ANSWER, None, {}, "no final answer found"),
    RewardResult(0.5, Status.INCORRECT, "def f(): ...", {"tests_passed": 1.0, "tests_total": 2.0}),
    RewardResult(0.0, Status.TIMEOUT, None, {"accuracy": 0.0}, "grading exceeded 5 s"),
    RewardResult(0.0, Status.INFRA_ERROR, None, {}, "sandbox gone: ünïcode ✓"),
    RewardResult(0.25, Status.HEDGED, "1 or 2", {"format": 0.25, "accuracy": 0.0}, ""),
]


def round_trip(results: list[RewardResult]) -> tuple[rpb.ScoreBatchResponse, list[RewardResult]]:
    reply = rpb.ScoreBatchResponse()
    columns_to_proto(results, reply.columns, 1.5, 2.5)
    wire = rpb.ScoreBatchResponse.FromString(reply.SerializeToString())
    return wire, results_from_columns(wire.columns)


def test_columns_round_trip_every_status_and_component_shape() -> None:
    wire, back = round_trip(RESULTS)
    assert back == RESULTS
    assert [type(r.status) for r in back] == [Status] * len(RESULTS)
    assert list(wire.scores) == []  # one form per reply
    assert (wire.columns.timing.queue_ms, wire.columns.timing.grading_ms) == (1.5, 2.5)
    # each component name travels once, however many scores carry it
    assert sorted(wire.columns.component_names) == [
        "accuracy", "format", "tests_passed", "tests_total"
    ]  # fmt: skip
    # so does each distinct set; equal components decode to one shared read-only mapping
    assert list(wire.columns.component_count) == [1, 1, 0, 2, 2]
    assert list(wire.columns.component_set) == [0, 1, 2, 3, 1, 2, 4]
    assert back[1].components is back[4].components
    assert back[0].components is not back[1].components


def test_decoded_results_are_frozen_like_any_other() -> None:
    _, back = round_trip(RESULTS[:1])
    with pytest.raises(AttributeError):
        back[0].reward = 2.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        back[0].components["accuracy"] = 2.0  # type: ignore[index]


names = st.sampled_from(["accuracy", "format", "tests_passed", "x"])
results_strategy = st.lists(
    st.builds(
        RewardResult,
        reward=st.floats(allow_nan=False),
        status=st.sampled_from(list(Status)),
        extracted=st.one_of(st.none(), st.text(min_size=1)),
        components=st.dictionaries(names, st.floats(allow_nan=False), max_size=3),
        detail=st.text(),
    ),
    max_size=40,
)


@given(results_strategy)
def test_columns_and_scores_decode_to_the_same_results(results: list[RewardResult]) -> None:
    _, from_columns = round_trip(results)
    reply = rpb.ScoreBatchResponse()
    scores_to_proto(results, reply.scores)
    assert from_columns == [score_from_proto(s) for s in reply.scores] == results


def test_an_unknown_status_in_columns_is_masked_not_trained_on() -> None:
    reply = rpb.ScoreBatchResponse()
    columns_to_proto(RESULTS[:2], reply.columns)
    reply.columns.status[1] = 99  # a status added by a newer server
    back = results_from_columns(reply.columns)
    assert back[0] == RESULTS[0]
    assert back[1].status is Status.INFRA_ERROR and back[1].reward == 0.0
    assert "unknown score status 99" in back[1].detail


def broken(change: Callable[[rpb.ScoreColumns], None]) -> rpb.ScoreColumns:
    reply = rpb.ScoreBatchResponse()
    columns_to_proto(RESULTS, reply.columns)
    change(reply.columns)
    return reply.columns


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.reward.append(1.0), "unequal lengths"),
        (lambda c: c.detail.pop(), "unequal lengths"),
        (lambda c: c.component_set.pop(), "unequal lengths"),
        (lambda c: c.component_set.__setitem__(0, 17), "component_set beyond"),
        (lambda c: c.component_name.__setitem__(0, 17), "component_name index beyond"),
        (lambda c: c.component_value.pop(), "components counted"),
        (lambda c: c.component_count.__setitem__(0, 5), "components counted"),
    ],
    ids=[
        "extra-reward",
        "missing-detail",
        "missing-set",
        "set-out-of-range",
        "name-out-of-range",
        "value-missing",
        "count-wrong",
    ],
)
def test_inconsistent_columns_are_refused(
    change: Callable[[rpb.ScoreColumns], None], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        results_from_columns(broken(change))


# --- the real server: columns on request, scores otherwise ------------------------------


def test_server_answers_in_the_form_asked_for_with_the_same_verdicts(
    server: RunningServer,
) -> None:
    stub = server.reward_stub()
    responses = [rf"\boxed{{{i}}}" for i in range(10)] + ["no answer here"]
    request = rpb.ScoreBatchRequest(env_id=MATH, responses=responses)
    request.task.math.answer = "7"
    as_scores = stub.ScoreBatch(request)
    request.columnar = True
    as_columns = stub.ScoreBatch(request)
    assert list(as_scores.scores) and not as_scores.HasField("columns")
    assert as_columns.HasField("columns") and not list(as_columns.scores)
    assert results_from_columns(as_columns.columns) == [
        score_from_proto(s) for s in as_scores.scores
    ]
    assert [r.reward for r in results_from_columns(as_columns.columns)] == [
        float(i == 7) for i in range(11)
    ]
    assert as_columns.columns.timing.grading_ms > 0


# --- the client against servers that answer otherwise ----------------------------------


class OtherServer(rgrpc.RewardServiceServicer):
    """A RewardService that answers every batch with ``answer(request)``."""

    def __init__(self, answer: Callable[[rpb.ScoreBatchRequest], rpb.ScoreBatchResponse]):
        self.answer = answer
        self.asked_columnar: list[bool] = []

    async def ScoreBatch(self, request: rpb.ScoreBatchRequest, context: Any) -> Any:
        self.asked_columnar.append(request.columnar)
        return self.answer(request)


@pytest.fixture
def other_server() -> Iterator[Callable[[OtherServer], str]]:
    """Serve an :class:`OtherServer` on a loopback port, in its own loop thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    servers: list[grpc.aio.Server] = []

    def start(servicer: OtherServer) -> str:
        async def up() -> int:
            server = grpc.aio.server()
            rgrpc.add_RewardServiceServicer_to_server(servicer, server)
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
            servers.append(server)
            return port

        port = asyncio.run_coroutine_threadsafe(up(), loop).result(30)
        return f"127.0.0.1:{port}"

    yield start
    for server in servers:
        asyncio.run_coroutine_threadsafe(server.stop(None), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    loop.close()


def test_client_accepts_scores_from_a_server_that_predates_columns(
    other_server: Callable[[OtherServer], str],
) -> None:
    def old_server(request: rpb.ScoreBatchRequest) -> rpb.ScoreBatchResponse:
        reply = rpb.ScoreBatchResponse()
        scores_to_proto(RESULTS[: len(request.responses)], reply.scores)
        return reply

    servicer = OtherServer(old_server)
    with RewardClient(other_server(servicer)) as client:
        results = client.score_batch(MATH, MathGold("1"), ["a", "b", "c"])
    assert servicer.asked_columnar == [True]
    assert results == RESULTS[:3]


@pytest.mark.parametrize("form", ["scores", "columns"])
def test_client_refuses_a_reply_with_a_score_missing(
    other_server: Callable[[OtherServer], str], form: str
) -> None:
    def short(request: rpb.ScoreBatchRequest) -> rpb.ScoreBatchResponse:
        reply = rpb.ScoreBatchResponse()
        results = RESULTS[: len(request.responses) - 1]
        if form == "scores":
            scores_to_proto(results, reply.scores)
        else:
            columns_to_proto(results, reply.columns)
        return reply

    client = RewardClient(other_server(OtherServer(short)))
    with client, pytest.raises(RemoteError, match="2 scores for 3 responses") as caught:
        client.score_batch(MATH, MathGold("1"), ["a", "b", "c"])
    assert caught.value.code == grpc.StatusCode.INTERNAL


def test_client_refuses_malformed_columns(other_server: Callable[[OtherServer], str]) -> None:
    def bad(request: rpb.ScoreBatchRequest) -> rpb.ScoreBatchResponse:
        reply = rpb.ScoreBatchResponse()
        columns_to_proto(RESULTS[:3], reply.columns)
        reply.columns.status.pop()
        return reply

    client = RewardClient(other_server(OtherServer(bad)))
    with client, pytest.raises(RemoteError, match="malformed ScoreBatch reply: score columns"):
        client.score_batch(MATH, MathGold("1"), ["a", "b", "c"])
