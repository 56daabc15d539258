"""Scheduler.assign: which worker gets which chunk, and when one goes *ahead*.

The moments these rules are about (a worker still starting, a chunk too large for its
pipe) last milliseconds in a real pool, so the rules are checked here on the scheduler
alone, with stand-in workers that record what they were sent; ``test_pool.py`` checks
the same behaviour end to end where it can be made to happen on demand.
"""

from __future__ import annotations

from rlvr_gym.rewards._chunks import BatchSink, Chunk
from rlvr_gym.rewards._scheduler import Scheduler


class Worker:
    """The part of ``_scheduler.Handle`` that ``assign`` uses."""

    def __init__(self, *, ready: bool = True, room: int = 1 << 20) -> None:
        self.ready, self.eof, self.done, self.room = ready, False, 0, room
        self.chunk: Chunk | None = None
        self.ahead: Chunk | None = None
        self.sent: list[Chunk] = []

    def send(self, chunk: Chunk) -> None:
        self.sent.append(chunk)
        if self.chunk is None:
            self.chunk = chunk
        else:
            self.ahead = chunk

    def owed(self) -> int:
        return sum(len(c.items) for c in (self.chunk, self.ahead) if c is not None)

    def can_wait(self, chunk: Chunk) -> bool:
        return len(chunk.items) <= self.room


def _scheduler(workers: list[Worker], chunks: int, size: int = 4, **kw: int) -> Scheduler:
    sched = Scheduler(kw.get("max_tasks"), start_timeout_s=60.0, max_start_failures=3)
    sched.workers = workers  # type: ignore[assignment]
    sink = BatchSink(chunks * size, lambda: None)
    for c in range(chunks):
        idxs = list(range(c * size, (c + 1) * size))
        sched.queue.append(Chunk(abs, idxs, sink, idxs, deadline_s=5.0, flush_s=0.0))
    return sched


def test_idle_workers_first_then_one_chunk_ahead_each() -> None:
    a, b = Worker(), Worker()
    sched = _scheduler([a, b], chunks=5)
    sched.assign()
    assert [len(w.sent) for w in (a, b)] == [2, 2]
    assert a.ahead is not None and b.ahead is not None
    assert len(sched.queue) == 1  # no more than one ahead
    sched.assign()
    assert len(sched.queue) == 1


def test_a_short_batch_goes_to_idle_workers_only() -> None:
    a, b, c = Worker(), Worker(), Worker()
    sched = _scheduler([a, b, c], chunks=2)
    sched.assign()
    assert sorted(len(w.sent) for w in (a, b, c)) == [0, 1, 1]
    assert all(w.ahead is None for w in (a, b, c))


def test_nothing_goes_ahead_while_a_worker_is_starting() -> None:
    busy, starting = Worker(), Worker(ready=False)
    sched = _scheduler([busy, starting], chunks=3)
    sched.assign()
    assert len(busy.sent) == 1 and busy.ahead is None and not starting.sent
    starting.ready = True
    sched.assign()
    assert starting.chunk is not None  # the second chunk waited for it
    assert len(busy.sent) + len(starting.sent) == 3  # and now the third goes ahead


def test_nothing_goes_ahead_while_a_replacement_is_due() -> None:
    busy = Worker()
    sched = _scheduler([busy], chunks=3)
    sched.spawn_needed = 1
    sched.assign()
    assert len(busy.sent) == 1 and busy.ahead is None


def test_a_chunk_that_cannot_wait_in_the_pipe_stays_queued_for_an_idle_worker() -> None:
    a = Worker(room=3)  # a chunk of 4 items does not fit beside the current one
    sched = _scheduler([a], chunks=2)
    sched.assign()
    assert len(a.sent) == 1 and a.ahead is None and len(sched.queue) == 1


def test_max_tasks_counts_the_items_already_sent() -> None:
    a = Worker()
    sched = _scheduler([a], chunks=3, max_tasks=6)  # chunks of 4: 4 running, then 2 ahead
    sched.assign()
    assert [len(c.items) for c in a.sent] == [4, 2]
    assert sum(len(c.items) for c in sched.queue) == 6
