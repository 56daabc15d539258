"""RewardService over real gRPC: every RPC, math and code, bad requests named by field.

Every case goes through the generated stubs (or the typed clients) to a server on port 0;
a request the server cannot take must come back with the documented status code and a
message naming the field, never a reward.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import grpc
import pytest

from rlvr_gym.envs.code_env import load_dataset
from rlvr_gym.errors import ConfigError
from rlvr_gym.proto.v1 import reward_service_pb2 as rpb
from rlvr_gym.proto.v1 import score_pb2 as pb
from rlvr_gym.rewards.code.tasks import CallCase, CodeTask, IOTest
from rlvr_gym.rewards.types import Status
from rlvr_gym.server.client import (
    AsyncRewardClient,
    MathGold,
    RemoteError,
    RewardClient,
    TaskId,
    _batch_request,
)
from tests.sandbox.test_docker_pool import docker_test
from tests.server.conftest import RunningServer, rpc_error

MATH = "rlvr_gym/Math-v0"
CODE = "rlvr_gym/Code-v0"
S = pb.ScoreStatus
INVALID = grpc.StatusCode.INVALID_ARGUMENT


def math_task(answer: str) -> pb.Task:
    return pb.Task(math=pb.MathTask(answer=answer))


def fenced(program: str, language: str = "python") -> str:
    return f"Here is my program.\n```{language}\n{program}\n```"


ADD_IO = pb.Task(
    code=pb.CodeTask(
        task_id="add",
        prompt="Read two integers, print their sum.",
        io_tests=[
            pb.IOTest(stdin="2 3\n", expected="5\n"),
            pb.IOTest(stdin="-1 1\n", expected="0"),
        ],
    )
)
SQUARE_CALL = pb.Task(
    code=pb.CodeTask(
        task_id="square",
        prompt="Write square(x).",
        entry_point="square",
        call_cases=[
            pb.CallCase(args_json="[3]", expected_json="9"),
            pb.CallCase(args_json="[-4]", expected_json="16"),
        ],
        test_code="assert square(0) == 0\n",
    )
)
ADD_RIGHT = fenced("a, b = map(int, input().split())\nprint(a + b)")
ADD_WRONG = fenced("a, b = map(int, input().split())\nprint(a - b)")


@pytest.fixture(scope="module")
def stub(server: RunningServer) -> Iterator[object]:
    yield server.reward_stub()


# --- Score and ScoreBatch: math ---------------------------------------------------------


def test_score_math_correct_incorrect_and_no_answer(stub: object) -> None:
    cases = [
        (r"so \boxed{\frac{1}{2}}", "0.5", S.SCORE_STATUS_CORRECT, 1.0),
        (r"\boxed{3}", "0.5", S.SCORE_STATUS_INCORRECT, 0.0),
        ("I do not know.", "0.5", S.SCORE_STATUS_NO_ANSWER, 0.0),
    ]
    for response, gold, status, reward in cases:
        reply = stub.Score(  # type: ignore[attr-defined]
            rpb.ScoreRequest(env_id=MATH, task=math_task(gold), response=response)
        )
        assert (reply.score.status, reply.score.reward) == (status, reward), reply
        assert reply.score.HasField("timing")
        assert reply.score.timing.grading_ms > 0


def test_score_batch_one_task_for_all_keeps_order_and_reports_timing(stub: object) -> None:
    responses = [rf"\boxed{{{i}}}" for i in range(12)]
    reply = stub.ScoreBatch(  # type: ignore[attr-defined]
        rpb.ScoreBatchRequest(env_id=MATH, task=math_task("7"), responses=responses)
    )
    assert [s.status == S.SCORE_STATUS_CORRECT for s in reply.scores] == [i == 7 for i in range(12)]
    assert [s.extracted for s in reply.scores] == [str(i) for i in range(12)]
    for score in reply.scores:
        assert score.HasField("timing")
        assert score.timing.grading_ms > 0 and score.timing.queue_ms >= 0


def test_score_batch_one_task_per_response_keeps_order(stub: object) -> None:
    n = 15
    golds = [str(i * i) for i in range(n)]
    responses = [rf"\boxed{{{i * i if i % 3 else i * i + 1}}}" for i in range(n)]
    reply = stub.ScoreBatch(  # type: ignore[attr-defined]
        rpb.ScoreBatchRequest(env_id=MATH, tasks=[math_task(g) for g in golds], responses=responses)
    )
    assert [s.reward for s in reply.scores] == [float(i % 3 != 0) for i in range(n)]


def test_score_batch_task_index_grades_each_response_against_its_task(stub: object) -> None:
    golds = ["2", "3", "5"]
    index = [2, 0, 0, 1, 2, 1, 0]
    answers = ["5", "2", "3", "3", "2", "3", "2"]  # wrong where the gold differs
    reply = stub.ScoreBatch(  # type: ignore[attr-defined]
        rpb.ScoreBatchRequest(
            env_id=MATH,
            tasks=[math_task(g) for g in golds],
            task_index=index,
            responses=[rf"\boxed{{{a}}}" for a in answers],
        )
    )
    assert [s.reward for s in reply.scores] == [
        float(golds[j] == a) for j, a in zip(index, answers, strict=True)
    ]
    assert [s.extracted for s in reply.scores] == answers


def test_client_sends_each_distinct_task_once_and_gets_every_score(server: RunningServer) -> None:
    golds = [str(g % 5) for g in range(16)]  # 5 distinct tasks, 16 responses (max_batch)
    responses = [rf"\boxed{{{g if i % 4 else 'x'}}}" for i, g in enumerate(golds)]
    request = _batch_request(MATH, [MathGold(g) for g in golds], responses)
    assert len(request.tasks) == 5 and len(request.task_index) == 16
    assert [request.tasks[j].math.answer for j in request.task_index] == golds
    with RewardClient(server.target) as client:
        results = client.score_batch(MATH, [MathGold(g) for g in golds], responses)
    assert [r.reward for r in results] == [float(i % 4 != 0) for i in range(16)]


def test_unhashable_tasks_are_sent_one_each() -> None:
    case = CallCase(([1, 2],), [3])  # lists inside: the task cannot be hashed
    task = CodeTask(task_id="t", prompt="p", kind="call", entry_point="f", call_cases=(case,))
    with pytest.raises(TypeError):
        hash(task)
    request = _batch_request(CODE, [task, task, replace(task, task_id="u")], ["a", "b", "c"])
    assert list(request.task_index) == [0, 0, 1]
    assert [t.code.task_id for t in request.tasks] == ["t", "u"]


def test_score_batch_of_nothing_is_empty(stub: object) -> None:
    reply = stub.ScoreBatch(rpb.ScoreBatchRequest(env_id=MATH, task=math_task("1")))  # type: ignore[attr-defined]
    assert list(reply.scores) == []


def test_math_task_by_id_uses_the_datasets_answer(server: RunningServer, stub: object) -> None:
    source = server.server.graders.math_source()
    task = source[3]
    reply = stub.ScoreBatch(  # type: ignore[attr-defined]
        rpb.ScoreBatchRequest(
            env_id=MATH,
            task=pb.Task(task_id=task.task_id),
            responses=[rf"\boxed{{{task.answer}}}", r"\boxed{no}"],
        )
    )
    assert [s.status for s in reply.scores] == [S.SCORE_STATUS_CORRECT, S.SCORE_STATUS_INCORRECT]


# --- Score and ScoreBatch: code ---------------------------------------------------------


@docker_test
def test_code_inline_io_task(stub: object) -> None:
    reply = stub.ScoreBatch(  # type: ignore[attr-defined]
        rpb.ScoreBatchRequest(
            env_id=CODE, task=ADD_IO, responses=[ADD_RIGHT, ADD_WRONG, "no code at all"]
        )
    )
    statuses = [s.status for s in reply.scores]
    assert statuses == [S.SCORE_STATUS_CORRECT, S.SCORE_STATUS_INCORRECT, S.SCORE_STATUS_NO_ANSWER]
    assert [s.reward for s in reply.scores] == [1.0, 0.0, 0.0]
    assert reply.scores[0].components["tests_passed"] == 2.0
    assert "test 0" in reply.scores[1].detail  # the first failing test is named


@docker_test
def test_code_inline_call_task(stub: object) -> None:
    right = fenced("def square(x):\n    return x * x")
    wrong = fenced("def square(x):\n    return x + x")  # agrees with x*x on 0 and 2 only
    reply = stub.ScoreBatch(  # type: ignore[attr-defined]
        rpb.ScoreBatchRequest(env_id=CODE, task=SQUARE_CALL, responses=[right, wrong])
    )
    assert [(s.status, s.reward) for s in reply.scores] == [
        (S.SCORE_STATUS_CORRECT, 1.0),
        (S.SCORE_STATUS_INCORRECT, 0.0),
    ]


@docker_test
def test_code_tasks_by_id_from_the_demo_set(stub: object) -> None:
    ids = {task.task_id for task in load_dataset("code_jsonl")}
    assert {"demo/sum-of-list", "demo/is-palindrome"} <= ids
    sum_right = fenced("input()\nprint(sum(map(int, input().split())))")
    pal_right = fenced(
        "def is_palindrome(text):\n"
        "    s = [c.lower() for c in text if c.isalnum()]\n"
        "    return s == s[::-1]"
    )
    pal_wrong = fenced("def is_palindrome(text):\n    return text == text[::-1]")
    reply = stub.ScoreBatch(  # type: ignore[attr-defined]
        rpb.ScoreBatchRequest(
            env_id=CODE,
            tasks=[
                pb.Task(task_id="demo/sum-of-list"),
                pb.Task(task_id="demo/is-palindrome"),
                pb.Task(task_id="demo/is-palindrome"),
            ],
            responses=[sum_right, pal_right, pal_wrong],
        )
    )
    assert [s.reward for s in reply.scores] == [1.0, 1.0, 0.0]


@docker_test
def test_code_cpp_io_task(stub: object) -> None:
    task = pb.Task(code=pb.CodeTask(language="cpp", io_tests=ADD_IO.code.io_tests))
    program = "#include <iostream>\nint main(){long a,b;std::cin>>a>>b;std::cout<<a+b;}"
    reply = stub.Score(  # type: ignore[attr-defined]
        rpb.ScoreRequest(env_id=CODE, task=task, response=fenced(program, "cpp"))
    )
    assert (reply.score.status, reply.score.reward) == (S.SCORE_STATUS_CORRECT, 1.0)


# --- ScoreStream --------------------------------------------------------------------------


def test_score_stream_answers_every_request_with_its_id(stub: object) -> None:
    requests = [
        rpb.ScoreStreamRequest(
            request_id=f"r{i}", env_id=MATH, task=math_task(str(i)), response=rf"\boxed{{{i % 4}}}"
        )
        for i in range(10)
    ]
    replies = list(stub.ScoreStream(iter(requests)))  # type: ignore[attr-defined]
    by_id = {reply.request_id: reply.score for reply in replies}
    assert len(replies) == 10 and set(by_id) == {f"r{i}" for i in range(10)}
    for i in range(10):
        expected = S.SCORE_STATUS_CORRECT if i % 4 == i else S.SCORE_STATUS_INCORRECT
        assert by_id[f"r{i}"].status == expected, (i, by_id[f"r{i}"])


def test_score_stream_unknown_task_id_ends_the_stream_with_not_found(stub: object) -> None:
    # A client's mistake is not an infra_error (trainers would mask it without notice).
    requests = [
        rpb.ScoreStreamRequest(request_id="a", env_id=CODE, task=pb.Task(task_id="demo/nope")),
        rpb.ScoreStreamRequest(request_id="b", env_id=MATH, task=math_task("2"), response="2"),
    ]
    details = rpc_error(
        grpc.StatusCode.NOT_FOUND,
        lambda: list(stub.ScoreStream(iter(requests))),  # type: ignore[attr-defined]
    )
    assert "request_id 'a'" in details and "demo/nope" in details


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (rpb.ScoreStreamRequest(request_id="bad-1", env_id=MATH), "task is missing"),
        (
            rpb.ScoreStreamRequest(request_id="bad-2", env_id=MATH, task=math_task(" ")),
            "task.math.answer",
        ),
        (
            rpb.ScoreStreamRequest(
                request_id="bad-3", env_id="rlvr_gym/Nope-v0", task=math_task("1")
            ),
            "env_id",
        ),
    ],
)
def test_score_stream_bad_item_is_invalid_argument_naming_it(
    stub: object, bad: rpb.ScoreStreamRequest, field: str
) -> None:
    good = rpb.ScoreStreamRequest(request_id="ok", env_id=MATH, task=math_task("1"), response="1")

    def consume() -> None:
        list(stub.ScoreStream(iter([good, bad])))  # type: ignore[attr-defined]

    details = rpc_error(INVALID, consume)
    assert repr(bad.request_id) in details and field in details, details


# --- ListEnvs and DescribeEnv -----------------------------------------------------------------


def test_list_envs(stub: object) -> None:
    envs = {e.env_id: e for e in stub.ListEnvs(rpb.ListEnvsRequest()).envs}  # type: ignore[attr-defined]
    assert {MATH, CODE, "rlvr_gym/CodeRepair-v0"} <= set(envs)
    assert envs[MATH].scorable and not envs[MATH].multi_turn and envs[MATH].description
    repair = envs["rlvr_gym/CodeRepair-v0"]
    assert repair.multi_turn and not repair.scorable


def test_describe_env_counts_tasks(stub: object) -> None:
    code = stub.DescribeEnv(rpb.DescribeEnvRequest(env_id=CODE))  # type: ignore[attr-defined]
    assert code.env.env_id == CODE
    assert code.num_tasks == len(load_dataset("code_jsonl")) > 0
    math = stub.DescribeEnv(rpb.DescribeEnvRequest(env_id=MATH))  # type: ignore[attr-defined]
    assert math.num_tasks > 0


def test_describe_unknown_env_is_invalid_argument(stub: object) -> None:
    details = rpc_error(
        INVALID,
        stub.DescribeEnv,
        rpb.DescribeEnvRequest(env_id="rlvr_gym/Mth-v0"),  # type: ignore[attr-defined]
    )
    assert "env_id" in details and "rlvr_gym/Mth-v0" in details
    assert "did you mean 'rlvr_gym/Math-v0'" in details


def test_served_envs_can_be_restricted(start_server: object) -> None:
    running = start_server(envs=(MATH,))  # type: ignore[operator]
    stub = running.reward_stub()
    assert [e.env_id for e in stub.ListEnvs(rpb.ListEnvsRequest()).envs] == [MATH]
    details = rpc_error(
        INVALID,
        stub.Score,
        rpb.ScoreRequest(env_id=CODE, task=ADD_IO, response=ADD_RIGHT),
    )
    assert "not served" in details and CODE in details


# --- bad requests: INVALID_ARGUMENT naming the field, NOT_FOUND for unknown ids ---------------


def _code(**fields: object) -> pb.Task:
    return pb.Task(code=pb.CodeTask(**fields))  # type: ignore[arg-type]


BAD_SCORE = [
    pytest.param(rpb.ScoreRequest(env_id=MATH, response="1"), "task is missing", id="no-task"),
    pytest.param(
        rpb.ScoreRequest(env_id=MATH, task=math_task("  "), response="1"),
        "task.math.answer is empty",
        id="empty-answer",
    ),
    pytest.param(
        rpb.ScoreRequest(env_id=MATH, task=pb.Task(task_id=""), response="1"),
        "task.task_id is empty",
        id="empty-task-id",
    ),
    pytest.param(
        rpb.ScoreRequest(env_id="", task=math_task("1"), response="1"), "env_id", id="no-env"
    ),
    pytest.param(
        rpb.ScoreRequest(env_id="rlvr_gym/CodeRepair-v0", task=ADD_IO, response="x"),
        "multi-turn",
        id="multi-turn-env",
    ),
    pytest.param(
        rpb.ScoreRequest(env_id=MATH, task=ADD_IO, response="1"), "not code", id="code-for-math"
    ),
    pytest.param(
        rpb.ScoreRequest(env_id=CODE, task=math_task("1"), response="1"),
        "not math",
        id="math-for-code",
    ),
    pytest.param(
        rpb.ScoreRequest(
            env_id=CODE,
            task=_code(io_tests=[pb.IOTest(stdin="", expected="")], comparator="fuzzy"),
            response="x",
        ),
        "task.code.comparator",
        id="bad-comparator",
    ),
    pytest.param(
        rpb.ScoreRequest(
            env_id=CODE,
            task=_code(
                entry_point="f", call_cases=[pb.CallCase(args_json="[1,", expected_json="1")]
            ),
            response="x",
        ),
        "task.code.call_cases[0].args_json is not JSON",
        id="args-not-json",
    ),
    pytest.param(
        rpb.ScoreRequest(
            env_id=CODE,
            task=_code(entry_point="f", call_cases=[pb.CallCase(args_json="1", expected_json="1")]),
            response="x",
        ),
        "task.code.call_cases[0].args_json must be a JSON array",
        id="args-not-array",
    ),
    pytest.param(
        rpb.ScoreRequest(env_id=CODE, task=_code(prompt="nothing to test"), response="x"),
        "task.code: give io_tests",
        id="no-tests",
    ),
    pytest.param(
        rpb.ScoreRequest(
            env_id=CODE,
            task=_code(io_tests=[pb.IOTest(stdin="", expected="")], language="cobol"),
            response="x",
        ),
        "task.code.language",
        id="bad-language",
    ),
    pytest.param(
        rpb.ScoreRequest(
            env_id=CODE,
            task=_code(io_tests=[pb.IOTest(stdin="", expected="")], abs_tol=float("nan")),
            response="x",
        ),
        "task.code.abs_tol",
        id="nan-tolerance",
    ),
]


@pytest.mark.parametrize(("request_", "expected"), BAD_SCORE)
def test_bad_score_request_is_invalid_argument_naming_the_field(
    stub: object, request_: rpb.ScoreRequest, expected: str
) -> None:
    details = rpc_error(INVALID, stub.Score, request_)  # type: ignore[attr-defined]
    assert expected in details, details


BAD_BATCH = [
    pytest.param(
        rpb.ScoreBatchRequest(env_id=MATH, tasks=[math_task("1")], responses=["1", "2"]),
        "tasks: 1 tasks for 2 responses",
        id="tasks-count-mismatch",
    ),
    pytest.param(
        rpb.ScoreBatchRequest(env_id=MATH, responses=["1"]),
        "tasks: 0 tasks for 1 responses",
        id="no-task-at-all",
    ),
    pytest.param(
        rpb.ScoreBatchRequest(
            env_id=MATH, task=math_task("1"), tasks=[math_task("1")], responses=["1"]
        ),
        "task and tasks",
        id="task-and-tasks",
    ),
    pytest.param(
        rpb.ScoreBatchRequest(env_id=MATH, task=math_task("1"), task_index=[0], responses=["1"]),
        "task and tasks/task_index",
        id="task-and-task-index",
    ),
    pytest.param(
        rpb.ScoreBatchRequest(
            env_id=MATH, tasks=[math_task("1")], task_index=[0], responses=["1", "2"]
        ),
        "task_index: 1 entries for 2 responses",
        id="task-index-count-mismatch",
    ),
    pytest.param(
        rpb.ScoreBatchRequest(
            env_id=MATH,
            tasks=[math_task("1"), math_task("2")],
            task_index=[1, 0, 2],
            responses=["1", "2", "3"],
        ),
        "task_index[2]: 2 is out of range (2 tasks)",
        id="task-index-out-of-range",
    ),
    pytest.param(
        rpb.ScoreBatchRequest(env_id=MATH, task_index=[0], responses=["1"]),
        "task_index[0]: 0 is out of range (0 tasks)",
        id="task-index-without-tasks",
    ),
    pytest.param(
        rpb.ScoreBatchRequest(
            env_id=MATH, tasks=[math_task("1"), math_task("")], responses=["1", "2"]
        ),
        "tasks[1].math.answer is empty",
        id="second-task-empty",
    ),
    pytest.param(
        rpb.ScoreBatchRequest(
            env_id=CODE,
            tasks=[ADD_IO, _code(io_tests=ADD_IO.code.io_tests, comparator="approx")],
            responses=["1", "2"],
        ),
        "tasks[1].code.comparator",
        id="second-task-bad-comparator",
    ),
    pytest.param(
        rpb.ScoreBatchRequest(env_id=MATH, task=math_task("1"), responses=["1"] * 17),
        "responses: 17 responses, more than max_batch 16",
        id="over-max-batch",
    ),
]


@pytest.mark.parametrize(("request_", "expected"), BAD_BATCH)
def test_bad_batch_request_is_invalid_argument_naming_the_field(
    stub: object, request_: rpb.ScoreBatchRequest, expected: str
) -> None:
    details = rpc_error(INVALID, stub.ScoreBatch, request_)  # type: ignore[attr-defined]
    assert expected in details, details


def test_max_batch_is_allowed(stub: object) -> None:
    reply = stub.ScoreBatch(  # type: ignore[attr-defined]
        rpb.ScoreBatchRequest(env_id=MATH, task=math_task("1"), responses=[r"\boxed{1}"] * 16)
    )
    assert [s.reward for s in reply.scores] == [1.0] * 16


@pytest.mark.parametrize(
    ("env_id", "task_id"), [(CODE, "demo/sum-of-lists"), (MATH, "procedural:0:999999999")]
)
def test_unknown_task_id_is_not_found(stub: object, env_id: str, task_id: str) -> None:
    request = rpb.ScoreBatchRequest(env_id=env_id, task=pb.Task(task_id=task_id), responses=["1"])
    details = rpc_error(grpc.StatusCode.NOT_FOUND, stub.ScoreBatch, request)  # type: ignore[attr-defined]
    assert "task_id" in details and task_id in details, details


def test_unknown_code_task_id_suggests_the_close_one(stub: object) -> None:
    request = rpb.ScoreRequest(env_id=CODE, task=pb.Task(task_id="demo/sum-of-lists"))
    details = rpc_error(grpc.StatusCode.NOT_FOUND, stub.Score, request)  # type: ignore[attr-defined]
    assert "did you mean 'demo/sum-of-list'" in details, details


@pytest.mark.parametrize(
    ("method", "request_", "code"),
    [
        pytest.param(
            "Score",
            rpb.ScoreRequest(env_id=CODE, task=pb.Task(task_id="demo/none"), response="x"),
            grpc.StatusCode.NOT_FOUND,
            id="score-unknown-id",
        ),
        pytest.param(
            "Score",
            rpb.ScoreRequest(env_id=MATH, task=ADD_IO, response="x"),
            INVALID,
            id="score-wrong-kind",
        ),
        pytest.param(
            "ScoreBatch",
            rpb.ScoreBatchRequest(
                env_id=CODE, task=pb.Task(task_id="demo/none"), responses=["x", "y"]
            ),
            grpc.StatusCode.NOT_FOUND,
            id="batch-one-task-unknown-id",
        ),
    ],
)
def test_task_errors_name_the_requests_own_field(
    stub: object, method: str, request_: object, code: grpc.StatusCode
) -> None:
    # These requests carry one field `task`; "tasks[0]" names a field they do not have
    # (ScoreRequest has no `tasks`; in ScoreBatch the client left `tasks` empty).
    details = rpc_error(code, getattr(stub, method), request_)
    assert details.startswith("task.") or details.startswith("task:"), details


def test_message_over_max_message_bytes_is_resource_exhausted(start_server: object) -> None:
    running = start_server(max_message_bytes=64 * 1024)  # type: ignore[operator]
    stub = running.reward_stub()
    small = rpb.ScoreRequest(env_id=MATH, task=math_task("1"), response=r"\boxed{1}")
    assert stub.Score(small).score.status == S.SCORE_STATUS_CORRECT
    big = rpb.ScoreRequest(env_id=MATH, task=math_task("1"), response="x" * 100_000)
    details = rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED, stub.Score, big)
    assert "larger than max" in details.lower(), details
    assert stub.Score(small).score.status == S.SCORE_STATUS_CORRECT  # still serving


# --- the typed clients ----------------------------------------------------------------------


def test_sync_client_round_trip(server: RunningServer) -> None:
    with RewardClient(server.target, timeout_s=60) as client:
        envs = {e.env_id: e for e in client.list_envs()}
        assert envs[MATH].scorable
        info = client.describe_env(CODE)
        assert info.num_tasks == len(load_dataset("code_jsonl"))
        one = client.score(MATH, MathGold("42"), r"\boxed{42}")
        assert (one.status, one.reward, one.extracted) == (Status.CORRECT, 1.0, "42")
        many = client.score_batch(
            MATH, [MathGold("1"), MathGold("2")], [r"\boxed{1}", r"\boxed{1}"]
        )
        assert [r.status for r in many] == [Status.CORRECT, Status.INCORRECT]
        streamed = dict(
            client.score_stream((str(i), MATH, MathGold("3"), rf"\boxed{{{i}}}") for i in range(5))
        )
        assert {k: v.reward for k, v in streamed.items()} == {
            str(i): float(i == 3) for i in range(5)
        }
        with pytest.raises(RemoteError) as error:
            client.score(MATH, MathGold(""), "1")
        assert error.value.code is grpc.StatusCode.INVALID_ARGUMENT
        assert "task.math.answer" in str(error.value)
        with pytest.raises(RemoteError) as error:
            client.score(CODE, TaskId("demo/nope"), "1")
        assert error.value.code is grpc.StatusCode.NOT_FOUND


@docker_test
def test_sync_client_code_tasks(server: RunningServer) -> None:
    inline = CodeTask(
        task_id="add",
        prompt="add",
        io_tests=(IOTest("2 3\n", "5\n"),),
    )
    call = CodeTask(
        task_id="sq",
        prompt="sq",
        kind="call",
        entry_point="square",
        call_cases=(CallCase((5,), 25),),
    )
    with RewardClient(server.target, timeout_s=60) as client:
        results = client.score_batch(
            CODE,
            [inline, inline, call, TaskId("demo/sum-of-list")],
            [ADD_RIGHT, ADD_WRONG, fenced("def square(x):\n    return x*x"), ADD_RIGHT],
        )
    assert [r.reward for r in results] == [1.0, 0.0, 1.0, 0.0]
    assert [r.status for r in results] == [
        Status.CORRECT,
        Status.INCORRECT,
        Status.CORRECT,
        Status.INCORRECT,
    ]


async def test_async_client_round_trip(server: RunningServer) -> None:
    async with AsyncRewardClient(server.target, timeout_s=60) as client:
        assert MATH in {e.env_id for e in await client.list_envs()}
        one = await client.score(MATH, MathGold(r"\frac{3}{4}"), r"\boxed{0.75}")
        assert one.status is Status.CORRECT
        batch = await client.score_batch(MATH, MathGold("5"), [r"\boxed{5}", r"\boxed{6}", "?"])
        assert [r.status for r in batch] == [Status.CORRECT, Status.INCORRECT, Status.NO_ANSWER]
        streamed = {
            rid: result
            async for rid, result in client.score_stream(
                [(f"s{i}", MATH, MathGold(str(i)), rf"\boxed{{{2 * i}}}") for i in range(4)]
            )
        }
        assert {k: v.reward for k, v in streamed.items()} == {
            "s0": 1.0,
            "s1": 0.0,
            "s2": 0.0,
            "s3": 0.0,
        }
        with pytest.raises(ConfigError, match="tasks: 1 tasks for 2 responses"):
            await client.score_batch(MATH, [MathGold("1")], ["1", "2"])  # checked before sending
        with pytest.raises(RemoteError) as error:
            async for _ in client.score_stream([("x", "rlvr_gym/Nope-v0", MathGold("1"), "1")]):
                pass
        assert error.value.code is grpc.StatusCode.INVALID_ARGUMENT


def test_every_listed_env_is_described_the_same_way(stub: object) -> None:
    listed = stub.ListEnvs(rpb.ListEnvsRequest()).envs  # type: ignore[attr-defined]
    for env in listed:
        reply = stub.DescribeEnv(rpb.DescribeEnvRequest(env_id=env.env_id))  # type: ignore[attr-defined]
        assert reply.env == env
