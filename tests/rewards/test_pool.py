"""WorkerPool: deadlines enforced from outside, crash isolation, no leaked processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr_gym.errors import ConfigError, WorkerPoolError
from rlvr_gym.rewards import pool as pool_module
from rlvr_gym.rewards.pool import PoolStats, TaskFailed, TaskTimeout, WorkerPool
from tests.rewards import pool_helpers as h

ROOT = Path(__file__).resolve().parents[2]
SLACK_S = 0.5  # the deadline contract: a timeout is reported within deadline + 0.5 s
T = TypeVar("T")


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, state) for every process we can see."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            table[int(entry)] = (int(fields[1]), fields[0])
    return table


def _grandchildren() -> set[int]:
    """Workers are grandchildren: forked by the forkserver, which is our child."""
    table = _proc_table()
    children = {pid for pid, (ppid, _) in table.items() if ppid == os.getpid()}
    return {pid for pid, (ppid, _) in table.items() if ppid in children}


def _gone(pids: set[int]) -> bool:
    table = _proc_table()
    return all(pid not in table or table[pid][1] == "Z" for pid in pids)


def _wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def _wait_healthy(pool: WorkerPool) -> PoolStats:
    assert _wait_until(lambda: pool.stats().alive == pool.stats().workers)
    return pool.stats()


@pytest.fixture(scope="module", params=["thread", "event-loop"], autouse=True)
def dispatch(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test twice: pools dispatched by their thread, then by an event loop.

    In the second pass each pool, once built, is handed to an event loop running in a
    thread of its own (``use_event_loop``), so the tests' calls from other threads and
    other loops all cross over to it, as a server's worker threads do.
    """
    if request.param == "thread":
        yield request.param
        return
    with background_loop() as loop, pytest.MonkeyPatch.context() as patch:
        build = WorkerPool.__init__

        def built_then_handed_over(self: WorkerPool, *args: object, **kwargs: object) -> None:
            build(self, *args, **kwargs)  # type: ignore[arg-type]
            run_on(loop, self.use_event_loop)

        patch.setattr(WorkerPool, "__init__", built_then_handed_over)
        yield request.param


@contextlib.contextmanager
def background_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a thread of its own until the block ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-event-loop", daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def run_on(loop: asyncio.AbstractEventLoop, fn: Callable[[], T]) -> T:
    """``fn()`` called on ``loop``'s thread (as a coroutine step), its result returned."""

    async def call() -> T:
        return fn()

    return asyncio.run_coroutine_threadsafe(call(), loop).result(30)


@pytest.fixture(scope="module")
def pool(dispatch: str) -> Iterator[WorkerPool]:
    with WorkerPool(2, memory_limit_mb=1024) as p:
        yield p


@pytest.fixture
def baseline() -> Iterator[set[int]]:
    """Fails the test if it leaves worker processes behind after closing its pools."""
    before = _grandchildren()
    yield before


def _assert_no_leftovers(before: set[int]) -> None:
    left = _grandchildren() - before
    assert not left, f"leftover worker processes: {left}"


# ----------------------------------------------------------------------------- results


def test_results_in_input_order(pool: WorkerPool) -> None:
    items = list(range(500))
    assert pool.map(h.square, items, deadline_s=5) == [x * x for x in items]


def test_results_in_input_order_with_keys(pool: WorkerPool) -> None:
    items = [(f"k{i % 7}", i) for i in range(300)]
    out = pool.map(h.key_and_pid, items, deadline_s=5, key=lambda it: it[0])
    assert [o[0] for o in out] == [k for k, _ in items]  # type: ignore[index]


def test_same_key_runs_in_same_worker(pool: WorkerPool) -> None:
    items = [(f"group{i // 16}", i) for i in range(64)]  # four GRPO groups of 16
    out = pool.map(h.key_and_pid, items, deadline_s=5, key=lambda it: it[0])
    pids: dict[str, set[int]] = {}
    for k, pid in out:  # type: ignore[misc]
        pids.setdefault(k, set()).add(pid)
    assert all(len(p) == 1 for p in pids.values()), pids


def test_chunks_of_one_key_stay_on_the_worker_that_has_it() -> None:
    with WorkerPool(2, chunk_size=2) as p:
        p.map(h.square, [1, 2], deadline_s=5)
        _wait_healthy(p)
        items = [(k, i) for k in ("a", "b") for i in range(4)]  # two keys, two chunks each
        out = p.map(h.key_and_pid_after_nap, items, deadline_s=5, key=lambda it: it[0])
        pids = {k: {pid for kk, pid in out if kk == k} for k in "ab"}  # type: ignore[misc]
        assert len(pids["a"]) == len(pids["b"]) == 1, pids  # not both workers parse "a"
        assert pids["a"] != pids["b"]  # and the two keys ran side by side


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-1000, 1000)), max_size=80))
def test_order_property(pool: WorkerPool, items: list[tuple[int, int]]) -> None:
    values = [v for _, v in items]
    keys = dict(enumerate(k for k, _ in items))
    indexed = list(range(len(items)))
    out = pool.map(h.square, values, deadline_s=5)
    assert out == [v * v for v in values]
    keyed = pool.map(h.square, indexed, deadline_s=5, key=keys.__getitem__)
    assert keyed == [i * i for i in indexed]


def test_empty_and_run(pool: WorkerPool) -> None:
    assert pool.map(h.square, [], deadline_s=1) == []
    assert pool.run(h.square, 12, deadline_s=1) == 144


def test_exceptions_become_task_failed(pool: WorkerPool) -> None:
    out = pool.map(h.fail_on_odd, [0, 1, 2, 3], deadline_s=5)
    assert out == [0, TaskFailed("ValueError: odd 1"), 2, TaskFailed("ValueError: odd 3")]
    assert pool.run(h.quiet_exit, 0, deadline_s=5) == TaskFailed("SystemExit: 4")
    bad = pool.run(h.unpicklable_result, 0, deadline_s=5)
    assert isinstance(bad, TaskFailed) and "result cannot be sent back" in bad.error
    unsendable = pool.map(h.identity, [threading.Lock()], deadline_s=5)
    assert isinstance(unsendable[0], TaskFailed) and "cannot send" in unsendable[0].error
    assert pool.run(h.square, 5, deadline_s=5) == 25


# ----------------------------------------------------------------------------- deadlines


def test_timeout_is_reported_promptly_and_pool_keeps_working() -> None:
    with WorkerPool(1) as p:
        p.run(h.square, 1, deadline_s=5)  # worker up
        for fn in (h.spin, h.hold_gil):  # a Python loop, and C code holding the GIL
            t0 = time.monotonic()
            out = p.run(fn, 0, deadline_s=0.3)
            took = time.monotonic() - t0
            assert isinstance(out, TaskTimeout), out
            assert out.elapsed_s >= 0.3
            assert took < 0.3 + SLACK_S
            assert p.run(h.square, 3, deadline_s=5) == 9


def test_timeout_only_hits_the_slow_item() -> None:
    with WorkerPool(1) as p:
        out = p.map(h.spin_if_negative, [1, 2, -1, 3, 4], deadline_s=0.3)
        assert out[:2] == [1, 2] and out[3:] == [3, 4]
        assert isinstance(out[2], TaskTimeout)


def test_queueing_does_not_count_against_the_deadline() -> None:
    with WorkerPool(1) as p:
        p.run(h.square, 1, deadline_s=5)
        out = p.map(h.sleep_for, [0.3] * 5, deadline_s=0.5)
        assert out == [0.3] * 5


def test_a_result_that_ends_past_its_deadline_is_a_timeout() -> None:
    with WorkerPool(1) as p:
        first = p.submit(h.sleep_for, [0.2], deadline_s=5)[0]
        late = p.submit(h.sleep_for, [0.3], deadline_s=0.1)[0]
        # Stall the dispatcher (it runs callbacks) while `late` runs: no kill can stop it.
        first.add_done_callback(lambda _: time.sleep(0.6))
        out = late.result(timeout=10)
        assert isinstance(out, TaskTimeout), out
        assert out.elapsed_s >= 0.1
        stats = _wait_healthy(p)
        assert (stats.completed, stats.timeouts, stats.restarts) == (1, 1, 0)


@pytest.fixture
def no_early_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers hold every result until their chunk ends, so none arrives mid-chunk."""
    monkeypatch.setattr(pool_module, "_FLUSH_S", 60.0)


@pytest.mark.usefixtures("no_early_flush")
def test_items_a_worker_moved_past_do_not_time_out() -> None:
    with WorkerPool(1) as p:  # no result arrives for 0.8 s, but no item runs 0.5 s
        out = p.map(h.sleep_for, [0.2] * 4, deadline_s=0.5, key=lambda _: "one")
        assert out == [0.2] * 4
        assert p.stats().timeouts == 0


@pytest.mark.usefixtures("no_early_flush")
def test_timeout_is_charged_to_the_item_that_ran_too_long() -> None:
    with WorkerPool(1) as p:
        p.run(h.square, 1, deadline_s=5)  # worker up
        out = p.map(h.nap_or_spin, [0.6, -1.0], deadline_s=1.0, key=lambda _: "one")
        assert out[0] == 0.6  # finished in time; its unsent result was lost and re-run
        assert isinstance(out[1], TaskTimeout), out
        # counted from when the spinning item started (from the chunk's start: >= 1.6)
        assert 1.0 <= out[1].elapsed_s < 1.0 + SLACK_S
        stats = _wait_healthy(p)
        assert (stats.completed, stats.timeouts, stats.restarts) == (2, 1, 1)


@pytest.mark.usefixtures("no_early_flush")
@pytest.mark.parametrize(
    ("bad", "lost_as"), [(-1, TaskTimeout), (-2, TaskFailed)], ids=["stuck", "crash"]
)
def test_unflushed_results_of_a_lost_worker_are_run_again(bad: int, lost_as: type) -> None:
    with WorkerPool(1) as p:
        out = p.map(h.pid_unless_negative, [1, 2, 3, bad, 4, 5], deadline_s=0.3, key=lambda _: 0)
        assert isinstance(out[3], lost_as), out
        if isinstance(out[3], TaskFailed):
            assert out[3].error == "worker died (exit code 3)"
        done = out[:3] + out[4:]
        assert [o[0] for o in done] == [1, 2, 3, 4, 5]  # type: ignore[index]
        # 1-3 finished in the lost worker but their results never left it: the
        # replacement ran them again, with 4 and 5
        assert len({o[1] for o in done}) == 1  # type: ignore[index]
        stats = _wait_healthy(p)
        assert (stats.completed, stats.restarts) == (5, 1)
        assert stats.timeouts + stats.failures == 1


@pytest.mark.usefixtures("no_early_flush")
def test_a_result_the_parent_cannot_load_fails_only_its_item() -> None:
    with WorkerPool(1) as p:
        out = p.map(h.unloadable_if_negative, [1, -1, 2], deadline_s=5, key=lambda _: 0)
        assert out[0] == 1 and out[2] == 2
        assert out[1] == TaskFailed("cannot load the result: RuntimeError: refuses to load")
        stats = _wait_healthy(p)
        assert (stats.completed, stats.failures, stats.restarts) == (2, 1, 0)


def test_many_pathological_items_leave_the_pool_healthy(baseline: set[int]) -> None:
    with WorkerPool(2, memory_limit_mb=1024) as p:
        out = p.map(h.spin, list(range(200)), deadline_s=0.05)
        assert all(isinstance(o, TaskTimeout) for o in out)
        assert p.map(h.square, list(range(50)), deadline_s=5) == [x * x for x in range(50)]
        stats = _wait_healthy(p)
        assert stats.timeouts == 200 and stats.restarts == 200
        assert len(_grandchildren() - baseline) == 2  # just the two live workers
    _assert_no_leftovers(baseline)


# ----------------------------------------------------------------------------- crashes


@pytest.mark.parametrize(
    ("fn", "arg", "error"),
    [
        (h.exit_with, 3, "worker died (exit code 3)"),
        (h.exit_with, 0, "worker died (exit code 0)"),
        (h.segfault, 0, f"worker died (exit code -{int(signal.SIGSEGV)})"),
    ],
)
def test_worker_death_is_task_failed_and_pool_recovers(
    fn: object, arg: int, error: str, baseline: set[int]
) -> None:
    with WorkerPool(1) as p:
        out = p.map(fn, [arg], deadline_s=5)  # type: ignore[arg-type]
        assert out == [TaskFailed(error)]
        assert p.run(fn, arg, deadline_s=5) == TaskFailed(error)  # type: ignore[arg-type]
        assert p.map(h.square, [1, 2, 3], deadline_s=5) == [1, 4, 9]
    _assert_no_leftovers(baseline)


def test_items_after_a_crash_in_the_same_chunk_still_run() -> None:
    with WorkerPool(1, chunk_size=64) as p:
        out = p.map(h.exit_if_negative, [1, 2, -3, 4, 5], deadline_s=5, key=lambda _: "one")
        assert out == [1, 2, TaskFailed("worker died (exit code 3)"), 4, 5]


def test_memory_bomb_fails_the_item_and_pool_recovers() -> None:
    with WorkerPool(1, memory_limit_mb=512) as p:
        out = p.map(h.allocate_mb, [1, 4096, 1], deadline_s=10)
        assert out[0] == out[2] == 1024 * 1024
        assert isinstance(out[1], TaskFailed) and "MemoryError" in out[1].error
        assert p.run(h.allocate_mb, 64, deadline_s=10) == 64 * 1024 * 1024
        assert _wait_healthy(p).restarts == 1  # recycled after the MemoryError


def test_max_tasks_per_worker_recycles() -> None:
    with WorkerPool(1, max_tasks_per_worker=5) as p:
        pids = p.map(h.getpid, list(range(12)), deadline_s=5)
        assert len(set(pids)) == 3  # 5 + 5 + 2
        assert _wait_healthy(p).restarts >= 2


# ----------------------------------------------------------------------------- concurrency


def test_concurrent_map_from_many_threads(pool: WorkerPool) -> None:
    def job(i: int) -> list[object]:
        items = list(range(i * 100, i * 100 + 100))
        return list(pool.map(h.square, items, deadline_s=5))

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(job, range(8)))
    for i, out in enumerate(results):
        assert out == [x * x for x in range(i * 100, i * 100 + 100)]


async def test_amap_does_not_block_the_event_loop(pool: WorkerPool) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    out = await pool.amap(h.sleep_for, [0.1] * 4, deadline_s=5)
    task.cancel()
    assert out == [0.1] * 4
    assert ticks >= 10  # about 0.2 s of ticks at 10 ms
    assert await pool.amap(h.square, [], deadline_s=1) == []


async def test_cancelling_amap_leaves_the_pool_usable() -> None:
    with WorkerPool(1) as p:
        task = asyncio.create_task(p.amap(h.sleep_for, [0.2] * 10, deadline_s=5))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        t0 = time.monotonic()
        assert await p.amap(h.square, [1, 2, 3], deadline_s=5) == [1, 4, 9]
        assert time.monotonic() - t0 < 1.0  # the cancelled items were dropped, not run
        assert p.stats().queued == 0


def test_submit_returns_futures_in_order(pool: WorkerPool) -> None:
    futures = pool.submit(h.square, [3, 4, 5], deadline_s=5)
    assert [f.result(timeout=5) for f in futures] == [9, 16, 25]


def test_cancelled_futures_are_dropped() -> None:
    with WorkerPool(1) as p:
        futures = p.submit(h.sleep_for, [0.2, 0.2, 0.2, 0.2], deadline_s=5)
        assert futures[3].cancel()  # still queued: one item per chunk, one worker
        assert [f.result(timeout=5) for f in futures[:3]] == [0.2] * 3
        assert futures[3].cancelled()
        assert _wait_healthy(p).completed == 3


# ----------------------------------------------------------------------------- chunks ahead


def _aheads(p: WorkerPool) -> list[bool]:
    with p._lock:  # the scheduler's state, read as the dispatcher leaves it
        return [w.ahead is not None for w in p._sched.workers]


def _all_ready(p: WorkerPool) -> bool:
    with p._lock:
        return all(w.ready for w in p._sched.workers)


async def _await_until(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        await asyncio.sleep(0.01)
    return False


def test_a_busy_worker_holds_the_next_chunk_ahead() -> None:
    with WorkerPool(1) as p:
        p.run(h.square, 1, deadline_s=5)
        futures = p.submit(h.sleep_for, [0.3] * 4, deadline_s=5)  # four chunks of one
        assert _wait_until(lambda: _aheads(p) == [True], timeout=2.0)
        assert p.stats().queued == 2  # one running, one ahead in the pipe, two queued
        assert [f.result(timeout=10) for f in futures] == [0.3] * 4


def test_no_chunk_goes_ahead_while_a_worker_is_idle() -> None:
    with WorkerPool(2) as p:
        p.map(h.square, [1, 2], deadline_s=5)
        assert _wait_until(lambda: _all_ready(p))  # else the ready one gets both, by design
        out = p.map(h.key_and_pid_after_nap, [("a", 1), ("b", 2)], deadline_s=5)
        assert len({pid for _, pid in out}) == 2  # a short batch still uses both workers


def test_a_chunk_too_large_for_the_pipe_is_not_sent_ahead() -> None:
    text = "x" * (1 << 20)  # each chunk alone nearly fills the pipe
    with WorkerPool(1) as p:
        p.run(h.square, 1, deadline_s=5)
        futures = p.submit(h.length_after_nap, [text] * 3, deadline_s=5)
        seen = []
        while not all(f.done() for f in futures):
            seen += _aheads(p)
            time.sleep(0.001)
        assert [f.result() for f in futures] == [len(text)] * 3
        assert not any(seen)


def test_a_timeout_requeues_the_chunk_ahead_whole() -> None:
    with WorkerPool(1) as p:
        p.run(h.square, 1, deadline_s=5)
        # chunks [-1] [1] [2] [3]: the spinning one is killed with [1] ahead of it
        out = p.map(h.pid_unless_negative, [-1, 1, 2, 3], deadline_s=0.5)
        assert isinstance(out[0], TaskTimeout), out
        assert [o[0] for o in out[1:]] == [1, 2, 3]  # type: ignore[index]
        stats = _wait_healthy(p)
        assert (stats.completed, stats.timeouts, stats.restarts) == (4, 1, 1)  # with square(1)


@pytest.mark.parametrize("cancel", ["running", "ahead"])
async def test_cancelling_a_call_whose_chunk_is_ahead_or_running(cancel: str) -> None:
    with WorkerPool(1) as p:
        await p.amap(h.square, [1], deadline_s=5)
        slow = asyncio.create_task(p.amap(h.sleep_for, [3.0], deadline_s=10))
        await asyncio.sleep(0.3)  # running
        quick = asyncio.create_task(p.amap(h.sleep_for, [0.2, 0.2], deadline_s=10))
        assert await _await_until(lambda: _aheads(p) == [True], timeout=2.0)  # quick's first
        t0 = time.monotonic()
        victim, survivor = (slow, quick) if cancel == "running" else (quick, slow)
        victim.cancel()
        with pytest.raises(asyncio.CancelledError):
            await victim
        out = await survivor
        took = time.monotonic() - t0
        if cancel == "running":  # the 3 s item is killed; quick's chunks run at once
            assert out == [0.2, 0.2] and took < 1.5
        else:  # the worker was replaced; the 3 s item ran again and finished
            assert out == [3.0] and p.stats().restarts == 1
        assert p.stats().queued == 0


# ----------------------------------------------------------------------------- lifecycle


def test_close_fails_pending_and_leaves_no_processes(baseline: set[int]) -> None:
    p = WorkerPool(2)
    futures = p.submit(h.sleep_for, [0.5] * 20, deadline_s=5)
    time.sleep(0.2)
    assert len(_grandchildren() - baseline) == 2
    p.close()
    assert all(f.done() for f in futures)
    assert any(f.result() == TaskFailed("pool closed") for f in futures)
    _assert_no_leftovers(baseline)
    p.close()  # idempotent
    with pytest.raises(WorkerPoolError, match="closed"):
        p.map(h.square, [1], deadline_s=1)


def test_workers_die_with_their_parent(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, signal, sys, time
            sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "src")!r}]
            from rlvr_gym.rewards.pool import WorkerPool
            from tests.rewards import pool_helpers as h

            if __name__ == "__main__":
                pool = WorkerPool(2)
                pids = set(pool.map(h.getpid, list(range(8)), deadline_s=5))
                pool.submit(h.hold_gil, [0], deadline_s=60)  # busy in C, holding the GIL
                pool.submit(h.spin, [0], deadline_s=60)
                time.sleep(0.5)
                print(" ".join(map(str, pids)), flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    pids = {int(p) for p in proc.stdout.split()}
    assert pids
    assert _wait_until(lambda: _gone(pids), timeout=5.0), "workers outlived their parent"


def test_stats_counters() -> None:
    with WorkerPool(1) as p:
        assert p.stats() == PoolStats(1, 1, 0, 0, 0, 0, 0, 0)
        p.map(h.fail_on_odd, [0, 1, 2], deadline_s=5)
        p.run(h.spin, 0, deadline_s=0.1)
        p.run(h.exit_with, 1, deadline_s=5)
        stats = _wait_healthy(p)
        assert (stats.completed, stats.failures, stats.timeouts) == (2, 2, 1)
        assert (stats.restarts, stats.busy, stats.queued) == (2, 0, 0)


def test_misuse_raises() -> None:
    with WorkerPool(1) as p:
        for bad in (0, -1.0, float("nan"), float("inf")):
            with pytest.raises(WorkerPoolError, match="deadline_s"):
                p.map(h.square, [1], deadline_s=bad)
        with pytest.raises(WorkerPoolError, match="module-level function"):
            p.map(lambda x: x, [1], deadline_s=1)
    with pytest.raises(ConfigError, match="workers=0"):
        WorkerPool(0)
    with pytest.raises(ConfigError, match="memory_limit_mb=0"):
        WorkerPool(1, memory_limit_mb=0)
    with pytest.raises(ConfigError, match="not found"):
        WorkerPool(1, preload=["rlvr_gym.no_such_module"])


def test_preload_is_imported_before_serving() -> None:
    with WorkerPool(1, preload=["tests.rewards.pool_helpers", "json"]) as p:
        assert p.run(h.has_module, "json", deadline_s=5) is True


def test_threads_do_not_spin_while_idle(pool: WorkerPool, dispatch: str) -> None:
    pool.map(h.square, [1], deadline_s=5)
    cpu0 = time.process_time()
    time.sleep(0.5)
    assert time.process_time() - cpu0 < 0.05
    dispatchers = [t for t in threading.enumerate() if t.name.endswith("-dispatcher")]
    assert len(dispatchers) == (1 if dispatch == "thread" else 0)  # the loop took over


def test_workers_that_cannot_start_break_the_pool_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rlvr_pool_bad_preload.py").write_text("raise ImportError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # workers get the parent's sys.path
    with WorkerPool(1, preload=["rlvr_pool_bad_preload"]) as p:
        try:
            out = p.map(h.square, [1, 2], deadline_s=5)
            assert all(isinstance(o, TaskFailed) and "boom at import" in o.error for o in out)
        except WorkerPoolError as exc:
            assert "boom at import" in str(exc)
        with pytest.raises(WorkerPoolError, match="cannot serve: worker failed to start: Import"):
            p.map(h.square, [1], deadline_s=5)
