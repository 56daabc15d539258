"""A pool of killable worker processes with per-item deadlines.

Why: grading runs LaTeX parsing and sympy on text a model wrote, and some inputs
(``9^{9^{9^{9}}}``, ten thousand nested braces, 200 KB strings) make sympy hang or eat
memory. ``signal.alarm`` cannot help (main thread only, cannot stop C code), so every item
runs in a worker process and its deadline is enforced from outside: the parent SIGKILLs
the worker, reports :class:`TaskTimeout`, starts a replacement and keeps serving.
Per-item problems come back as data, never as exceptions.

How: items are grouped into chunks (same ``key`` -> same chunk, so a worker's gold-answer
cache hits) and a chunk goes to an idle worker in one message. The parent does no work
per item beyond (un)pickling: items take tens of µs to grade, and per-item bookkeeping in
the parent (a message, a future, a selector built per wake-up) used to cost as much.

* A worker sends results in batches: before starting an item once ``_FLUSH_S`` has
  passed since its last message, and at the end of the chunk.
* A deadline counts from when a worker starts the item, not from queueing. The worker
  writes ``(item sequence number, start time)`` into a shared-memory slot before each
  item; the parent reads it to find the running item and its deadline, re-reads it when
  that deadline passes (the worker may have moved on) and only then SIGKILLs the worker,
  reports :class:`TaskTimeout` for that item, and starts a replacement. The item a dead
  worker was running becomes :class:`TaskFailed`. A worker reports an item that ended
  past its deadline as a timeout itself, so a late result never races the parent's timer.
* Results the killed worker had not flushed are lost: those items go back to the front
  of the queue with the unstarted rest of its chunk, and are run again.
* One dispatcher thread waits on a persistent selector (``epoll`` on Linux) over all
  worker result pipes, process sentinels and a wake-up pipe, its timeout set by the
  nearest deadline: an idle pool burns no CPU, and a timeout is reported milliseconds
  after it expires. An asyncio program can have its event loop do the thread's work
  instead (:meth:`WorkerPool.use_event_loop`, run by :mod:`._loop_driver`): the loop
  watches the selector and keeps the deadlines with timers.
* ``map``/``amap`` fill one results list with a countdown, not a future per item.
* An idle worker takes, from the first few queued chunks, one of a key it ran last, so a
  group larger than a chunk is not parsed again by every worker.
* Once no idle worker is left, each busy worker is sent one more chunk *ahead*, which it
  starts the moment its current one ends: a parent busy with other work (a gRPC server's
  event loop, a trainer) no longer leaves its workers idle between chunks while its
  dispatcher waits for the GIL. A killed worker's chunk ahead is run again elsewhere.

The wire protocol is described in :mod:`._worker`, chunks and result sinks in
:mod:`._chunks`, the bookkeeping in :mod:`._scheduler`.

Workers come from the ``forkserver`` start method (never ``fork`` from a threaded parent),
preloaded with ``preload`` so a replacement is ready fast. The forkserver is process-wide:
modules asked for after it started are imported by each new worker instead, and, as with
any non-``fork`` start method, the main script needs an ``if __name__ == "__main__":``
guard. Workers exit when the parent dies (EOF on a liveness pipe); :meth:`WorkerPool.close`
and an ``atexit`` hook kill and reap them.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures as cf
import contextlib
import importlib.util
import logging
import math
import multiprocessing
import os
import pickle
import selectors
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from rlvr_gym._closing import Closing
from rlvr_gym.errors import ConfigError, WorkerPoolError
from rlvr_gym.rewards._chunks import BatchSink, Chunk, FutureSink, Outcome, Sink, plan_chunks
from rlvr_gym.rewards._loop_driver import LoopDriver, running
from rlvr_gym.rewards._mainguard import main_hidden
from rlvr_gym.rewards._scheduler import CONN, EXIT, REAP, WAKE, Handle, Scheduler
from rlvr_gym.rewards._worker import OK, TIMEOUT, describe

__all__ = ["PoolStats", "TaskFailed", "TaskTimeout", "WorkerPool"]

T = TypeVar("T")
R = TypeVar("R")

_log = logging.getLogger(__name__)
_CTX = multiprocessing.get_context("forkserver")
_START_TIMEOUT_S = 120.0  # a worker that cannot import its preload in this long never will
_MAX_START_FAILURES = 3  # consecutive start-up failures before the pool gives up
# How long a worker may hold results before sending them: long enough that cheap items
# share a message, short enough that a slow item's result is not held up, and the work
# lost (re-run) when a worker is killed stays small.
_FLUSH_S = 0.005
# The forkserver's, process-wide. This module rather than just `_worker`: a script's main
# module is re-run in every worker (Python 3.11 ignores "__main__" here), and when it
# imports the pool that costs nothing if the forkserver already holds it.
_PRELOAD: list[str] = ["__main__", __name__]
_PRELOAD_LOCK = threading.Lock()
_LIVE: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


@dataclass(frozen=True)
class TaskTimeout:
    """The item ran past its deadline; its worker was killed and replaced.

    An item that ended past its deadline before the pool could stop it is reported the
    same way (its late result is dropped; the worker, not stuck, keeps serving).

    Attributes:
        elapsed_s: Seconds the item had been running when it was stopped (>= deadline).
    """

    elapsed_s: float


@dataclass(frozen=True)
class TaskFailed:
    """The item produced no value.

    Attributes:
        error: ``"ExcType: message"`` if the function raised, ``"worker died (exit code
            N)"`` if the process died under it (segfault, ``os._exit``, rlimit), or
            ``"pool closed"``.
    """

    error: str


@dataclass(frozen=True)
class PoolStats:
    """A snapshot of the pool; ``completed``, ``timeouts`` and ``failures`` are disjoint.

    Attributes:
        workers: Configured number of worker processes.
        alive: Worker processes running (starting or serving).
        busy: Workers running a chunk.
        queued: Items waiting for a worker.
        completed: Items that returned a value.
        timeouts: Items that became :class:`TaskTimeout`.
        failures: Items that became :class:`TaskFailed`.
        restarts: Workers replaced after a timeout, a death or a recycle.
    """

    workers: int
    alive: int
    busy: int
    queued: int
    completed: int
    timeouts: int
    failures: int
    restarts: int


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package
        return False


def _settle(outcomes: list[Outcome]) -> None:
    """Deliver results; called outside the pool's lock because callbacks may use the pool."""
    for sink, idxs, codes, values in outcomes:
        if codes is not None:  # not all OK: wrap the errors in the public types
            values = [
                v if c == OK else TaskTimeout(v) if c == TIMEOUT else TaskFailed(v)
                for c, v in zip(codes, values)
            ]
        sink.deliver(idxs, values)


class WorkerPool(Closing):
    """Worker processes that run a picklable function per item, each under a deadline.

    Safe to share between threads and asyncio tasks. Future callbacks run on the
    dispatcher thread (or the event loop that dispatches the pool) and must not block on
    this pool.

    Args:
        workers: Number of worker processes; defaults to ``os.cpu_count()``.
        preload: Modules imported in every worker before it serves (e.g.
            ``"rlvr_gym.rewards.math.grader"``), so no item pays for the import.
        memory_limit_mb: ``RLIMIT_AS`` of each worker; ``None`` for no limit.
        max_tasks_per_worker: Replace a worker after this many items (bounds leaks).
        chunk_size: Most items sent to a worker in one message.
        name: Used in process names and error messages.
        import_main: Whether workers re-import the caller's ``__main__`` module, as
            multiprocessing does by default. Needed only when ``fn`` or the items are
            defined in ``__main__``; with False, a script that builds a pool at module
            level without an ``if __name__ == "__main__":`` guard still works.

    Raises:
        ConfigError: An argument is out of range or a preload module does not exist.
        WorkerPoolError: Worker processes cannot be started.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        preload: Sequence[str] = (),
        memory_limit_mb: int | None = 4096,
        max_tasks_per_worker: int | None = None,
        chunk_size: int = 64,
        name: str = "rlvr-gym",
        import_main: bool = True,
    ) -> None:
        n = (os.cpu_count() or 1) if workers is None else workers
        self._import_main = import_main
        sizes = {"workers": n, "chunk_size": chunk_size, "memory_limit_mb": memory_limit_mb,
                 "max_tasks_per_worker": max_tasks_per_worker}  # fmt: skip
        if bad := [f"{k}={v}" for k, v in sizes.items() if v is not None and v < 1]:
            raise ConfigError(f"invalid WorkerPool argument {', '.join(bad)}: must be >= 1")
        if missing := [m for m in preload if not _importable(m)]:
            raise ConfigError(f"preload modules {missing} not found — check the spelling")
        with _PRELOAD_LOCK:  # takes effect if the forkserver is not running yet
            _PRELOAD.extend(m for m in preload if m not in _PRELOAD)
            _CTX.set_forkserver_preload(list(_PRELOAD))
        self._n, self._name, self._chunk_size = n, name, chunk_size
        self._worker_args = (tuple(preload), memory_limit_mb, f"{name}-worker")
        self._lock = threading.Lock()  # guards all the state below
        self._close_lock = threading.Lock()
        self._sched = Scheduler(max_tasks_per_worker, _START_TIMEOUT_S, _MAX_START_FAILURES)
        self._closed = self._finished = False
        self._driver: LoopDriver | None = None  # set by use_event_loop: it runs the rounds
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._sched.selector.register(self._wake_r, selectors.EVENT_READ, (WAKE, None))
        try:
            for _ in range(n):
                self._sched.add(self._start_worker())
        except Exception as exc:
            self._sched.shutdown()
            self._release(close_wake=True)
            msg = f"cannot start worker processes for pool {name!r}: {describe(exc)}"
            raise WorkerPoolError(msg) from exc
        self._thread = threading.Thread(target=self._loop, name=f"{name}-dispatcher", daemon=True)
        self._thread.start()
        _LIVE.add(self)

    def submit(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        *,
        deadline_s: float,
        key: Callable[[T], Hashable] | None = None,
    ) -> list[cf.Future[R | TaskTimeout | TaskFailed]]:
        """Queue ``fn(item)`` for every item; one future per item, in input order.

        Cancelling a future before a worker takes its item drops the item.

        Raises:
            WorkerPoolError: The pool is closed or broken, ``deadline_s`` is not a
                positive number of seconds, or ``fn`` cannot be pickled.
        """
        futures: list[cf.Future[Any]] = [cf.Future() for _ in items]
        self._enqueue(fn, items, deadline_s, key, FutureSink(futures))
        return futures

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        *,
        deadline_s: float,
        key: Callable[[T], Hashable] | None = None,
    ) -> list[R | TaskTimeout | TaskFailed]:
        """Run ``fn`` on every item, each under ``deadline_s``; results in input order.

        Args:
            fn: A picklable module-level function.
            items: Picklable inputs.
            deadline_s: Most seconds one item may run once a worker has started it.
            key: Items with equal keys share a chunk (up to ``chunk_size``), hence a worker;
                further chunks of a key preferably go to the worker that ran it last.

        Raises:
            WorkerPoolError: Misuse only (see :meth:`submit`); per-item problems are
                returned as :class:`TaskTimeout` / :class:`TaskFailed`.
        """
        if (driver := self._driver) is not None and running(driver.loop):
            raise WorkerPoolError(
                f"worker pool {self._name!r}: map() on the event loop that dispatches the "
                "pool would wait for itself forever; await amap() there instead"
            )
        done = threading.Event()
        sink = BatchSink(len(items), done.set)
        self._enqueue(fn, items, deadline_s, key, sink)
        if items:
            try:
                done.wait()
            finally:
                if not done.is_set():  # interrupted: do not leave our items queued
                    self._cancel(sink)
        return sink.results

    def run(
        self, fn: Callable[[T], R], item: T, *, deadline_s: float
    ) -> R | TaskTimeout | TaskFailed:
        """Run ``fn(item)`` under ``deadline_s``; see :meth:`map`."""
        return self.map(fn, [item], deadline_s=deadline_s)[0]

    async def amap(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        *,
        deadline_s: float,
        key: Callable[[T], Hashable] | None = None,
    ) -> list[R | TaskTimeout | TaskFailed]:
        """Asyncio version of :meth:`map`; never blocks the event loop.

        Cancelling the awaiting task drops the items no worker has started yet; the pool
        stays usable.
        """
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        loop_thread = threading.get_ident()

        def finish() -> None:
            if not done.done():
                done.set_result(None)

        def wake_loop() -> None:
            if threading.get_ident() == loop_thread:  # dispatched by this loop itself
                finish()
                return
            with contextlib.suppress(RuntimeError):  # loop closed: nobody is waiting
                loop.call_soon_threadsafe(finish)

        sink = BatchSink(len(items), wake_loop)
        self._enqueue(fn, items, deadline_s, key, sink)
        if items:
            try:
                await done
            except asyncio.CancelledError:
                self._cancel(sink)
                raise
        return sink.results

    def stats(self) -> PoolStats:
        """Return a consistent snapshot of the pool's state and counters."""
        with self._lock:
            sc = self._sched
            busy = sum(w.chunk is not None for w in sc.workers)
            queued = sum(len(c.items) for c in sc.queue)
            counters = (sc.completed, sc.timeouts, sc.failures, sc.restarts)
            return PoolStats(self._n, len(sc.workers), busy, queued, *counters)

    def use_event_loop(self) -> None:
        """From now on, dispatch from the running event loop instead of the pool's thread.

        Why: a parent whose event loop is busy (a gRPC server) and a dispatcher thread
        take turns at the GIL, and every round of results costs a hand-over between them
        and a wake-up of each. Run by the loop itself, a round is one more callback: the
        loop watches the workers' pipes (``add_reader``), deadlines are loop timers, and
        :meth:`amap` callers are woken without a cross-thread call. Measured on GRPO
        steps of math, ``rlvr-gym serve`` spends about a tenth less CPU per response.

        Call it from the loop's thread (a coroutine or callback). The loop must keep
        running until :meth:`close`, which may be called from any thread; :meth:`map`
        and :meth:`submit` from other threads keep working. Calling it again from the same
        loop does nothing.

        Raises:
            RuntimeError: No event loop runs in this thread.
            WorkerPoolError: The pool is closed, or already dispatched by another loop.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._driver is not None and self._driver.loop is loop and not self._closed:
                return
            if self._closed or self._driver is not None:
                why = "is closed" if self._closed else "is dispatched by another event loop"
                raise WorkerPoolError(f"worker pool {self._name!r} {why}")
            fd = self._sched.selector.fileno()
            self._driver = LoopDriver(loop, fd, self._round_on_loop, self._crashed_on_loop)
            self._wake_thread()  # the thread sees the driver on its next round and returns
        self._thread.join()  # at once: it was waiting for events or the lock
        self._driver.start()

    def close(self, timeout: float = 5.0) -> None:
        """Kill and reap the workers; pending items become ``TaskFailed("pool closed")``.

        Idempotent and safe from any thread, including a future callback.
        """
        with self._close_lock:
            if self._finished:
                return
            end = time.monotonic() + timeout
            with self._lock:
                self._closed = True
                driver = self._driver
                if driver is None:
                    self._wake_thread()
            if driver is not None:
                stopped = driver.leave(timeout)
            else:
                if threading.current_thread() is not self._thread:
                    self._thread.join(timeout)
                stopped = not self._thread.is_alive()
            with self._lock:
                self._sched.shutdown()  # no-op if the dispatcher already did it
                reaping = self._sched.reaping if stopped else []
            self._release(close_wake=stopped)
            for proc in reaping:  # the dispatcher is gone: nobody else touches them
                proc.join(max(0.0, end - time.monotonic()))
                if proc.exitcode is not None:
                    proc.close()
            self._finished = True
            _LIVE.discard(self)

    # ------------------------------------------------------------------ dispatcher thread

    def _loop(self) -> None:
        try:
            while self._step():
                pass
        except BaseException as exc:  # a bug here must not leave callers waiting forever
            _log.exception("worker pool %r dispatcher crashed", self._name)
            with self._lock:
                self._sched.broken = f"dispatcher crashed: {describe(exc)}"
                self._closed = True
                self._sched.shutdown()
            self._release(close_wake=False)

    def _step(self) -> bool:
        """One wait-and-handle round; False once the pool is closed or a loop took over."""
        sched = self._sched
        with self._lock:
            if self._driver is not None:  # handed over by use_event_loop
                return False
            if closed := self._closed:
                sched.shutdown()
            deadline = sched.next_deadline()
            timeout = max(0.0, deadline - time.monotonic())
            if sched.outcomes or sched.spawn_needed:  # left by a failed start: act now
                timeout = 0.0
        if closed:
            self._release(close_wake=False)
            return False
        spawn = self._round(sched.selector.select(None if timeout == math.inf else timeout))
        for _ in range(spawn):  # after settling, so a timeout is reported first
            self._add_worker()
        return True

    def _round(self, events: list[tuple[selectors.SelectorKey, int]]) -> int:
        """Handle ``events``, expire, assign and deliver; returns the workers to start."""
        sched = self._sched
        with self._lock:
            for key, _ in events:
                kind, obj = key.data
                if kind == CONN:
                    sched.receive(obj)
                elif kind == EXIT:
                    sched.exited(obj)
                elif kind == REAP:
                    sched.reaped(obj)
                elif kind == WAKE:
                    with contextlib.suppress(OSError):
                        while os.read(self._wake_r, 4096):
                            pass
            if (now := time.monotonic()) >= sched.next_deadline():  # else none expired
                sched.expire(now)
            sched.assign()  # first: idle workers wait for nothing else
            if sched.load():  # results; True if some items were requeued
                sched.assign()
            sched.prepare()
            outcomes, sched.outcomes = sched.outcomes, []
            spawn, sched.spawn_needed = sched.spawn_needed, 0
        _settle(outcomes)
        return spawn

    def _add_worker(self) -> None:
        """Start a worker and hand it to the scheduler (blocks while it starts)."""
        try:
            worker = self._start_worker()
        except Exception as exc:
            with self._lock:
                self._sched.start_failed(f"cannot start a worker: {describe(exc)}")
                self._wake()
            return
        with self._lock:
            if not self._closed:
                self._sched.add(worker)
                self._wake()  # a round gives it work (and reports a failed start)
                return
        if worker.stop():  # closed meanwhile: the scheduler's shutdown never saw it
            worker.proc.join(5.0)

    # ------------------------------------------------------------------ event-loop dispatch

    def _round_on_loop(self) -> float | None:
        """A round run by the event loop; the next deadline, or None once closed."""
        with self._lock:
            if self._closed or self._driver is None:  # close() finishes the rest
                return None
            loop = self._driver.loop
        for _ in range(self._round(self._sched.selector.select(0))):
            loop.run_in_executor(None, self._add_worker)  # off the loop: a start takes a while
        with self._lock:
            if self._sched.outcomes:  # left by a failed start: act now
                self._wake()
            return self._sched.next_deadline()

    def _crashed_on_loop(self, exc: BaseException) -> None:
        with self._lock:
            self._sched.broken = f"dispatcher crashed: {describe(exc)}"
        self.close()

    def _start_worker(self) -> Handle:
        if self._import_main:
            return Handle(_CTX, *self._worker_args)
        with main_hidden():
            return Handle(_CTX, *self._worker_args)

    # ------------------------------------------------------------------ callers' side

    def _enqueue(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        deadline_s: float,
        key: Callable[[Any], Hashable] | None,
        sink: Sink,
    ) -> None:
        """Validate a call and queue its chunks (see :meth:`submit` for the errors)."""
        if not (isinstance(deadline_s, (int, float)) and 0 < deadline_s < math.inf):
            msg = f"deadline_s={deadline_s!r} is invalid: pass a finite number of seconds > 0"
            raise WorkerPoolError(msg)
        try:
            pickle.dumps(fn)
        except Exception as exc:
            msg = f"cannot send {fn!r} to a worker ({describe(exc)}) — pass a module-level"
            raise WorkerPoolError(msg + " function, not a lambda or closure") from exc
        chunks = [
            Chunk(fn, [items[i] for i in ix], sink, ix, deadline_s, _FLUSH_S, k)
            for ix, k in plan_chunks(items, key, self._chunk_size, self._n)
        ]
        with self._lock:
            if self._closed or self._sched.broken is not None:
                broken = self._sched.broken
                why = f"cannot serve: {broken}" if broken is not None else "is closed"
                raise WorkerPoolError(
                    f"worker pool {self._name!r} {why} — create a new WorkerPool (and check "
                    "that its preload modules import in a fresh interpreter)"
                )
            self._sched.queue.extend(chunks)
            self._wake()  # under the lock: close() may be closing the pipe

    def _cancel(self, sink: BatchSink) -> None:
        """The caller stopped waiting: drop its queued items, kill the workers on the rest.

        Why kill: a cancelled request (a passed gRPC deadline, a client gone) must stop
        costing CPU, and an item already started can run for its whole deadline.
        """
        sink.cancelled = True
        with self._lock:
            queue = self._sched.queue
            if any(c.sink is sink for c in queue):
                kept = [c for c in queue if c.sink is not sink]
                queue.clear()
                queue.extend(kept)
            if self._sched.abandon(sink) and not self._closed:
                self._wake()  # the dispatcher starts the replacements

    def _wake(self) -> None:
        """Have the dispatcher run a round soon (called under the lock)."""
        if self._driver is None:
            self._wake_thread()
        else:
            self._driver.schedule()

    def _wake_thread(self) -> None:
        """Interrupt the dispatcher thread's wait (called under the lock)."""
        with contextlib.suppress(OSError):  # full pipe: a wake-up is already pending
            if self._wake_w >= 0:
                os.write(self._wake_w, b"\0")

    def _release(self, *, close_wake: bool) -> None:
        """Settle what shutdown produced; close selector and wake-up pipe once unwatched."""
        with self._lock:
            outcomes, self._sched.outcomes = self._sched.outcomes, []
        _settle(outcomes)
        if close_wake:
            with self._lock:
                self._sched.selector.close()
                for fd in (self._wake_r, self._wake_w):
                    with contextlib.suppress(OSError):
                        os.close(fd)
                self._wake_r = self._wake_w = -1


def _close_all() -> None:
    """At interpreter exit, leave no worker processes behind."""
    for pool in list(_LIVE):
        pool.close(timeout=1.0)


atexit.register(_close_all)
