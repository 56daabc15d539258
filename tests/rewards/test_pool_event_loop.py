"""WorkerPool dispatched by the caller's own event loop (``use_event_loop``).

``test_pool.py`` runs every pool test a second time with pools handed to a loop in
another thread. These cover what only the dispatching loop itself sees: ``amap`` results
delivered without a cross-thread call, deadlines kept by loop timers, replacements started
off the loop, a ``map`` that would wait for itself, and closing from either side.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from rlvr_gym.errors import WorkerPoolError
from rlvr_gym.rewards.pool import TaskFailed, TaskTimeout, WorkerPool
from tests.rewards import pool_helpers as h
from tests.rewards.test_pool import (
    SLACK_S,
    _assert_no_leftovers,
    _grandchildren,
    _wait_until,
    background_loop,
    run_on,
)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_the_loop_dispatches_and_keeps_deadlines() -> None:
    with WorkerPool(2) as p:
        p.use_event_loop()
        p.use_event_loop()  # again from the same loop: nothing changes
        assert not [t for t in threading.enumerate() if t.name.endswith("-dispatcher")]
        assert await p.amap(h.square, list(range(50)), deadline_s=5) == [x * x for x in range(50)]
        started = time.monotonic()
        out = await p.amap(h.spin_if_negative, [1, -1, 2], deadline_s=0.5)
        assert out[0] == 1 and out[2] == 2
        assert isinstance(out[1], TaskTimeout)  # found by a loop timer: no thread is left
        assert time.monotonic() - started < 0.5 + SLACK_S + 1.0
        # the replacement starts off the loop; the pool is whole again and keeps serving
        assert _wait_until(lambda: p.stats().alive == 2)
        assert await p.amap(h.square, [3, 4], deadline_s=5) == [9, 16]


async def test_a_dead_worker_is_replaced_off_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    starts: list[int] = []
    start = WorkerPool._start_worker

    def recorded(self: WorkerPool) -> object:
        starts.append(threading.get_ident())
        return start(self)

    monkeypatch.setattr(WorkerPool, "_start_worker", recorded)
    with WorkerPool(1) as p:
        p.use_event_loop()
        out = await p.amap(h.exit_if_negative, [1, -1, 2], deadline_s=5)
        assert out[0] == 1 and out[2] == 2
        assert isinstance(out[1], TaskFailed) and "worker died" in out[1].error
        assert await p.amap(h.square, [5], deadline_s=5) == [25]
        assert p.stats().restarts == 1
    # the first start was the constructor's; the replacement's must not stall the loop
    assert len(starts) == 2 and starts[1] != threading.get_ident()


async def test_cancelling_amap_on_the_dispatching_loop() -> None:
    with WorkerPool(1) as p:
        p.use_event_loop()
        task = asyncio.create_task(p.amap(h.sleep_for, [0.2] * 10, deadline_s=5))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await p.amap(h.square, [1, 2, 3], deadline_s=5) == [1, 4, 9]


async def test_map_on_the_dispatching_loop_is_refused_not_a_hang() -> None:
    with WorkerPool(1) as p:
        p.use_event_loop()
        with pytest.raises(WorkerPoolError, match="await amap"):
            p.map(h.square, [1], deadline_s=5)
        # map from another thread is fine: the loop serves it while this task waits
        assert await asyncio.to_thread(p.map, h.square, [2, 3], deadline_s=5) == [4, 9]


async def test_a_second_loop_or_a_closed_pool_is_refused() -> None:
    p = WorkerPool(1)
    p.use_event_loop()
    with background_loop() as other, pytest.raises(WorkerPoolError, match="another event loop"):
        run_on(other, p.use_event_loop)
    p.close()
    with pytest.raises(WorkerPoolError, match="is closed"):
        p.use_event_loop()


def test_use_event_loop_needs_a_running_loop() -> None:
    with WorkerPool(1) as p, pytest.raises(RuntimeError):
        p.use_event_loop()


def test_closing_from_another_thread_lets_the_loop_go() -> None:
    before, fds = _grandchildren(), open_fds()
    with background_loop() as loop:
        p = WorkerPool(2)
        run_on(loop, p.use_event_loop)
        assert p.map(h.square, [1, 2], deadline_s=5) == [1, 4]
        p.close()
        assert run_on(loop, lambda: 41) == 41  # the loop runs on, not woken by a dead fd
    assert _wait_until(lambda: not (_grandchildren() - before))
    _assert_no_leftovers(before)
    assert open_fds() <= fds  # selector and wake-up pipe closed


def test_closing_on_the_loop_itself() -> None:
    before = _grandchildren()
    with background_loop() as loop:
        p = WorkerPool(1)
        run_on(loop, p.use_event_loop)
        assert p.map(h.square, [3], deadline_s=5) == [9]
        run_on(loop, p.close)
        with pytest.raises(WorkerPoolError, match="is closed"):
            p.map(h.square, [1], deadline_s=5)
    assert _wait_until(lambda: not (_grandchildren() - before))


def test_a_pool_outliving_its_loop_still_closes_cleanly() -> None:
    before = _grandchildren()
    with background_loop() as loop:
        p = WorkerPool(1)
        run_on(loop, p.use_event_loop)
        assert p.map(h.square, [4], deadline_s=5) == [16]
    assert loop.is_closed()
    p.close(timeout=5)  # must not wait for a loop that is gone
    assert _wait_until(lambda: not (_grandchildren() - before))
