"""Benchmark: our warm Docker sandbox pool against ``docker run`` and ``docker exec``, in one run.

Why this exists: the design says speed is measured, not guessed. A sandbox for RL rollouts
runs thousands of short programs per step, so what matters is executions per second and the
per-execution overhead the sandbox adds on top of the program itself. The peers are the two
things people do without a pool:

a. ``docker run --rm -i IMAGE python3 -`` per execution (a fresh container each time);
b. ``docker exec -i NAME python3 -`` per execution into one warm container that this script
   starts (``sleep infinity``) and removes at the end;
c. ours: ``Sandbox(backend="docker", pool_size=os.cpu_count()).run(code)`` (a pool of warm
   containers, each running the supervisor, which forks one process per run).

All three use the same image (``ensure_image()``), the same hardening flags as
``DockerSandboxPool`` (``--network none``, read-only root, the same tmpfs, memory, pids,
capability, privilege, user and ulimit settings) and a thread pool of ``os.cpu_count()``
workers, so each can use every core. The peers get the program on stdin (``python3 -``),
which is cheaper than what the pool does (write ``main.py`` into a fresh work dir, apply
rlimits, sweep leftovers after the run): the comparison favours the peers.

Workloads: (1) a trivial program, ``print(1)``, ``--runs``-many times per method; (2) the
164 HumanEval canonical solutions with their tests (``prompt + canonical_solution + test +
check(entry_point)``), each of which must exit 0. Container/pool start-up is timed
separately and not counted in the throughput.

Run (from the repo root, with the venv active and a Docker daemon running)::

    python bench/sandbox_throughput.py           # full run, a few minutes on 2 cores
    python bench/sandbox_throughput.py --quick   # smoke test, well under a minute

Outputs: a table on stdout, ``bench/out/sandbox_throughput.json`` and (when matplotlib is
installed: ``pip install matplotlib``) ``bench/out/sandbox_throughput.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/_common.py
from _common import bar_chart, docker_ps, percentile, ratio, remove_containers

from rlvr_gym.sandbox import ExecutionLimits, Sandbox, protocol
from rlvr_gym.sandbox._containers import POOL_LABEL
from rlvr_gym.sandbox.docker_backend import _PID_SLACK, _SUPERVISOR_OVERHEAD
from rlvr_gym.sandbox.image import SANDBOX_UID, ensure_image

ROOT = Path(__file__).resolve().parent.parent
HUMANEVAL = ROOT.parent / "shared" / "data" / "code" / "HumanEval.jsonl.gz"
OUT_DIR = ROOT / "bench" / "out"
BENCH_LABEL = "org.rlvr-gym.bench"  # value: this run's id; finds every peer container
TRIVIAL = "print(1)\n"
PEER_TIMEOUT_S = 120.0
_MiB = 1024 * 1024
# The pool's defaults (DockerSandboxPool.__init__), mirrored for the peers.
WORK_BYTES = 256 * _MiB
SHM_BYTES = 64 * _MiB

METHODS = ("docker run", "docker exec", "pool")


# --------------------------------------------------------------------------- programs


@dataclass(frozen=True)
class Program:
    """One program to execute: a name for failure reports and its Python source."""

    name: str
    source: str


def humaneval_programs(limit: int | None) -> list[Program]:
    with gzip.open(HUMANEVAL, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    programs = [
        Program(
            row["task_id"],
            row["prompt"]
            + row["canonical_solution"]
            + "\n"
            + row["test"]
            + f"\ncheck({row['entry_point']})\n",
        )
        for row in rows
    ]
    return programs[:limit] if limit else programs


# --------------------------------------------------------------------------- peers


def hardening_flags(limits: ExecutionLimits, run_id: str) -> list[str]:
    """The flags DockerSandboxPool._command gives its containers (labels aside)."""
    memory = (
        limits.memory_bytes
        + _SUPERVISOR_OVERHEAD
        + 3 * protocol.MAX_FRAME_BYTES
        + 2 * WORK_BYTES
        + SHM_BYTES
    )
    tmpfs = f"rw,exec,nosuid,nodev,size={WORK_BYTES},uid={SANDBOX_UID},gid={SANDBOX_UID}"
    nofile = max(1024, limits.nofile + 64)
    return [
        "--label", f"{BENCH_LABEL}={run_id}",
        "--network", "none", "--read-only",
        "--tmpfs", f"/work:{tmpfs}", "--tmpfs", f"/tmp:{tmpfs}",
        "--shm-size", str(SHM_BYTES),
        "--memory", str(memory), "--memory-swap", str(memory),
        "--pids-limit", str(int(limits.nproc) + _PID_SLACK),
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--user", f"{SANDBOX_UID}:{SANDBOX_UID}",
        "--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", "core=0",
        "--env", "TMPDIR=/tmp", "--workdir", "/work",
    ]  # fmt: skip


@dataclass
class Outcome:
    """One execution as a method saw it."""

    ok: bool
    latency_s: float
    inner_wall_s: float | None = None  # the program's own wall time (pool only)
    detail: str = ""


def _run_cli(argv: list[str], source: str) -> Outcome:
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            argv, input=source.encode(), capture_output=True, timeout=PEER_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return Outcome(False, time.perf_counter() - start, detail="client timeout")
    latency = time.perf_counter() - start
    if proc.returncode == 0:
        return Outcome(True, latency)
    tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
    return Outcome(False, latency, detail=f"exit {proc.returncode}: {' | '.join(tail)}")


def docker_run_executor(image: str, flags: list[str]) -> Callable[[str], Outcome]:
    argv = ["docker", "run", "--rm", "-i", *flags, image, "python3", "-"]
    return lambda source: _run_cli(argv, source)


def docker_exec_executor(name: str) -> Callable[[str], Outcome]:
    argv = ["docker", "exec", "-i", name, "python3", "-"]
    return lambda source: _run_cli(argv, source)


def pool_executor(sandbox: Sandbox) -> Callable[[str], Outcome]:
    def execute(source: str) -> Outcome:
        start = time.perf_counter()
        result = sandbox.run(source, language="python")
        latency = time.perf_counter() - start
        if result.status == "ok":
            return Outcome(True, latency, inner_wall_s=result.wall_s)
        tail = result.stderr.strip().splitlines()[-3:]
        detail = f"{result.status} (exit {result.exit_code}) {result.detail} {' | '.join(tail)}"
        return Outcome(False, latency, inner_wall_s=result.wall_s, detail=detail.strip())

    return execute


@contextlib.contextmanager
def warm_container(image: str, flags: list[str], run_id: str) -> Iterator[str]:
    """A long-lived container for the ``docker exec`` peer; removed on the way out."""
    name = f"rlvr-bench-exec-{run_id}"
    try:
        subprocess.run(
            ["docker", "run", "-d", "--name", name, *flags, image, "sleep", "infinity"],
            check=True,
            capture_output=True,
            timeout=PEER_TIMEOUT_S,
        )
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=PEER_TIMEOUT_S)


# --------------------------------------------------------------------------- measuring


@dataclass
class Measurement:
    """Everything one method did on one workload."""

    method: str
    workload: str
    outcomes: list[Outcome] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def n(self) -> int:
        """Executions measured."""
        return len(self.outcomes)

    @property
    def passed(self) -> int:
        """Executions that exited 0 (status ``ok`` for the pool)."""
        return sum(o.ok for o in self.outcomes)

    @property
    def per_s(self) -> float:
        """Executions per second of the whole batch."""
        return self.n / self.elapsed_s if self.elapsed_s else 0.0

    def latency(self, q: float) -> float:
        """Percentile ``q`` of the caller-side round trip, in seconds."""
        return percentile([o.latency_s for o in self.outcomes], q)

    def inner_wall(self, q: float) -> float | None:
        """Percentile ``q`` of the program's wall time inside the sandbox (pool only)."""
        walls = [o.inner_wall_s for o in self.outcomes if o.inner_wall_s is not None]
        return percentile(walls, q) if walls else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        inner = self.inner_wall(50)
        return {
            "method": self.method,
            "workload": self.workload,
            "executions": self.n,
            "passed": self.passed,
            "failures": [{"program": p, "detail": d} for p, d in self.failures],
            "elapsed_s": round(self.elapsed_s, 4),
            "executions_per_s": round(self.per_s, 3),
            "latency_p50_ms": round(1000 * self.latency(50), 3),
            "latency_p99_ms": round(1000 * self.latency(99), 3),
            "inner_wall_p50_ms": None if inner is None else round(1000 * inner, 3),
        }


def measure(
    method: str,
    workload: str,
    execute: Callable[[str], Outcome],
    programs: Sequence[Program],
    workers: int,
    warmup: int,
) -> Measurement:
    """Run every program through ``execute`` on ``workers`` threads; time the whole batch."""
    for program in programs[:warmup]:  # first-use costs (page cache, lazy imports)
        execute(program.source)
    result = Measurement(method, workload)
    with ThreadPoolExecutor(max_workers=workers) as threads:
        start = time.perf_counter()
        futures = {threads.submit(execute, p.source): p for p in programs}
        bar = tqdm(total=len(futures), desc=f"{workload:>9} | {method:<11}", unit="exec",
                   file=sys.stderr, leave=False)  # fmt: skip
        with bar:
            for future in as_completed(futures):
                outcome = future.result()
                result.outcomes.append(outcome)
                if not outcome.ok:
                    result.failures.append((futures[future].name, outcome.detail))
                bar.update()
        result.elapsed_s = time.perf_counter() - start
    return result


# --------------------------------------------------------------------------- reporting


def summarize(results: dict[str, dict[str, Measurement]]) -> dict[str, dict[str, Any]]:
    summary = {}
    for workload, by_method in results.items():
        pool = by_method["pool"]
        inner = pool.inner_wall(50)
        summary[workload] = {
            "pool_over_docker_run": round(ratio(pool.per_s, by_method["docker run"].per_s), 2),
            "pool_over_docker_exec": round(ratio(pool.per_s, by_method["docker exec"].per_s), 2),
            "pool_overhead_p50_ms": None
            if inner is None
            else round(1000 * (pool.latency(50) - inner), 3),
        }
    return summary


def print_table(
    results: dict[str, dict[str, Measurement]], summary: dict[str, dict[str, Any]]
) -> None:
    head = (
        f"{'workload':<10} {'method':<12} {'passed':>9} {'exec/s':>9} "
        f"{'p50 ms':>9} {'p99 ms':>9} {'in-box p50':>11}"
    )
    print()
    print(head)
    print("-" * len(head))
    for workload, by_method in results.items():
        for method in METHODS:
            m = by_method[method]
            inner = m.inner_wall(50)
            inner_text = "-" if inner is None else f"{1000 * inner:.1f}"
            print(
                f"{workload:<10} {method:<12} {f'{m.passed}/{m.n}':>9} {m.per_s:>9.1f} "
                f"{1000 * m.latency(50):>9.1f} {1000 * m.latency(99):>9.1f} {inner_text:>11}"
            )
        s = summary[workload]
        print(
            f"{'':<10} ratios: pool/docker run = {s['pool_over_docker_run']:.1f}x, "
            f"pool/docker exec = {s['pool_over_docker_exec']:.1f}x; pool overhead p50 "
            f"(round trip - in-sandbox wall) = {s['pool_overhead_p50_ms']:.1f} ms"
        )
    print()
    for workload, by_method in results.items():
        for method in METHODS:
            for program, detail in by_method[method].failures[:10]:
                print(f"FAILED {workload} {method} {program}: {detail}")


def leftover_containers(run_id: str, pool_id: str | None) -> list[str]:
    names = docker_ps(f"label={BENCH_LABEL}={run_id}")
    return names + (docker_ps(f"label={POOL_LABEL}={pool_id}") if pool_id else [])


def plot(results: dict[str, dict[str, Measurement]], path: Path, title: str) -> bool:
    values = {w: {m: results[w][m].per_s for m in METHODS} for w in results}
    return bar_chart(values, path, title, "executions / s (log scale, higher is better)")


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small N: a smoke test")
    parser.add_argument("--runs", type=int, default=60, help="trivial runs, docker run")
    parser.add_argument("--exec-runs", type=int, default=200, help="trivial runs, docker exec")
    parser.add_argument("--pool-runs", type=int, default=1000, help="trivial runs, our pool")
    parser.add_argument(
        "--humaneval-limit", type=int, default=None, help="first N HumanEval problems (all)"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="threads (and pool size)"
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.exec_runs, args.pool_runs = 10, 20, 100
        args.humaneval_limit = args.humaneval_limit or 12
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:10]
    limits = ExecutionLimits()
    image = ensure_image()
    flags = hardening_flags(limits, run_id)
    he = humaneval_programs(args.humaneval_limit)
    trivial = {
        "docker run": [Program(f"trivial/{i}", TRIVIAL) for i in range(args.runs)],
        "docker exec": [Program(f"trivial/{i}", TRIVIAL) for i in range(args.exec_runs)],
        "pool": [Program(f"trivial/{i}", TRIVIAL) for i in range(args.pool_runs)],
    }
    workers = args.workers
    print(
        f"image {image}, {os.cpu_count()} CPUs, {workers} worker threads, pool of {workers}; "
        f"trivial: {args.runs}/{args.exec_runs}/{args.pool_runs} runs, HumanEval: {len(he)}",
        file=sys.stderr,
    )
    results: dict[str, dict[str, Measurement]] = {"trivial": {}, "humaneval": {}}
    startup: dict[str, float] = {}
    pool_id: str | None = None
    try:
        execute = docker_run_executor(image, flags)
        results["trivial"]["docker run"] = measure(
            "docker run", "trivial", execute, trivial["docker run"], workers, warmup=2
        )
        results["humaneval"]["docker run"] = measure(
            "docker run", "humaneval", execute, he, workers, warmup=0
        )

        start = time.perf_counter()
        with warm_container(image, flags, run_id) as name:
            startup["docker exec container"] = time.perf_counter() - start
            execute = docker_exec_executor(name)
            results["trivial"]["docker exec"] = measure(
                "docker exec", "trivial", execute, trivial["docker exec"], workers, warmup=3
            )
            results["humaneval"]["docker exec"] = measure(
                "docker exec", "humaneval", execute, he, workers, warmup=0
            )

        start = time.perf_counter()
        with Sandbox(backend="docker", pool_size=workers, limits=limits) as sandbox:
            startup["pool"] = time.perf_counter() - start
            pool_id = getattr(sandbox.backend, "pool_id", None)
            execute = pool_executor(sandbox)
            results["trivial"]["pool"] = measure(
                "pool", "trivial", execute, trivial["pool"], workers, warmup=2 * workers
            )
            results["humaneval"]["pool"] = measure(
                "pool", "humaneval", execute, he, workers, warmup=0
            )
            replaced = getattr(sandbox.backend, "replaced", None)
    finally:
        remove_containers(f"label={BENCH_LABEL}={run_id}")
    leftovers = leftover_containers(run_id, pool_id)

    summary = summarize(results)
    print_table(results, summary)
    passes = {w: {m: f"{r.passed}/{r.n}" for m, r in by.items()} for w, by in results.items()}
    print(
        f"start-up (not in throughput): {', '.join(f'{k} {v:.2f} s' for k, v in startup.items())}"
    )
    print(f"pool containers replaced during the run: {replaced}")
    print(f"leftover containers after the run: {leftovers or 'none'}")

    report = {
        "benchmark": "sandbox_throughput",
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
        },
        "config": {
            "image": image,
            "workers": workers,
            "pool_size": workers,
            "quick": args.quick,
            "runs": {
                "docker run": args.runs,
                "docker exec": args.exec_runs,
                "pool": args.pool_runs,
            },
            "humaneval_programs": len(he),
            "limits": {k: getattr(limits, k) for k in protocol.LIMIT_KEYS},
            "peer_flags": flags,
        },
        "startup_s": {k: round(v, 3) for k, v in startup.items()},
        "results": [m.to_json() for by in results.values() for m in by.values()],
        "passes": passes,
        "summary": summary,
        "pool_containers_replaced": replaced,
        "leftover_containers": leftovers,
    }
    json_path = args.out / "sandbox_throughput.json"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path}")
    png = args.out / "sandbox_throughput.png"
    title = (
        f"Sandbox throughput, {os.cpu_count()} CPUs, {workers} threads "
        f"(pool: {summary['trivial']['pool_over_docker_run']:.0f}x docker run, "
        f"{summary['trivial']['pool_over_docker_exec']:.0f}x docker exec on print(1))"
    )
    if plot(results, png, title):
        print(f"wrote {png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}")
    bad = any(r.failures for by in results.values() for r in by.values())
    return 1 if bad or leftovers else 0


if __name__ == "__main__":
    raise SystemExit(main())
