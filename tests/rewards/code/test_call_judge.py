"""The function-call judge: its codec and equality rules, then real runs in Docker.

Codec and equality tests are pure and run everywhere (plus one run of the harness as a
local subprocess, to check the protocol without a daemon). The Docker tests reuse the
sandbox tests' skip rule (skip only where no daemon can run and ``CI`` is not "true")
and their leak check; one module-scoped pool of two containers serves them all.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tests.sandbox.test_docker_pool as pool_tests
from rlvr_gym.errors import ConfigError, DataError
from rlvr_gym.rewards.code import harness, wire
from rlvr_gym.rewards.code.call_judge import (
    CallJudgeConfig,
    ajudge_call,
    fill_expected,
    harness_source,
    judge_call,
    short_repr,
    values_equal,
    wire_source,
)
from rlvr_gym.rewards.code.results import JudgeResult
from rlvr_gym.rewards.code.tasks import CallCase, CodeTask
from rlvr_gym.sandbox.api import Sandbox
from rlvr_gym.sandbox.types import (
    ExecutionLimits,
    ExecutionRequest,
    ExecutionResponse,
    RunResult,
    RunStatus,
)

image = pool_tests.image  # the shared image fixture (builds or reuses the sandbox image)
FAST_LIMITS = ExecutionLimits(cpu_s=3, wall_s=6, output_bytes=4 << 20)
FAST = CallJudgeConfig(call_timeout_s=1.0, limits=FAST_LIMITS)
ADD = "def add(a, b):\n    return a + b\n"


docker_test = pool_tests.docker_test


def call_task(cases: tuple[CallCase, ...] = (), **kwargs: Any) -> CodeTask:
    kwargs.setdefault("entry_point", "add")
    return CodeTask("t/call", "write add(a, b)", kind="call", call_cases=cases, **kwargs)


ADD_TASK = call_task(
    (CallCase((1, 2), 3), CallCase((10, -4), 6)),
    test_code="def check(candidate):\n    assert candidate(20, 22) == 42\n\ncheck(add)\n",
)


@pytest.fixture(scope="module")
def sandbox(image: str) -> Iterator[Sandbox]:
    with pool_tests.leak_checked(pool_size=2) as box:
        yield box


def details(result: JudgeResult) -> str:
    return "\n".join([result.detail, *(t.detail for t in result.tests)])


# --- codec (pure) -------------------------------------------------------------------------

plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.frozensets(st.integers() | st.text(), max_size=4)
        | st.sets(st.integers() | st.text(), max_size=4)
        | st.dictionaries(st.text() | st.integers() | st.tuples(st.integers()), inner, max_size=4)
    ),
    max_leaves=20,
)


def roundtrip(value: Any) -> Any:
    return wire.decode(wire.loads(wire.dumps({"v": wire.encode(value)}))["v"])


def identical(a: Any, b: Any) -> bool:
    """Same types all the way down, same values (floats bit for bit, via repr)."""
    if type(a) is not type(b):
        return False
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    return repr(a) == repr(b) if type(a) in (float, complex) else bool(a == b)


@settings(max_examples=300, deadline=None)
@given(plain)
def test_codec_roundtrip_keeps_values_and_exact_types(value: Any) -> None:
    assert identical(roundtrip(value), value)


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        math.inf,
        -math.inf,
        2**64,
        -(2**1000),
        1 + 2j,
        complex(math.inf, -0.0),
        bytearray(b"\x00x"),
    ],
    ids=repr,
)
def test_codec_special_scalars(value: Any) -> None:
    back = roundtrip(value)
    assert type(back) is type(value)
    assert repr(back) == repr(value)


def test_encode_is_strict_without_coerce_and_converts_with_it() -> None:
    class Int(int):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = int.__hash__

    def gen() -> Iterator[int]:
        yield from (1, 2)

    with pytest.raises(wire.CodecError, match="unsupported type"):
        wire.encode(Int(3))
    with pytest.raises(wire.CodecError, match="unsupported type builtin_function_or_method"):
        wire.encode(len)
    assert type(wire.decode(wire.encode(Int(3), coerce=True))) is int
    drained = [(gen(), [1, 2]), (range(3), [0, 1, 2]), ({1: 2}.keys(), [1]), (map(abs, [-1]), [1])]
    for value, want in drained:
        assert wire.decode(wire.encode(value, coerce=True)) == want
    with pytest.raises(wire.CodecError, match="unsupported return type object"):
        wire.encode(object(), coerce=True)
    deep: list[Any] = []
    deep.append(deep)
    with pytest.raises(wire.CodecError, match="deeper than"):
        wire.encode(deep, coerce=True)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"[1]", "must be a JSON object"),
        (b"{", "not valid JSON"),
        (b'{"a": NaN}', "not valid JSON"),
        (b'{"a": 1, "a": 2}', "not valid JSON"),
        (b'{"a": 123456789012345678901234567890}', "not valid JSON"),
        (b"\xff{}", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON|JSON object"),
        (b'{"a": "' + b"x" * (wire.MAX_MESSAGE_BYTES + 1) + b'"}', "exceeds"),
    ],
    ids=["array", "truncated", "nan", "dup", "bigint", "utf8", "deep-json", "oversized"],
)
def test_loads_rejects_malformed_messages(raw: bytes, match: str) -> None:
    with pytest.raises(wire.CodecError, match=match):
        wire.loads(raw)


def nest(levels: int) -> Any:
    node: Any = ["l"]
    for _ in range(levels):
        node = ["l", node]
    return node


@pytest.mark.parametrize(
    ("node", "match"),
    [
        ({"a": 1}, "tagged array"),
        ([], "tagged array"),
        ([1, 2], "tagged array"),
        (["zz", 1], "unknown tag"),
        (["i", "12g"], "unknown tag or bad payload"),
        (["i", "1" * (wire.MAX_HEX_DIGITS + 1)], "bad payload"),
        (["f", "1.5"], "bad payload"),
        (["b", "!!"], "base64"),
        (["c", 1, 2], "bad payload"),
        (["d", 1], "key/value"),
        (["d", 1, 2, 1, 3], "duplicate"),
        (["d", ["l"], 1], "unhashable"),
        (["s", ["l"]], "unhashable"),
        (2**63, "tagged array"),
        (nest(wire.MAX_DEPTH + 1), "deeper than"),
    ],
    ids=lambda v: str(v)[:20],
)
def test_decode_rejects_bad_values(node: Any, match: str) -> None:
    with pytest.raises(wire.CodecError, match=match):
        wire.decode(node)


def test_decode_caps_elements() -> None:
    with pytest.raises(wire.CodecError, match="more than"):
        wire.decode(["l", *([0] * (wire.MAX_NODES + 1))])
    assert wire.decode(nest(wire.MAX_DEPTH - 1)) is not None


# --- equality and display (pure) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("got", "expected", "atol", "equal"),
    [
        ([1, 2], [1, 2], 0, True),
        ((1, 2), [1, 2], 0, False),
        ({1}, frozenset({1}), 0, False),
        (1.0, 1, 0, True),
        (True, 1, 0, True),
        (0.30000000000000004, 0.3, 0, True),
        (1.00001, 1.0, 0, False),
        (1.00001, 1.0, 1e-4, True),
        (3.0000001, 3, 0, False),  # an int expected value is exact unless atol is given
        (math.nan, math.nan, 0, True),
        (math.nan, 1.0, 0, False),
        (math.inf, math.inf, 0, True),
        (1e308, math.inf, 0, False),
        (2**80, float(2**80), 0, True),
        (10**400, 1.0, 0, False),
        ({"a": [1.0]}, {"a": [1.0000000001]}, 0, True),
        ({"a": 1}, {"b": 1}, 0, False),
        ("1", 1, 0, False),
        (b"x", "x", 0, False),
        (None, None, 0, True),
        ([1.0, "x"], [1.0, "x", 2], 0, False),
        (1 + 1e-9j, 1 + 0j, 0, True),
    ],
)
def test_values_equal(got: Any, expected: Any, atol: float, equal: bool) -> None:
    assert values_equal(got, expected, atol) is equal


def test_short_repr_matches_repr_and_stays_short() -> None:
    values: list[Any] = [[1, (2,), {3: "x"}], frozenset({1}), set(), (), {}, "a'b", [b"x", None]]
    for value in values:
        assert short_repr(value) == repr(value)
    assert len(short_repr(list(range(10**5)), 50)) <= 60
    assert short_repr(10**5000) == "<int of 16610 bits>"


def test_config_validates() -> None:
    with pytest.raises(ConfigError, match="call_timeout_s"):
        CallJudgeConfig(call_timeout_s=0)
    with pytest.raises(ConfigError, match="kind='call'"):
        judge_call(None, CodeTask("t", "p"), ADD)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="neither call_cases nor test_code"):
        judge_call(None, call_task(), ADD)  # type: ignore[arg-type]


class Canned:
    """A stand-in sandbox whose one run prints ``reply(nonce)`` (verdict logic, no Docker)."""

    def __init__(self, reply: Callable[[str], str], status: RunStatus = "ok") -> None:
        self.reply, self.status = reply, status
        self.limits = ExecutionLimits()
        self.backend = self

    def execute(self, request: ExecutionRequest) -> ExecutionResponse:
        nonce = json.loads(request.inputs[0])["nonce"]
        run = RunResult(self.status, exit_code=0, stdout=self.reply(nonce).encode())
        return ExecutionResponse(None, (run,))


THREE = {"status": "value", "value": 3}
GOOD = {"load_error": None, "cases": [THREE, THREE], "test": {"status": "passed"}}
FAILED_TEST = {**GOOD, "test": {"status": "failed", "error": "AssertionError"}}
BAD_VALUES = {**GOOD, "cases": [{"status": "value", "value": ["zz"]}] * 2}


def line(nonce: str, report: dict[str, Any] | str = GOOD) -> str:
    text = report if isinstance(report, str) else json.dumps(report)
    return f"RLVR-HARNESS-RESULT {nonce} {text}\n"


@pytest.mark.parametrize(
    ("reply", "status", "passed"),
    [
        (lambda n: line(n), "failed", 2),  # both cases return 3: one right, one wrong; test ok
        (lambda n: line("0" * 32) + line("-"), "failed", 0),  # guessed nonces only
        (lambda n: line(n) + line("ab" * 16, {"harness_error": "x"}), "failed", 2),
        (lambda n: line(n, FAILED_TEST) + line(n), "failed", 2),
        (lambda n: line(n) + line(n, {**GOOD, "cases": []}), "failed", 0),  # last line wins
        (lambda n: line(n).rstrip("\n"), "failed", 0),  # no newline: maybe cut short
        (lambda n: line(n, '{"cases": ['), "failed", 0),
        (lambda n: line(n, BAD_VALUES), "failed", 0),
        (lambda n: line(n, {"harness_error": "setup_code raised"}), "infra_error", 0),
    ],
)
def test_verdict_comes_from_the_last_line_with_our_nonce(
    reply: Callable[[str], str], status: str, passed: int
) -> None:
    task = call_task((CallCase((1, 2), 3), CallCase((10, -4), 6)), test_code="add(1, 2)\n")
    result = judge_call(Canned(reply), task, ADD)  # type: ignore[arg-type]
    assert (result.status, result.passed) == (status, passed), result


def test_a_sandbox_failure_is_infra_error_and_a_killed_harness_is_not() -> None:
    task = call_task((CallCase((1, 2), 3),))
    sick = judge_call(Canned(lambda n: "", status="infra_error"), task, ADD)  # type: ignore[arg-type]
    assert sick.status == "infra_error"
    killed = judge_call(Canned(lambda n: "", status="memory_limit"), task, ADD)  # type: ignore[arg-type]
    assert (killed.status, killed.tests[0].status) == ("failed", "memory_limit")
    assert "harness was killed or disrupted" in killed.detail


def run_locally(
    tmp_path: Path, program: str, task: CodeTask, *, source: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The harness as a plain local process (no sandbox): its stdout and its report."""
    (tmp_path / "main.py").write_text(source or harness_source())
    (tmp_path / "rlvr_wire.py").write_text(wire_source())
    (tmp_path / "solution.py").write_text(program)
    payload = {
        "nonce": "ab" * 16,
        "entry_point": task.entry_point,
        "setup_code": task.setup_code,
        "test_code": task.test_code,
        "cases": [wire.encode(tuple(case.args)) for case in task.call_cases],
        "call_timeout_s": 5,
        "load_timeout_s": 5,
        "budget_s": 20,
        "stop_on_first_failure": False,
        "max_result_bytes": 1 << 20,
    }
    proc = subprocess.run(
        [sys.executable, "main.py"],
        cwd=tmp_path,
        input=wire.dumps(payload),
        capture_output=True,
        timeout=60,
    )
    stdout = proc.stdout.decode()
    prefix = f"{harness.RESULT_PREFIX} {payload['nonce']} "
    lines = [x for x in stdout.splitlines() if x.startswith(prefix)]
    return stdout, wire.loads(lines[-1][len(prefix) :].encode()) if lines else {}


def test_harness_runs_as_a_local_process(tmp_path: Path) -> None:
    """The protocol end to end without Docker (the process is not a sandbox here)."""
    task = call_task(
        (CallCase((1, 2), None), CallCase(("a", 1), None)),
        test_code="assert add(1, 1) == 2\nassert add(*[2], b=3) == 5\n",
    )
    stdout, report = run_locally(tmp_path, ADD + "print('hi')\n", task)
    assert stdout.strip().startswith("RLVR-HARNESS-RESULT " + "ab" * 16 + " ")
    assert report["cases"][0]["value"] == 3
    assert report["cases"][1]["error"].startswith("TypeError: can only concatenate str")
    assert report["test"] == {"status": "passed"}
    assert report["log"] == "hi\n"


# --- real sandbox ---------------------------------------------------------------------------


@docker_test
def test_correct_solution_passes_cases_and_test_code(sandbox: Sandbox) -> None:
    result = judge_call(sandbox, ADD_TASK, ADD, config=FAST)
    assert (result.status, result.passed, result.total) == ("passed", 3, 3)
    assert [t.status for t in result.tests] == ["passed"] * 3
    assert result.tests[0].input == "add(1, 2)" and result.tests[0].got == "3"


@docker_test
def test_wrong_value_fails_with_a_useful_detail(sandbox: Sandbox) -> None:
    result = judge_call(sandbox, ADD_TASK, "def add(a, b):\n    return a * b\n", config=FAST)
    assert (result.status, result.passed) == ("failed", 0)
    first = result.tests[0]
    assert (first.status, first.expected, first.got) == ("wrong_answer", "3", "2")
    assert first.detail == "add(1, 2) returned 2, expected 3"
    assert result.tests[2].status == "wrong_answer"
    assert "test_code line 2: assert candidate(20, 22) == 42" in result.tests[2].detail
    assert result.detail.startswith("test 0 (add(1, 2)): wrong_answer")


@docker_test
def test_exception_is_a_runtime_error_with_its_message(sandbox: Sandbox) -> None:
    program = "def add(a, b):\n    raise ValueError('nope')\n"
    result = judge_call(sandbox, ADD_TASK, program, config=FAST)
    assert result.status == "failed"
    assert [t.status for t in result.tests] == ["runtime_error"] * 3
    assert result.tests[0].detail == "ValueError: nope (solution.py line 2)"


@docker_test
def test_per_call_timeout_stops_the_candidate(sandbox: Sandbox) -> None:
    program = textwrap.dedent(
        """\
        import time
        def add(a, b):
            if a == 10:
                time.sleep(60)
            return a + b
        """
    )
    result = judge_call(sandbox, ADD_TASK, program, config=FAST)
    assert [t.status for t in result.tests] == ["passed", "timeout", "not_run"]
    assert result.tests[1].detail == "no reply in 1 s"
    assert result.passed == 1


@docker_test
def test_setup_helpers_are_usable_by_test_code(sandbox: Sandbox) -> None:
    task = call_task(
        entry_point="decode_shift",
        setup_code="def encode_shift(s):\n    return ''.join(chr(ord(c) + 1) for c in s)\n",
        test_code=textwrap.dedent(
            """\
            def check(candidate):
                for s in ["abc", "xyz"]:
                    assert candidate(encode_shift(s)) == s

            check(decode_shift)
            """
        ),
    )
    good = "def decode_shift(s):\n    return ''.join(chr(ord(c) - 1) for c in s)\n"
    assert judge_call(sandbox, task, good, config=FAST).status == "passed"
    result = judge_call(sandbox, task, "def decode_shift(s):\n    return s\n", config=FAST)
    assert result.status == "failed" and "AssertionError" in result.tests[0].detail


@docker_test
def test_value_semantics(sandbox: Sandbox) -> None:
    task = call_task(
        (
            CallCase((0.1, 0.2), 0.3),
            CallCase((1.0, 0.004), 1.0, atol=0.01),
            CallCase(((1,), (2,)), (1, 2)),
            CallCase((2**100, 1), 2**100 + 1),
            CallCase((math.inf, -math.inf), math.nan),
            CallCase(([1], [2]), [1, 2]),
        )
    )
    result = judge_call(sandbox, task, ADD, config=FAST)
    assert result.status == "passed", result.tests
    as_list = "def add(a, b):\n    return list(a + b) if isinstance(a, tuple) else a + b\n"
    result = judge_call(sandbox, task, as_list, config=FAST)
    assert [t.status for t in result.tests][2] == "wrong_answer"
    assert "(type list, expected tuple)" in result.tests[2].detail


@docker_test
def test_generators_numpy_and_subclasses_come_back_as_plain_values(sandbox: Sandbox) -> None:
    task = call_task((CallCase((3,), [0, 1, 2]), CallCase((0,), [])), entry_point="f")
    bodies = [
        "return (i for i in range(n))",
        "return range(n)",
        "return map(int, range(n))",
        "import numpy\n    return numpy.arange(n)",
        "return type('L', (list,), {})(range(n))",
    ]
    for body in bodies:
        result = judge_call(sandbox, task, f"def f(n):\n    {body}\n", config=FAST)
        assert result.status == "passed", (body, result.tests)
    scalar = call_task((CallCase((3,), 3),), entry_point="f")
    program = "import numpy\ndef f(n):\n    return numpy.int64(n)\n"
    assert judge_call(sandbox, scalar, program, config=FAST).status == "passed"


@docker_test
def test_test_code_sees_exceptions_and_keywords(sandbox: Sandbox) -> None:
    task = call_task(
        entry_point="div",
        test_code=textwrap.dedent(
            """\
            try:
                div(1, b=0)
            except ZeroDivisionError:
                pass
            else:
                raise AssertionError("no error")
            assert div(a=6, b=3) == 2
            """
        ),
    )
    program = "def div(a, b):\n    return a // b\n"
    assert judge_call(sandbox, task, program, config=FAST).status == "passed"
    limited = call_task(entry_point="div", test_code="assert div(len, 1) == 1\n")
    result = judge_call(sandbox, limited, "def div(a, b):\n    return 1\n", config=FAST)
    assert result.status == "failed" and "judge limitation" in result.tests[0].detail


@docker_test
def test_stop_on_first_failure_skips_the_rest(sandbox: Sandbox) -> None:
    config = CallJudgeConfig(call_timeout_s=1.0, limits=FAST.limits, stop_on_first_failure=True)
    program = "def add(a, b):\n    if a == 1:\n        raise KeyError(a)\n    return a + b\n"
    result = judge_call(sandbox, ADD_TASK, program, config=config)
    assert [t.status for t in result.tests] == ["runtime_error", "not_run", "not_run"]


@docker_test
def test_blank_program_bad_setup_and_huge_values(sandbox: Sandbox) -> None:
    assert judge_call(sandbox, ADD_TASK, "  \n", config=FAST).status == "no_answer"
    broken = call_task(setup_code="raise RuntimeError('dataset bug')", test_code="add(1, 2)\n")
    result = judge_call(sandbox, broken, ADD, config=FAST)
    assert result.status == "infra_error" and "dataset bug" in result.detail
    big = call_task((CallCase((10**6,), 0),), entry_point="f")
    config = CallJudgeConfig(limits=ExecutionLimits(cpu_s=5, wall_s=10, output_bytes=1 << 20))
    result = judge_call(sandbox, big, "def f(n):\n    return 'x' * (4 * n)\n", config=config)
    (outcome,) = result.tests
    assert outcome.status == "runtime_error" and "too large to report" in outcome.detail


@docker_test
def test_ajudge_call_runs_in_a_thread(sandbox: Sandbox) -> None:
    result = asyncio.run(ajudge_call(sandbox, ADD_TASK, ADD, config=FAST))
    assert result.status == "passed"


@docker_test
def test_fill_expected_round_trip(sandbox: Sandbox) -> None:
    reference = textwrap.dedent(
        """\
        import time
        def f(x):
            if x == 0:
                raise ValueError("zero")
            if x == 5:
                time.sleep(60)
            return (x, [x * 2], {x: 1.5})
        """
    )
    inputs = (1, 0, 5, 2**70, 3)
    cases = tuple(CallCase((x,), None) for x in inputs)
    task = call_task(cases, entry_point="f", reference=reference)
    filled = fill_expected(sandbox, task, config=FAST)
    assert [c.args for c in filled.call_cases] == [(1,), (2**70,), (3,)]
    assert filled.call_cases[0].expected == (1, [2], {1: 1.5})
    dropped = filled.metadata["fill_expected_dropped"]
    assert [index for index, _ in dropped] == [1, 2]
    assert "ValueError: zero" in dropped[0][1] and "timeout" in dropped[1][1]
    assert judge_call(sandbox, filled, reference, config=FAST).status == "passed"
    with pytest.raises(DataError, match="failed to load"):
        fill_expected(sandbox, call_task((CallCase((1,), None),), reference="1/0"), config=FAST)


@docker_test
def test_the_preloaded_harness_is_used_and_a_stale_one_is_replaced(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlvr_gym.rewards.code import call_judge

    sent: list[set[str]] = []
    execute = sandbox.backend.execute

    def spy(request: ExecutionRequest) -> ExecutionResponse:
        sent.append(set(request.files))
        return execute(request)

    monkeypatch.setattr(sandbox.backend, "execute", spy)
    assert judge_call(sandbox, ADD_TASK, ADD, config=FAST).status == "passed"
    assert sent[-1] == {"main.py", "solution.py"}  # the image's copy did the judging
    # A harness that differs from the image's (a stale image): sent along, and used.
    call_judge._preloaded.pop(sandbox, None)
    monkeypatch.setattr(call_judge, "harness_source", lambda: harness_source() + "\n# v2\n")
    call_judge._preloaded_main.cache_clear()
    try:
        assert judge_call(sandbox, ADD_TASK, ADD, config=FAST).status == "passed"
        assert sent[-2:] == [
            {"main.py", "solution.py"},
            {"main.py", "rlvr_harness.py", "rlvr_wire.py", "solution.py"},
        ]
        assert judge_call(sandbox, ADD_TASK, ADD, config=FAST).status == "passed"
        assert len(sent[-1]) == 4  # remembered: no second round trip
    finally:
        call_judge._preloaded.pop(sandbox, None)
        call_judge._preloaded_main.cache_clear()
