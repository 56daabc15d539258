"""Benchmark: the gRPC reward service under 64 concurrent GRPO clients, against in-process.

Why this exists: a trainer that scores over the network must lose nothing, get the same
rewards it would get in-process, and not be slowed down much by the hop. This measures
all three in one run on one machine and prints the ratio of service throughput to
in-process scoring of the same batches (target: >= 0.8x on batched math).

Workload (GRPO-shaped: every request is one ``ScoreBatch`` of ``--group-size`` G
responses to one task, G = 8 by default):

* **math**, ``--math`` responses (10 000: 1 250 groups). The 100 problems x 8 real
  Qwen2.5-Math responses of ``../shared/data/math/qwen25math_cot_labeled.jsonl``, a group
  being one problem's 8 responses, copied until there are enough, each response made
  unique by a sentence inserted at its start. The right answer for each response (the
  *oracle*) is what an in-process ``MathReward.score_batch`` over all of them returns,
  computed up front in a pool of its own; Qwen's grader labels are shown beside it, for
  information only.
* **code**, ``--code`` responses (1 000: 125 groups). One HumanEval task per group (the
  first 125 tasks), half the group its canonical solution, half wrong by construction,
  rotating through: a function that raises, a syntax error, a module that calls
  ``sys.exit(0)`` before any test (a reward hack, worth nothing), and prose without a
  program (``no_answer``). Each response is unique (an ``# attempt`` comment), inside a
  fenced block as a model writes it. Right: reward 1, ``correct``; wrong: reward 0,
  ``incorrect`` (``no_answer`` for prose).

Two ways of scoring the same groups, with the same concurrency, ``--clients`` (64)
asyncio tasks in this process each taking the next request from a shared queue:

* **in-process**: ``await MathReward(workers=cpus).ascore_batch(responses, gold)`` (its
  pool dispatched by this event loop, ``use_event_loop``, as the server's is by its own)
  and ``await CodeReward(backend="docker", pool_size=2).ascore_batch(task, responses)``,
  the very calls the server makes per request, so the only difference is the service.
* **service**: the real server, ``rlvr-gym serve`` in a subprocess (so the clients' event
  loop does not share a GIL with it), configured by a TOML file: ``math_workers`` = cpus,
  ``sandbox_pool_size`` = 2, ``max_inflight`` = ``max_queue`` = clients x G x K (every
  request admitted at once, as in-process; nothing refused). The clients share one
  ``AsyncRewardClient`` (one channel): that is how a trainer process talks to the
  service; gRPC multiplexes the 64 calls as HTTP/2 streams on one connection, and more
  channels in one process would add no CPU (one event loop, one GIL). Math tasks are
  sent inline (``MathGold``); code tasks by id (``TaskId``, the server loads the same
  HumanEval file through ``data_paths``) or inline with ``--code-tasks inline``.

``--groups-per-request K`` puts K groups in one ``ScoreBatch`` (each group's task sent
once, responses pointing at it through ``task_index``), as a trainer or ``rlvr-gym score
--remote`` sends a step's rollouts in chunks (K = 8 is its chunk of 64); in-process then
gets the same K groups per ``ascore_batch`` call.

**math-step**, the workload of the 0.8x target: the same math responses sent as a trainer
sends a GRPO step, ``--step-groups`` groups (32, so 256 responses) per ``ScoreBatch``
and ``--step-clients`` steps in flight (4), ``--step-passes`` times per round (4, so each
side's timed window is about a second rather than a quarter, which one hiccup of a
shared machine would swing).

**Transport floor** (``_grpc_floor``, after the rounds; ``--no-floor`` skips it): the
math-step calls again, against a ``grpc.aio`` server that grades nothing and answers each
response with a fixed score encoded as ours are. Its client and server CPU per response
is what the hop alone costs; next to in-process CPU per response it bounds the ratio any
Python gRPC service could reach when client, server and graders share these cores.

Every response's reward and status is compared with the oracle (math) or construction
(code): **lost** = a request that raised after the client's retries, or a reply with the
wrong number of scores; **wrong** = a score whose reward or status differs. The client's
retries (``RESOURCE_EXHAUSTED``/``UNAVAILABLE``) are counted. First, untimed, each side
scores the math workload once (``--warmup-rounds``): the workers import what grading
needs and fill their parse caches, as in a long run (the 800 distinct responses repeat, so
after that, grading is the cheap, cached case: the hardest one for the service's ratio).
Then each of the ``--rounds`` rounds runs math in-process, math service, code in-process,
code service, so a change in the machine's load hits both sides; throughput is responses
over the summed wall time of a method's rounds, latency is per request, client-side. CPU
seconds of this process (the clients, or in-process the pool's parent side), the server
process and their worker processes are recorded per phase (sandbox containers' CPU is
not: it is the Docker daemon's).

Run (from the repo root, venv active, a Docker daemon running, the sandbox image built)::

    python bench/grpc_load.py            # 10 000 math + 1 000 code responses, 3 rounds
    python bench/grpc_load.py --quick    # 800 math + 80 code, 1 round, no warm-up pass
    python bench/grpc_load.py --code 0   # math only (no Docker needed)
    python bench/grpc_load.py --groups-per-request 8   # 64 responses per ScoreBatch

Outputs: a table on stdout (with the load average: the machine may be shared),
``bench/out/grpc_load.json`` and, when matplotlib is installed, ``bench/out/grpc_load.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/_common.py
import _grpc_floor
from _common import docker_ps, percentile, ratio

from rlvr_gym.rewards.code.datasets import load_humaneval
from rlvr_gym.rewards.code.tasks import CodeTask
from rlvr_gym.rewards.types import RewardResult, Status
from rlvr_gym.server.client import AsyncRewardClient, MathGold, TaskId

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MATH_DATA = DATA / "math" / "qwen25math_cot_labeled.jsonl"
HUMANEVAL = DATA / "code" / "HumanEval.jsonl.gz"
OUT_DIR = ROOT / "bench" / "out"
MATH_ENV = "rlvr_gym/Math-v0"
CODE_ENV = "rlvr_gym/HumanEval-v0"
METHODS = ("in-process", "service")
TARGETS = {"math-step": 0.8}  # service / in-process responses per second
KINDS = ("math", "math-step", "code")
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 90.0
WRONG_KINDS = ("raises", "syntax_error", "exit_0", "prose")


# --------------------------------------------------------------------------- workload


@dataclass(frozen=True)
class Group:
    """One request: G responses to one task, and what each should earn.

    Attributes:
        kind: ``math`` or ``code``.
        task: the gold answer (math) or the task (code).
        responses: the G responses.
        expected: ``(reward, status)`` per response: the oracle's (math, filled in by
            :func:`math_oracle`) or by construction (code).
        labels: what each response is: Qwen's grader label (math) or the variant (code).
    """

    kind: str
    task: str | CodeTask
    responses: tuple[str, ...]
    expected: tuple[tuple[float, str], ...] = ()
    labels: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The task's name in reports."""
        return self.task if isinstance(self.task, str) else self.task.task_id


def math_groups(total: int, size: int) -> list[Group]:
    """``total // size`` groups of ``size`` real responses to one problem, each unique."""
    if not MATH_DATA.exists():
        sys.exit(f"bench: data file not found: {MATH_DATA}")
    with MATH_DATA.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    groups = []
    for g in range(total // size):
        row, copy = rows[g % len(rows)], g // len(rows)
        picks = [j % len(row["code"]) for j in range(size)]
        responses = tuple(
            f"(Attempt {copy + 1}, sample {j} of problem {row['idx']}.) {row['code'][k]}"
            for j, k in enumerate(picks)
        )
        labels = tuple("label:correct" if row["score"][k] else "label:incorrect" for k in picks)
        groups.append(Group("math", str(row["gt"]), responses, labels=labels))
    return groups


def wrong_program(task: CodeTask, kind: str) -> str | None:
    """A response to ``task`` that must earn nothing; ``None`` for prose (no program)."""
    entry = task.entry_point or "solution"
    if kind == "raises":
        return f"def {entry}(*args, **kwargs):\n    raise ValueError('not implemented')\n"
    if kind == "syntax_error":
        return f"def {entry}(*args, **kwargs)\n    return args[0]\n"  # no colon
    if kind == "exit_0":  # "all tests passed" by exit status: a classic reward hack
        return f"import sys\nsys.exit(0)\n\ndef {entry}(*args, **kwargs):\n    return None\n"
    if kind == "prose":
        return None
    raise ValueError(f"unknown wrong kind {kind!r}")


def code_response(program: str | None, tag: str) -> str:
    """What a model writes: a sentence, then the program in a fenced block (or only prose)."""
    if program is None:
        return f"({tag}) I am not sure how to solve this one, sorry; no code this time."
    return f"({tag}) Here is my solution.\n\n```python\n# {tag}\n{program}```\n"


def code_groups(tasks: Sequence[CodeTask], total: int, size: int) -> list[Group]:
    """``total // size`` groups, one task each: even slots right, odd slots wrong."""
    groups = []
    for g in range(total // size):
        task = tasks[g % len(tasks)]
        responses, expected, labels = [], [], []
        for j in range(size):
            tag = f"attempt {g}.{j}"
            program: str | None
            if j % 2 == 0:
                kind, program = "canonical", task.reference or ""
                want = (1.0, Status.CORRECT.value)
            else:
                kind = WRONG_KINDS[(g * size + j) // 2 % len(WRONG_KINDS)]
                program = wrong_program(task, kind)
                status = Status.NO_ANSWER if program is None else Status.INCORRECT
                want = (0.0, status.value)
            responses.append(code_response(program, tag))
            expected.append(want)
            labels.append(kind)
        groups.append(Group("code", task, tuple(responses), tuple(expected), tuple(labels)))
    return groups


def math_oracle(groups: Sequence[Group], workers: int) -> tuple[list[Group], dict[str, Any]]:
    """Fill ``expected`` with an in-process ``MathReward.score_batch`` over every response."""
    from rlvr_gym.rewards.math.reward import MathReward

    responses = [r for g in groups for r in g.responses]
    golds = [str(g.task) for g in groups for _ in g.responses]
    print(f"oracle: MathReward.score_batch over {len(responses)} responses ...", file=sys.stderr)
    with MathReward(workers=workers) as reward:
        results = reward.score_batch(responses, golds)
    out, i = [], 0
    statuses: collections.Counter[str] = collections.Counter()
    agree = 0
    for g in groups:
        chunk = results[i : i + len(g.responses)]
        i += len(g.responses)
        statuses.update(r.status.value for r in chunk)
        agree += sum(
            (r.status is Status.CORRECT) == (label == "label:correct")
            for r, label in zip(chunk, g.labels, strict=True)
        )
        expected = tuple((r.reward, r.status.value) for r in chunk)
        out.append(Group(g.kind, g.task, g.responses, expected, g.labels))
    info = {
        "statuses": dict(statuses),
        "agree_with_qwen_labels": agree,
        "responses": len(responses),
        "infra_error_or_timeout": statuses["infra_error"] + statuses["timeout"],
    }
    return out, info


# --------------------------------------------------------------------------- measuring


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = collections.defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                tree[ppid].append(int(entry.name))
    return tree


def descendants(pid: int, exclude: int | None = None) -> list[int]:
    """Every process under ``pid`` (not itself), skipping the subtree of ``exclude``."""
    tree, out, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child != exclude:
                out.append(child)
                todo.append(child)
    return out


@dataclass
class CpuMeter:
    """CPU seconds of named processes and their descendants over a phase."""

    roots: dict[str, tuple[int, int | None]]  # name -> (pid, subtree to leave out)
    start: dict[str, float] = field(default_factory=dict)

    def sample(self) -> dict[str, float]:
        """Current CPU seconds: ``<name>`` for the process, ``<name> workers`` below it.

        Descendants that ended during the phase are not counted (workers live all run).
        """
        out = {}
        for name, (pid, exclude) in self.roots.items():
            out[name] = _cpu_of(pid)
            out[f"{name} workers"] = sum(_cpu_of(p) for p in descendants(pid, exclude))
        return out

    def __enter__(self) -> CpuMeter:
        self.start = self.sample()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self.sample()
        self.start = {k: round(end[k] - self.start.get(k, 0.0), 3) for k in end}


@dataclass
class Phase:
    """One method scoring one kind of workload, over every round."""

    method: str
    kind: str
    requests: int = 0
    responses: int = 0
    elapsed_s: float = 0.0
    latencies: list[float] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    wrong: list[dict[str, Any]] = field(default_factory=list)
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    cpu_s: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def per_s(self) -> float:
        """Responses scored per second of wall time."""
        return self.responses / self.elapsed_s if self.elapsed_s else 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "method": self.method,
            "kind": self.kind,
            "requests": self.requests,
            "responses": self.responses,
            "elapsed_s": round(self.elapsed_s, 3),
            "responses_per_s": round(self.per_s, 1),
            "requests_per_s": round(ratio(self.requests, self.elapsed_s), 1),
            "latency_ms": {
                f"p{q}": round(1e3 * percentile(self.latencies, q), 2) for q in (50, 90, 99, 100)
            },
            "lost": len(self.lost),
            "wrong": len(self.wrong),
            "statuses": dict(self.statuses),
            "cpu_s": {k: round(v, 2) for k, v in self.cpu_s.items()},
            "rounds": self.rounds,
            "lost_detail": self.lost[:20],
            "wrong_detail": self.wrong[:20],
        }


Request = tuple[Group, ...]  # what one call carries: one group, or --groups-per-request
Scorer = Callable[[Request], Awaitable[list[RewardResult]]]


def requests_of(groups: Sequence[Group], per_request: int) -> list[Request]:
    """Consecutive groups, ``per_request`` to a request (the last may hold fewer)."""
    return [tuple(groups[i : i + per_request]) for i in range(0, len(groups), per_request)]


def _same(got: RewardResult, want: tuple[float, str]) -> bool:
    return got.status.value == want[1] and math.isclose(got.reward, want[0], abs_tol=1e-9)


def check(phase: Phase, request: Request, results: Sequence[RewardResult]) -> None:
    """Count the reply's statuses; record every score that is not the expected one."""
    n = sum(len(g.responses) for g in request)
    if len(results) != n:
        phase.lost.append(f"{request[0].key}: {len(results)} scores for {n} responses")
        return
    i = 0
    for group in request:
        for j, want in enumerate(group.expected):
            got = results[i]
            i += 1
            phase.statuses[got.status.value] += 1
            if not _same(got, want):
                phase.wrong.append(
                    {
                        "task": group.key,
                        "response": j,
                        "what": group.labels[j] if group.labels else "",
                        "expected": list(want),
                        "got": [got.reward, got.status.value],
                        "detail": got.detail[:300],
                    }
                )


async def drive(
    phase: Phase, requests: Sequence[Request], score: Scorer, clients: int, label: str
) -> float:
    """``clients`` tasks take requests from one queue and score them; checks every reply.

    Returns the wall time from the first request to the last reply.
    """
    queue: asyncio.Queue[Request] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    total = sum(len(g.responses) for request in requests for g in request)
    bar = tqdm(total=total, desc=label, unit="resp", file=sys.stderr, leave=False)

    async def client() -> None:
        while True:
            try:
                request = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            size = sum(len(g.responses) for g in request)
            started = time.perf_counter()
            try:
                results = await score(request)
            except Exception as exc:  # lost: the request did not come back
                phase.latencies.append(time.perf_counter() - started)
                phase.lost.append(f"{request[0].key}: {type(exc).__name__}: {exc}"[:300])
                bar.update(size)
                continue
            phase.latencies.append(time.perf_counter() - started)
            bar.update(size)
            check(phase, request, results)

    start = time.perf_counter()
    with bar:
        await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    phase.requests += len(requests)
    phase.responses += total
    phase.elapsed_s += elapsed
    return elapsed


# --------------------------------------------------------------------------- the server


class CountingClient(AsyncRewardClient):
    """``AsyncRewardClient`` that counts the retries it makes, by status code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retries: collections.Counter[str] = collections.Counter()

    def _retry_after(self, exc: grpc.RpcError, attempt: int, deadline: float | None) -> float:
        pause = super()._retry_after(exc, attempt, deadline)  # raises when not retrying
        code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
        self.retries[code.name] += 1
        return pause


def server_toml(args: argparse.Namespace, data_path: Path) -> str:
    """The server's settings: every request admitted at once, nothing refused."""
    admitted = args.group_size * max(
        args.clients * args.groups_per_request, args.step_clients * args.step_groups
    )
    lines = {
        "address": "127.0.0.1:0",
        "metrics_address": "",
        "envs": [MATH_ENV, CODE_ENV],
        "math_workers": args.math_workers,
        "sandbox_backend": "docker",
        "sandbox_pool_size": args.pool_size,
        "max_inflight": admitted,
        "max_queue": admitted,
        "log_format": "json",
        "log_level": "info",
    }
    text = "".join(f"{key} = {json.dumps(value)}\n" for key, value in lines.items())
    return text + f'\n[data_paths]\n"{CODE_ENV}" = {json.dumps(str(data_path))}\n'


def _cli() -> list[str]:
    beside = Path(sys.executable).with_name("rlvr-gym")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("rlvr-gym")
    if found is None:
        sys.exit("bench: the rlvr-gym command is not installed (pip install -e '.[grpc]')")
    return [found]


@contextlib.contextmanager
def running_server(config: Path, log_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``rlvr-gym serve --config`` in a subprocess; yields it and its ``HOST:PORT``."""
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [*_cli(), "serve", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        address = _await_address(proc, log_path)
        yield proc, address
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _await_address(proc: subprocess.Popen[str], log_path: Path) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if sel.select(timeout=1.0):
                line = proc.stdout.readline()
                if "serving on" in line:
                    return line.strip().rpartition(" ")[2]
                if not line and proc.poll() is not None:
                    break
    tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
    sys.exit(f"bench: the server did not start (exit {proc.poll()}); its log:\n{tail}")


# --------------------------------------------------------------------------- the run


@dataclass
class Run:
    """Everything one benchmark run measured."""

    phases: dict[tuple[str, str], Phase] = field(default_factory=dict)
    startup_s: dict[str, float] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    oracle: dict[str, Any] = field(default_factory=dict)
    server_pid: int = 0
    server_log_tail: str = ""
    server_exit: int | None = None


async def measure(
    args: argparse.Namespace,
    workload: dict[str, list[Group]],
    address: str,
    server_pid: int,
    run: Run,
) -> None:
    """Warm both sides up, then alternate in-process and service, round by round."""
    from rlvr_gym.rewards.code.reward import CodeReward
    from rlvr_gym.rewards.math.reward import MathReward

    stack = contextlib.ExitStack()
    client = CountingClient(address, timeout_s=args.timeout)
    started = time.perf_counter()
    with stack:
        math_reward = stack.enter_context(MathReward(workers=args.math_workers))
        math_reward.pool.use_event_loop()  # as the server does with its own
        warm = [f"(Warm-up {i}.) \\boxed{{1}}" for i in range(4 * args.math_workers)]
        await math_reward.ascore_batch(warm, "1")
        run.startup_s["in-process math pool + warm-up"] = time.perf_counter() - started
        started = time.perf_counter()
        await client.score_batch(MATH_ENV, MathGold("1"), warm)
        run.startup_s["service math (first call starts its pool)"] = time.perf_counter() - started
        code_reward = None
        if workload["code"]:
            first = workload["code"][0]
            warm_code = [f"(Warm-up {i}.)\n{first.responses[0]}" for i in range(2 * args.pool_size)]
            started = time.perf_counter()
            code_reward = stack.enter_context(
                CodeReward(backend="docker", pool_size=args.pool_size)
            )
            await code_reward.ascore_batch(first.task, warm_code)
            run.startup_s["in-process code pool + warm-up"] = time.perf_counter() - started
            started = time.perf_counter()
            await client.score_batch(CODE_ENV, _code_ref(first, args), warm_code)
            run.startup_s["service code (first call starts its pool)"] = (
                time.perf_counter() - started
            )

        def flat(request: Request) -> list[str]:
            return [r for g in request for r in g.responses]

        def each(request: Request, ref: Callable[[Group], Any]) -> Any:
            """One task for all (one group: the ``task`` field), else one per response."""
            if len(request) == 1:
                return ref(request[0])
            return [ref(g) for g in request for _ in g.responses]

        async def math_local(request: Request) -> list[RewardResult]:
            golds = [str(g.task) for g in request for _ in g.responses]
            return await math_reward.ascore_batch(flat(request), golds)  # as the server does

        async def math_remote(request: Request) -> list[RewardResult]:
            task = each(request, lambda g: MathGold(str(g.task)))
            return await client.score_batch(MATH_ENV, task, flat(request))

        async def code_local(request: Request) -> list[RewardResult]:
            assert code_reward is not None
            tasks = [g.task for g in request for _ in g.responses]
            return await code_reward.ascore_batch(tasks, flat(request))

        async def code_remote(request: Request) -> list[RewardResult]:
            task = each(request, lambda g: _code_ref(g, args))
            return await client.score_batch(CODE_ENV, task, flat(request))

        scorers: dict[tuple[str, str], Scorer] = {
            ("math", "in-process"): math_local,
            ("math", "service"): math_remote,
            ("math-step", "in-process"): math_local,
            ("math-step", "service"): math_remote,
            ("code", "in-process"): code_local,
            ("code", "service"): code_remote,
        }
        # Untimed: a pass over the math workload on each side, so both sides' workers have
        # imported what grading needs and hold the parse caches a long run holds. Checked
        # like the timed rounds (a loss or a wrong score here counts).
        if args.warmup_rounds:
            for method in METHODS:
                phase = run.phases.setdefault(("math", method), Phase(method, "math"))
                warm_phase = Phase(method, "math")
                started = time.perf_counter()
                for r in range(args.warmup_rounds):
                    await drive(
                        warm_phase,
                        requests_of(workload["math"], args.groups_per_request),
                        scorers[("math", method)],
                        args.clients,
                        f"warm-up {r + 1}/{args.warmup_rounds} math | {method:<10}",
                    )
                phase.lost += warm_phase.lost
                phase.wrong += warm_phase.wrong
                run.startup_s[f"warm-up pass, math {method} (untimed)"] = (
                    time.perf_counter() - started
                )
        client.retries.clear()
        me = os.getpid()
        for r in range(args.rounds):
            for (kind, method), scorer in scorers.items():
                groups = workload[kind]
                if not groups:
                    continue
                step = kind == "math-step"  # a trainer's whole step in one call
                per_request = args.step_groups if step else args.groups_per_request
                requests = requests_of(groups, per_request) * (args.step_passes if step else 1)
                clients = args.step_clients if step else args.clients
                phase = run.phases.setdefault((kind, method), Phase(method, kind))
                roots = {"bench": (me, server_pid), "server": (server_pid, None)}
                load = os.getloadavg()[0]
                label = f"round {r + 1}/{args.rounds} {kind:>4} | {method:<10}"
                with CpuMeter(roots) as cpu:
                    elapsed = await drive(phase, requests, scorer, clients, label)
                phase.cpu_s.update(cpu.start)
                n = sum(len(g.responses) for request in requests for g in request)
                phase.rounds.append(
                    {
                        "round": r + 1,
                        "elapsed_s": round(elapsed, 3),
                        "responses_per_s": round(n / elapsed, 1),
                        "loadavg_1m_before_after": [round(load, 2), round(os.getloadavg()[0], 2)],
                        "cpu_s": cpu.start,
                    }
                )
        run.retries = dict(client.retries)
        await client.close()


def _code_ref(group: Group, args: argparse.Namespace) -> TaskId | CodeTask:
    assert isinstance(group.task, CodeTask)
    return group.task if args.code_tasks == "inline" else TaskId(group.task.task_id)


# --------------------------------------------------------------------------- reporting


def summarize(run: Run) -> dict[str, dict[str, Any]]:
    """Service / in-process throughput per workload, with the target where there is one."""
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        local, remote = run.phases.get((kind, "in-process")), run.phases.get((kind, "service"))
        if local is None or remote is None:
            continue
        value = ratio(remote.per_s, local.per_s)
        per_round = [
            round(ratio(b["responses_per_s"], a["responses_per_s"]), 3)
            for a, b in zip(local.rounds, remote.rounds, strict=True)
        ]
        target = TARGETS.get(kind)
        out[kind] = {
            "in_process_responses_per_s": round(local.per_s, 1),
            "service_responses_per_s": round(remote.per_s, 1),
            "ratio_service_over_in_process": round(value, 3),
            "ratio_per_round": per_round,
            "target": target,
            "met": None if target is None else bool(value >= target),
            "lost": len(local.lost) + len(remote.lost),
            "wrong": len(local.wrong) + len(remote.wrong),
        }
    return out


def print_table(run: Run, summary: dict[str, dict[str, Any]]) -> None:
    head = (
        f"{'workload':<9} {'method':<11} {'requests':>8} {'resp/s':>9} {'req/s':>8} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'lost':>5} {'wrong':>6}  "
        "CPU s: bench+workers / server+workers"
    )
    print()
    print(head)
    print("-" * len(head))
    for (kind, method), p in run.phases.items():
        cpu = p.cpu_s
        cpu_text = (
            f"{cpu['bench']:.1f}+{cpu['bench workers']:.1f} / "
            f"{cpu['server']:.1f}+{cpu['server workers']:.1f}"
        )
        print(
            f"{kind:<9} {method:<11} {p.requests:>8} {p.per_s:>9.1f} "
            f"{ratio(p.requests, p.elapsed_s):>8.1f} {1e3 * percentile(p.latencies, 50):>8.2f} "
            f"{1e3 * percentile(p.latencies, 99):>8.2f} {len(p.lost):>5} {len(p.wrong):>6}  "
            f"{cpu_text}"
        )
    print()
    for kind, s in summary.items():
        verdict = ""
        if s["target"] is not None:
            verdict = f" (target >= {s['target']:g}x: {'met' if s['met'] else 'MISSED'})"
        rounds = ", ".join(f"{x:.2f}" for x in s["ratio_per_round"])
        print(
            f"{kind}: service / in-process throughput = {s['ratio_service_over_in_process']:.2f}x"
            f"{verdict}; per round: {rounds}"
        )
    for (kind, method), p in run.phases.items():
        for text in p.lost[:10]:
            print(f"LOST {kind} {method} {text}")
        for w in p.wrong[:10]:
            print(
                f"WRONG {kind} {method} {w['task']} #{w['response']} ({w['what']}): expected "
                f"{w['expected']}, got {w['got']}: {w['detail'][:200]}"
            )


def plot(run: Run, summary: dict[str, dict[str, Any]], path: Path, title: str) -> bool:
    """Throughput bars (log scale) and the request latency CDF of every phase."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: `pip install matplotlib` for the chart",
              file=sys.stderr)  # fmt: skip
        return False
    fig, (bars_ax, cdf_ax) = plt.subplots(1, 2, figsize=(12, 4.8))
    kinds = list(summary)
    width = 0.38
    for i, method in enumerate(METHODS):
        xs = [k + (i - 0.5) * width for k in range(len(kinds))]
        ys = [run.phases[(kind, method)].per_s for kind in kinds]
        bars = bars_ax.bar(xs, ys, width, label=method)
        bars_ax.bar_label(bars, labels=[f"{y:.0f}" for y in ys], fontsize=8, padding=2)
    bars_ax.set_xticks(
        range(len(kinds)),
        [f"{k}\nservice/in-process {summary[k]['ratio_service_over_in_process']:.2f}x"
         for k in kinds],
    )  # fmt: skip
    bars_ax.set_yscale("log")
    bars_ax.set_ylabel("responses / s (log scale, higher is better)")
    bars_ax.legend()
    for (kind, method), p in run.phases.items():
        xs = sorted(1e3 * x for x in p.latencies)
        ys = [(i + 1) / len(xs) for i in range(len(xs))]
        style = "-" if method == "service" else "--"
        cdf_ax.plot(xs, ys, style, label=f"{kind} {method}")
    cdf_ax.set_xscale("log")
    cdf_ax.set_xlabel("request latency, ms (client side; log scale)")
    cdf_ax.set_ylabel("fraction of requests")
    cdf_ax.grid(alpha=0.3)
    cdf_ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def transport_floor(
    args: argparse.Namespace, groups: Sequence[Group], run: Run
) -> dict[str, Any] | None:
    """The math-step calls again, against a server that grades nothing (``_grpc_floor``).

    Returns the hop's CPU per response, and the service / in-process ratio it leaves
    possible on these shared cores: in-process CPU per response over that plus the hop.
    """
    local = run.phases.get(("math-step", "in-process"))
    remote = run.phases.get(("math-step", "service"))
    if args.no_floor or local is None or remote is None or not local.responses:
        return None
    calls = [
        ([MathGold(str(g.task)) for g in request for _ in g.responses],
         [r for g in request for r in g.responses])
        for request in requests_of(groups, args.step_groups)
    ] * (args.rounds * args.step_passes)  # fmt: skip
    floor = _grpc_floor.measure(calls, args.step_clients)
    in_process = 1e6 * (local.cpu_s["bench"] + local.cpu_s["bench workers"]) / local.responses
    service = 1e6 * sum(remote.cpu_s.values()) / remote.responses
    hop = floor["client_us_per_response"] + floor["server_us_per_response"]
    return {
        **floor,
        "in_process_us_per_response": round(in_process, 2),
        "service_us_per_response": round(service, 2),
        "ceiling_ratio": round(ratio(in_process, in_process + hop), 3),
        "cpu_ratio": round(ratio(in_process, service), 3),
    }


def print_floor(floor: dict[str, Any] | None) -> None:
    if floor is None:
        return
    print(
        f"transport floor (math-step calls to a gRPC server that grades nothing): "
        f"{floor['client_us_per_response']:.1f} us client + "
        f"{floor['server_us_per_response']:.1f} us server CPU per response "
        f"({floor['responses_per_s']:.0f} resp/s). In-process scoring costs "
        f"{floor['in_process_us_per_response']:.1f} us CPU per response, the service "
        f"{floor['service_us_per_response']:.1f} us (CPU ratio {floor['cpu_ratio']:.2f}x); "
        f"with the hop alone added, the ratio could be at most about "
        f"{floor['ceiling_ratio']:.2f}x on these shared cores"
    )


def shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def loadavg_text(values: Sequence[float]) -> str:
    return "/".join(f"{x:.2f}" for x in values)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    cpus = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="800 math, 80 code, 1 round")
    parser.add_argument("--math", type=int, default=None, help="math responses (10 000)")
    parser.add_argument("--code", type=int, default=None, help="code responses (1 000; 0: none)")
    parser.add_argument("--group-size", type=int, default=8, help="responses per request (G)")
    parser.add_argument(
        "--groups-per-request",
        type=int,
        default=1,
        help="groups in one ScoreBatch (one task per response when > 1), like a trainer "
        "sending a whole step's rollouts in one call",
    )
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients")
    parser.add_argument(
        "--step-groups",
        type=int,
        default=32,
        help="math-step workload: groups per ScoreBatch (a GRPO step of 32 prompts x G)",
    )
    parser.add_argument(
        "--step-clients", type=int, default=4, help="math-step workload: steps in flight"
    )
    parser.add_argument(
        "--step-passes",
        type=int,
        default=None,
        help="math-step workload: passes over the math responses per round (4; --quick: 1), "
        "so each side's timed window is about a second, not a quarter",
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds of every phase (3)")
    parser.add_argument(
        "--warmup-rounds",
        type=int,
        default=None,
        help="untimed passes over the math workload per side first (1; --quick: 0)",
    )
    parser.add_argument("--math-workers", type=int, default=cpus, help="math worker processes")
    parser.add_argument("--pool-size", type=int, default=2, help="sandbox containers")
    parser.add_argument(
        "--code-tasks",
        choices=("id", "inline"),
        default="id",
        help="send code tasks by id (the server loads HumanEval) or inline",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="client deadline per call")
    parser.add_argument(
        "--no-floor",
        action="store_true",
        help="skip the transport floor (the math-step calls to a server that grades nothing)",
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output directory")
    args = parser.parse_args(argv)
    quick = args.quick
    args.math = args.math if args.math is not None else (800 if quick else 10_000)
    args.code = args.code if args.code is not None else (80 if quick else 1_000)
    args.rounds = args.rounds or (1 if quick else 3)
    args.step_passes = args.step_passes or (1 if quick else 4)
    if args.warmup_rounds is None:
        args.warmup_rounds = 0 if quick else 1
    if args.warmup_rounds < 0:
        parser.error("--warmup-rounds must be >= 0")
    for name in (
        "group_size",
        "groups_per_request",
        "clients",
        "step_groups",
        "step_clients",
        "step_passes",
        "rounds",
        "math_workers",
        "pool_size",
    ):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.math < args.group_size:
        parser.error("--math must be at least --group-size")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    tasks = load_humaneval(HUMANEVAL) if args.code else []
    workload = {
        "math": math_groups(args.math, args.group_size),
        "math-step": [],  # the math groups again, a step per request (set after the oracle)
        "code": code_groups(tasks, args.code, args.group_size) if args.code else [],
    }
    print(
        f"{os.cpu_count()} CPUs; {args.clients} clients; groups of {args.group_size}, "
        f"{args.groups_per_request} per request: "
        f"{len(workload['math'])} math, {len(workload['code'])} code; {args.rounds} round(s); "
        f"load average {loadavg_text(load_start)}",
        file=sys.stderr,
    )
    run = Run()
    started = time.perf_counter()
    workload["math"], run.oracle = math_oracle(workload["math"], args.math_workers)
    workload["math-step"] = workload["math"]
    run.startup_s["math oracle (not timed)"] = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="rlvr-grpc-load-") as tmp:
        config = Path(tmp) / "server.toml"
        config.write_text(server_toml(args, HUMANEVAL), encoding="utf-8")
        log_path = Path(tmp) / "server.log"
        started = time.perf_counter()
        with running_server(config, log_path) as (proc, address):
            run.startup_s["server start (serving on)"] = time.perf_counter() - started
            run.server_pid = proc.pid
            asyncio.run(measure(args, workload, address, proc.pid, run))
        run.server_exit = proc.returncode
        run.server_log_tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
    leftovers = docker_ps(f"label=org.rlvr-gym.owner-pid={run.server_pid}") if args.code else []
    floor = transport_floor(args, workload["math-step"], run)
    load_end = os.getloadavg()

    summary = summarize(run)
    print_table(run, summary)
    o = run.oracle
    print(
        f"math oracle: {o['responses']} responses, statuses {o['statuses']}; agrees with "
        f"Qwen's labels on {o['agree_with_qwen_labels']}/{o['responses']} (information only)"
    )
    print(f"client retries (RESOURCE_EXHAUSTED / UNAVAILABLE): {run.retries or 'none'}")
    startup = ", ".join(f"{k} {v:.2f} s" for k, v in run.startup_s.items())
    print(f"start-up (not in throughput): {startup}")
    print(
        f"load average (1/5/15 min): start {loadavg_text(load_start)}, end "
        f"{loadavg_text(load_end)} on {os.cpu_count()} CPUs (the machine may be shared)"
    )
    print(f"server exit status {run.server_exit}; leftover containers: {leftovers or 'none'}")
    print_floor(floor)

    lost = sum(len(p.lost) for p in run.phases.values())
    wrong = sum(len(p.wrong) for p in run.phases.values())
    report = {
        "benchmark": "grpc_load",
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "grpc": grpc.__version__,
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in load_end],
        },
        "config": {
            "clients": args.clients,
            "group_size": args.group_size,
            "groups_per_request": args.groups_per_request,
            "step_groups": args.step_groups,
            "step_clients": args.step_clients,
            "step_passes": args.step_passes,
            "rounds": args.rounds,
            "warmup_rounds": args.warmup_rounds,
            "math_responses": len(workload["math"]) * args.group_size,
            "code_responses": len(workload["code"]) * args.group_size,
            "math_workers": args.math_workers,
            "sandbox_pool_size": args.pool_size,
            "code_tasks": args.code_tasks,
            "quick": args.quick,
            "server_toml": server_toml(args, HUMANEVAL),
        },
        "startup_s": {k: round(v, 3) for k, v in run.startup_s.items()},
        "math_oracle": run.oracle,
        "results": [p.to_json() for p in run.phases.values()],
        "summary": summary,
        "targets": TARGETS,
        "lost": lost,
        "wrong": wrong,
        "client_retries": run.retries,
        "server_exit": run.server_exit,
        "transport_floor": floor,
        "leftover_containers": leftovers,
        "server_log_tail": run.server_log_tail if lost or wrong or run.server_exit else "",
    }
    json_path = args.out / "grpc_load.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {shown(json_path)}")
    parts = [f"{k} {s['ratio_service_over_in_process']:.2f}x" for k, s in summary.items()]
    title = (
        f"gRPC service vs in-process, {args.clients} clients, groups of {args.group_size} "
        f"x {args.groups_per_request} per request, "
        f"{os.cpu_count()} CPUs (service/in-process: {', '.join(parts)}; lost {lost}, "
        f"wrong {wrong})"
    )
    png = args.out / "grpc_load.png"
    if plot(run, summary, png, title):
        print(f"wrote {shown(png)}")
    return 1 if lost or wrong or leftovers or run.server_exit else 0


if __name__ == "__main__":
    raise SystemExit(main())
