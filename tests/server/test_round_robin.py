"""Scale-out: one client, several ``rlvr-gym serve`` processes, gRPC round robin.

Each server logs every call as a JSON line (``log_level = "debug"``), so the share of the
load each one took is counted from its own log. Killing one server mid-load must lose no
call: the calls it held come back ``UNAVAILABLE`` and the client retries them on the
survivors. Loopback addresses only.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rlvr_gym.rewards.types import RewardResult, Status
from rlvr_gym.server.client import MathGold, RetryPolicy, RewardClient
from tests.server._procs import first_line, rlvr_gym
from tests.server.conftest import slow_math

MATH = "rlvr_gym/Math-v0"
STARTUP_S = 60.0
STOP_S = 30.0
SERVING = re.compile(r"rlvr-gym: serving on (127\.0\.0\.1:\d+)")
CONFIG = """\
envs = ["rlvr_gym/Math-v0"]
math_workers = 1
sandbox_backend = "process"
log_level = "debug"
shutdown_grace_s = 5.0
"""
EXPECTED = [(Status.CORRECT, 1.0), (Status.INCORRECT, 0.0)] * 2


@dataclass
class Server:
    proc: subprocess.Popen[str]
    log_path: Path
    address: str = ""

    def calls(self, method: str = "ScoreBatch", code: str = "OK") -> int:
        """How many ``method`` calls this server logged as finished with ``code``."""
        count = 0
        for line in self.log_path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # e.g. "rlvr-gym: shutting down"
            if record.get("method") == method and record.get("code") == code:
                count += 1
        return count

    def log_tail(self) -> str:
        return self.log_path.read_text()[-3000:]


StartServers = Callable[[int], list[Server]]


@dataclass(frozen=True)
class CountingPolicy(RetryPolicy):
    """The default policy, recording the attempt number of every retry it schedules."""

    retries: list[int] = field(default_factory=list)

    def backoff(self, attempt: int) -> float:
        self.retries.append(attempt)
        return super().backoff(attempt)


def _descendants(root: int) -> set[int]:
    """Live processes below ``root`` (e.g. a server's math worker pool), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
            if state != "Z":
                parents[int(entry.name)] = int(ppid)
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2] != "Z":
            alive.add(pid)
    return alive


def _stop(server: Server) -> str | None:
    """SIGTERM (SIGKILL after STOP_S); what went wrong, if anything."""
    proc = server.proc
    problem = None
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            problem = f"{server.address} did not stop within {STOP_S}s of SIGTERM"
        if proc.returncode != 0 and problem is None:
            problem = f"{server.address} exited {proc.returncode}:\n{server.log_tail()}"
    if proc.stdout is not None:
        proc.stdout.close()
    return problem


@pytest.fixture
def start(tmp_path: Path) -> Iterator[StartServers]:
    """``start(n)``: n servers on free loopback ports, started at once and all ready.

    Every server started is stopped at teardown (SIGTERM, then SIGKILL after STOP_S),
    also when starting another one or the test failed.
    """
    config = tmp_path / "server.toml"
    config.write_text(CONFIG)
    started: list[Server] = []

    def start_servers(n: int) -> list[Server]:
        batch = []
        for _ in range(n):
            log_path = tmp_path / f"server{len(started)}.log"
            with log_path.open("w") as log:
                proc = subprocess.Popen(
                    [rlvr_gym(), "serve", "--address", "127.0.0.1:0", "--config", str(config),
                     "--metrics-address", ""],
                    stdout=subprocess.PIPE,
                    stderr=log,
                    stdin=subprocess.DEVNULL,
                    text=True,
                )  # fmt: skip
            started.append(Server(proc, log_path))
            batch.append(started[-1])
        for server in batch:
            line = first_line(server.proc, STARTUP_S)
            if not line:
                state = "exited" if server.proc.poll() is not None else "was not ready in time"
                pytest.fail(f"rlvr-gym serve {state}; log:\n{server.log_tail()}")
            match = SERVING.fullmatch(line.strip())
            assert match, f"unexpected first stdout line: {line!r}"
            server.address = match.group(1)
        return batch

    try:
        yield start_servers
    finally:
        problems = [p for p in map(_stop, started) if p]
    assert not problems, "\n".join(problems)


def _request(i: int) -> tuple[MathGold, list[str]]:
    """Call i: a gold answer of its own, G=4 responses alternating correct and incorrect."""
    gold = 7 * i + 3
    right, wrong = f"\\boxed{{{gold}}}", f"\\boxed{{{gold + 1}}}"
    return MathGold(str(gold)), [right, wrong, right, wrong]


def _check(i: int, results: list[RewardResult]) -> None:
    got = [(r.status, r.reward) for r in results]
    assert got == EXPECTED, f"call {i}: {got}"
    assert [r.extracted for r in results] == [str(7 * i + 3), str(7 * i + 4)] * 2


def _wait_for_logs(servers: list[Server], total: int, timeout_s: float = 10.0) -> list[int]:
    """Per-server ScoreBatch counts, once they add up to ``total`` (logs are async)."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = [s.calls() for s in servers]
        if sum(counts) >= total or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


def test_round_robin_spreads_calls_over_all_servers(start: StartServers) -> None:
    servers = start(3)
    calls = 300
    with RewardClient([s.address for s in servers], timeout_s=60) as client:

        def one(i: int) -> None:
            gold, responses = _request(i)
            _check(i, client.score_batch(MATH, gold, responses))

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(one, range(calls)))

    counts = _wait_for_logs(servers, calls)
    assert sum(counts) == calls, f"ScoreBatch OK lines per server: {counts}"
    for server, count in zip(servers, counts):
        assert count >= calls // 10, f"{server.address} took {count} of {calls}: {counts}"


def test_killing_one_server_loses_no_call(start: StartServers) -> None:
    servers = start(3)
    victim = servers[0]
    calls, kill_after = 400, 60
    done = 0
    done_lock = threading.Lock()
    kill_now = threading.Event()
    errors: list[BaseException] = []
    policy = CountingPolicy()

    with RewardClient([s.address for s in servers], timeout_s=60, retry=policy) as client:

        def one(i: int) -> None:
            nonlocal done
            gold, responses = _request(i)
            try:
                _check(i, client.score_batch(MATH, gold, responses))
            except BaseException as exc:
                errors.append(exc)
                raise
            with done_lock:
                done += 1
                if done == kill_after:
                    kill_now.set()

        def slow(k: int) -> None:  # some tenths of a second of sympy: in flight at the kill
            response, gold = slow_math(k, 8)
            try:
                result = client.score(MATH, MathGold(gold), response)
                assert (result.status, result.reward) == (Status.CORRECT, 1.0), result
            except BaseException as exc:
                errors.append(exc)
                raise

        with ThreadPoolExecutor(16) as pool, ThreadPoolExecutor(6) as slow_pool:
            futures = [pool.submit(one, i) for i in range(calls)]
            assert kill_now.wait(60), f"only {done} calls finished before the kill"
            # round robin gives the victim its share of these; the fast calls alone are
            # so short that a kill can fall between two of them
            futures += [slow_pool.submit(slow, k) for k in range(6)]
            time.sleep(0.1)
            below = _descendants(victim.proc.pid)
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait(10)
            done_at_kill = done
            for future in futures:
                future.exception()  # wait for all; errors are collected in `errors`

    assert not errors, f"{len(errors)} of {calls} calls failed, first: {errors[0]!r}"
    assert done == calls
    assert done_at_kill < calls, "the load was over before the kill: nothing was in flight"
    # ~16 calls are in flight at the kill, ~1/3 of them on the victim: those come back
    # UNAVAILABLE and are retried (and then succeed, as checked above).
    assert policy.retries, "no call was retried: the kill hit no call in flight"
    by_victim = victim.calls()  # final: it is dead
    assert by_victim > 0, "the killed server took no call before it died"
    survivors = _wait_for_logs(servers[1:], calls - by_victim)
    assert all(count > 0 for count in survivors), survivors
    # Each call was answered once at least (a call the victim answered but whose reply
    # died with it was answered again by a survivor).
    assert by_victim + sum(survivors) >= calls, (by_victim, survivors)
    # The killed server's own processes (math workers) must not outlive it.
    deadline = time.monotonic() + 10
    while _alive(below) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(below), f"processes of the killed server still run: {_alive(below)}"


def test_dns_target(start: StartServers) -> None:
    (server,) = start(1)
    port = server.address.rpartition(":")[2]
    with RewardClient(f"dns:///localhost:{port}", timeout_s=60) as client:
        gold, responses = _request(5)
        _check(5, client.score_batch(MATH, gold, responses))
    assert _wait_for_logs([server], 1) == [1]
