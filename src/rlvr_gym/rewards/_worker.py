"""The machinery under :mod:`rlvr_gym.rewards.pool`: worker loop, wire protocol, bookkeeping.

Kept apart from the pool's public API and threads, and standard library only, so the
forkserver can preload it cheaply: a replacement worker forked from the server is serving
within milliseconds. The parent side (:class:`Chunk`, :func:`plan_chunks`,
:class:`Handle`, :class:`Scheduler`) lives here too so the protocol is written down once.

Protocol (one duplex pipe per worker, every message a pickled tuple):

* worker -> parent, once: ``(READY, pid)`` after rlimits and preload imports, or
  ``(FATAL, message)`` if start-up failed. The parent sends work only after ``READY``,
  so a slow import never counts against an item's deadline.
* parent -> worker: ``(fn, items)``, one chunk in one message (cheap IPC).
* worker -> parent: one ``(status, payload)`` per item, in order, as soon as it is done.
  The parent infers that item ``k + 1`` started when the result of item ``k`` arrived.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import math
import os
import pickle
import resource
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from typing import Any

OK = 0
"""Payload is the function's return value."""
ERROR = 1
"""Payload is ``"ExcType: message"``; the worker stays healthy."""
RECYCLE = 2
"""Like ``ERROR`` (a ``MemoryError``); the worker exits, its heap may be fragmented."""
CHUNK_FAILED = 3
"""The chunk could not be loaded; payload is the reason, for every remaining item."""
READY = 4
"""The worker finished start-up; payload is its pid."""
FATAL = 5
"""Start-up failed (bad preload, rlimit too small); payload is the reason."""
TIMEOUT = 6
"""Parent side only: the item ran out of time; payload is the seconds it ran."""

_MAX_MESSAGE = 2000


def describe(exc: BaseException) -> str:
    """Render an exception as ``"ExcType: message"``, bounded in size.

    Model output can end up in exception messages (a 200 KB string in a ``ValueError``),
    so the text is truncated: it is meant for a ``detail`` field, not for replay.
    """
    try:
        text = str(exc)
    except Exception:  # a hostile __str__ must not take the worker down
        text = "<unprintable>"
    msg = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return msg if len(msg) <= _MAX_MESSAGE else msg[:_MAX_MESSAGE] + "…"


def _die_with_parent(alive: Connection) -> None:
    """End this process as soon as the parent's end of ``alive`` closes.

    The parent never writes to this worker's own liveness pipe; its write end closes only
    when the parent exits, however it dies (SIGKILL included). Two layers:

    * ``O_ASYNC``: the kernel sends SIGIO when the pipe hits EOF, and SIGIO's default
      action terminates the process. This needs no GIL, so it works while the main thread
      is stuck in C code (a huge sympy power) holding the GIL.
    * A daemon thread blocked on the pipe calls ``os._exit`` at EOF: covers an EOF that
      happened before ``O_ASYNC`` was armed, and platforms without it.
    """
    if hasattr(fcntl, "F_SETOWN") and hasattr(os, "O_ASYNC"):
        signal.signal(signal.SIGIO, signal.SIG_DFL)
        fd = alive.fileno()
        fcntl.fcntl(fd, fcntl.F_SETOWN, os.getpid())
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)

    def watch() -> None:
        with contextlib.suppress(BaseException):  # EOFError is the expected wake-up
            alive.recv_bytes()
        os._exit(0)

    threading.Thread(target=watch, name="rlvr-gym-parent-watch", daemon=True).start()


def _limit_memory(limit_mb: int) -> None:
    """Cap the address space so a runaway allocation fails here, not in the whole host."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = limit_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def serve(
    conn: Connection,
    alive: Connection,
    preload: Sequence[str],
    memory_limit_mb: int | None,
) -> None:
    """Run chunks from ``conn`` until the parent closes it (the worker process target).

    Args:
        conn: Duplex pipe to the parent: chunks in, per-item results out.
        alive: Read end of this worker's liveness pipe; EOF means the parent died.
        preload: Modules to import before reporting ready.
        memory_limit_mb: ``RLIMIT_AS`` for this process, or ``None`` for no limit.
    """
    # Ctrl-C reaches the whole process group; shutting down is the parent's decision.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _die_with_parent(alive)
        if memory_limit_mb is not None:
            _limit_memory(memory_limit_mb)
        for name in preload:
            importlib.import_module(name)
    except BaseException as exc:
        conn.send((FATAL, describe(exc)))
        return
    conn.send((READY, os.getpid()))
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            fn, items = pickle.loads(data)
        except BaseException as exc:
            conn.send((CHUNK_FAILED, f"cannot load the task in the worker: {describe(exc)}"))
            continue
        del data
        if not _run_chunk(conn, fn, items):
            return


def _run_chunk(conn: Connection, fn: Callable[[Any], Any], items: Sequence[Any]) -> bool:
    """Run ``items`` in order, streaming one result each; False when the worker must exit."""
    for item in items:
        try:
            out: tuple[int, Any] = (OK, fn(item))
        except MemoryError as exc:
            out = (RECYCLE, describe(exc))
        except BaseException as exc:  # SystemExit/KeyboardInterrupt from fn are item errors
            out = (ERROR, describe(exc))
        try:
            conn.send(out)
        except OSError:  # parent gone
            return False
        except Exception as exc:  # the result itself cannot be pickled
            conn.send((ERROR, f"result cannot be sent back: {describe(exc)}"))
        if out[0] == RECYCLE:
            return False
    return True


# --------------------------------------------------------------------------- parent side


def when_all_done(futures: Sequence[Future[Any]], callback: Callable[[], None]) -> None:
    """Call ``callback`` once every future is done: one wake-up per batch, not per item."""
    remaining = len(futures)
    if not remaining:
        callback()
        return
    lock = threading.Lock()

    def one_done(_: Future[Any]) -> None:
        nonlocal remaining
        with lock:
            remaining -= 1
            last = remaining == 0
        if last:
            callback()

    for fut in futures:
        fut.add_done_callback(one_done)


class Chunk:
    """Items of one call that travel to a worker in one message, with their futures."""

    __slots__ = ("deadline_s", "fn", "futures", "items", "started")

    def __init__(
        self,
        fn: Callable[[Any], Any],
        items: list[Any],
        futures: list[Future[Any]],
        deadline_s: float,
        started: bool = False,
    ) -> None:
        self.fn, self.items, self.futures = fn, items, futures
        self.deadline_s, self.started = deadline_s, started

    def part(self, start: int, stop: int | None = None) -> Chunk:
        """Return items ``start:stop``; their futures are already marked running."""
        items, futures = self.items[start:stop], self.futures[start:stop]
        return Chunk(self.fn, items, futures, self.deadline_s, started=True)

    def claim(self) -> Chunk:
        """Mark the futures running, dropping items whose owner cancelled them."""
        if self.started:
            return self
        keep = [i for i, f in enumerate(self.futures) if f.set_running_or_notify_cancel()]
        items, futures = [self.items[i] for i in keep], [self.futures[i] for i in keep]
        return Chunk(self.fn, items, futures, self.deadline_s, started=True)


def plan_chunks(
    items: Sequence[Any], key: Callable[[Any], Hashable] | None, chunk_size: int, workers: int
) -> list[list[int]]:
    """Group item indices into chunks.

    Items with equal keys share a chunk (up to ``chunk_size``), so the worker's per-key
    cache (e.g. the parsed gold answer of a GRPO group) hits. Small groups are packed
    together, but only up to about a quarter of a worker's share, so every worker gets
    some of a short batch.
    """
    n = len(items)
    share = max(1, min(chunk_size, -(-n // (4 * workers))))
    if key is None:
        return [list(range(i, min(i + share, n))) for i in range(0, n, share)]
    groups: dict[Hashable, list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(key(item), []).append(i)
    chunks: list[list[int]] = []
    current: list[int] = []
    for group in groups.values():
        for start in range(0, len(group), chunk_size):
            part = group[start : start + chunk_size]
            if current and len(current) + len(part) > share:
                chunks.append(current)
                current = []
            current.extend(part)
    if current:
        chunks.append(current)
    return chunks


class Handle:
    """Parent-side state of one worker process (the pool uses it under its lock).

    ``since`` is when the current item started (or, before ``ready``, when the process
    started): the first item of a chunk starts when the chunk is sent, item ``k + 1``
    when the result of item ``k`` arrives.
    """

    __slots__ = ("alive", "chunk", "conn", "done", "eof", "pos", "proc", "ready", "since")

    def __init__(
        self,
        ctx: ForkServerContext,
        preload: tuple[str, ...],
        memory_limit_mb: int | None,
        name: str,
    ) -> None:
        parent, child = ctx.Pipe(duplex=True)
        alive_r, self.alive = ctx.Pipe(duplex=False)  # own pipe: O_ASYNC is per open file
        args = (child, alive_r, preload, memory_limit_mb)
        self.proc = ctx.Process(target=serve, args=args, name=name, daemon=True)
        try:
            self.proc.start()
        except BaseException:
            parent.close()
            self.alive.close()
            raise
        finally:
            child.close()
            alive_r.close()
        self.conn = parent
        self.ready = self.eof = False
        self.chunk: Chunk | None = None
        self.pos = self.done = 0
        self.since = time.monotonic()

    def expires_at(self, start_timeout_s: float) -> float:
        """When the current item (or, before ``ready``, start-up) runs out of time."""
        if self.chunk is not None:
            return self.since + self.chunk.deadline_s
        return self.since + start_timeout_s if not self.ready else math.inf

    def send(self, chunk: Chunk) -> None:
        """Start ``chunk`` on this (idle) worker.

        Raises:
            OSError: The worker is gone; its sentinel will say how.
            Exception: The items cannot be pickled (any pickling error).
        """
        data = ForkingPickler.dumps((chunk.fn, chunk.items))
        self.conn.send_bytes(data)
        self.chunk, self.pos, self.since = chunk, 0, time.monotonic()

    def receive(self) -> list[tuple[int, Any]]:
        """Return every message already waiting; sets ``eof`` when the pipe closed."""
        out: list[tuple[int, Any]] = []
        try:
            while not self.eof and self.conn.poll():
                data = self.conn.recv_bytes()
                try:
                    out.append(pickle.loads(data))
                except Exception as exc:  # e.g. a result class the parent cannot import
                    out.append((ERROR, f"cannot load the result: {describe(exc)}"))
        except (EOFError, OSError):
            self.eof = True
        return out

    def stop(self) -> bool:
        """Close the pipe and SIGKILL the process; True if it still has to be reaped."""
        self.eof = True
        self.conn.close()
        self.alive.close()
        if self.proc.exitcode is not None:
            self.proc.close()
            return False
        self.proc.kill()
        return True


Outcome = tuple[Future[Any], int, Any]
"""``(future, OK | ERROR | TIMEOUT, payload)``; the pool turns it into the public result."""


class Scheduler:
    """The pool's bookkeeping: queue, workers, deadlines, counters. No threads, no locks.

    The pool calls it under its lock from its dispatcher thread (``submit`` only appends
    to ``queue``). Outcomes and the number of workers to start pile up in ``outcomes``
    and ``spawn_needed``; the pool acts on them after releasing the lock.
    """

    def __init__(self, max_tasks: int | None, start_timeout_s: float, max_start_failures: int):
        self.queue: deque[Chunk] = deque()
        self.workers: list[Handle] = []
        self.reaping: list[BaseProcess] = []  # killed, exit not yet reported
        self.outcomes: list[Outcome] = []
        self.spawn_needed = 0
        self.broken: str | None = None  # why the pool cannot serve any more
        self.completed = self.timeouts = self.failures = self.restarts = 0
        self._max_tasks, self._start_timeout_s = max_tasks, start_timeout_s
        self._max_start_failures, self._start_failures = max_start_failures, 0

    def next_deadline(self) -> float:
        """The nearest moment a worker must be checked (``inf``: nothing to watch)."""
        return min((w.expires_at(self._start_timeout_s) for w in self.workers), default=math.inf)

    def assign(self) -> None:
        """Send queued chunks to idle, ready workers."""
        idle = [w for w in self.workers if w.ready and not w.eof and w.chunk is None]
        while idle and self.queue:
            w = idle[-1]
            chunk = self.queue.popleft().claim()
            budget = len(chunk.items) if self._max_tasks is None else self._max_tasks - w.done
            if len(chunk.items) > budget:
                self.queue.appendleft(chunk.part(budget))
                chunk = chunk.part(0, budget)
            if not chunk.items:  # every item was cancelled while queued
                continue
            try:
                w.send(chunk)
            except OSError:  # the worker just died; its sentinel will say how
                w.eof = True
                self.queue.appendleft(chunk)
            except Exception as exc:  # the items cannot be pickled: theirs, not the worker's
                self._fail(chunk, 0, f"cannot send the items to a worker: {describe(exc)}")
                continue
            idle.pop()

    def receive(self, w: Handle) -> None:
        """Handle every message waiting on ``w``'s pipe."""
        now = time.monotonic()
        for status, payload in w.receive():
            if w not in self.workers:
                return
            if status == READY:
                w.ready, w.since, self._start_failures = True, now, 0
            elif status == FATAL:
                self._lost(w, f"worker failed to start: {payload}")
            elif (chunk := w.chunk) is None:
                continue
            elif status == CHUNK_FAILED:
                self._fail(chunk, w.pos, payload)
                w.chunk = None
            else:
                ok = status == OK
                self.outcomes.append((chunk.futures[w.pos], OK if ok else ERROR, payload))
                self.completed += ok
                self.failures += not ok
                w.pos, w.done, w.since = w.pos + 1, w.done + 1, now
                if status == RECYCLE:  # MemoryError: the worker exits by itself
                    self._replace(w)
                elif w.pos == len(chunk.items):
                    w.chunk = None
                    if self._max_tasks is not None and w.done >= self._max_tasks:
                        self._replace(w)

    def exited(self, w: Handle) -> None:
        """``w``'s process ended on its own (its sentinel fired)."""
        if w in self.workers:
            self.receive(w)  # what it sent before dying still counts
        if w in self.workers:  # not retired by one of those messages
            self._lost(w, f"worker died (exit code {w.proc.exitcode})")

    def reaped(self, proc: BaseProcess) -> None:
        """A killed process's sentinel fired: the forkserver reaped it, release it."""
        if proc.exitcode is not None:
            proc.close()
            self.reaping.remove(proc)

    def expire(self, now: float) -> None:
        """Kill workers whose current item (or start-up) ran past its deadline."""
        for w in list(self.workers):
            if now < w.expires_at(self._start_timeout_s):
                continue
            if not w.ready:
                self._lost(w, f"worker not ready after {self._start_timeout_s:.0f} s")
                continue
            self.receive(w)  # a result may have arrived just in time
            if w in self.workers and (chunk := w.chunk) is not None and now >= w.expires_at(0):
                self.outcomes.append((chunk.futures[w.pos], TIMEOUT, now - w.since))
                self.timeouts += 1
                w.pos += 1
                self._replace(w)

    def start_failed(self, error: str) -> None:
        """A worker could not start; retry, or give up after too many in a row."""
        self._start_failures += 1
        if self._start_failures < self._max_start_failures:
            self.spawn_needed += 1
            return
        self.broken = error
        while self.queue:
            self._fail(self.queue.popleft(), 0, f"pool cannot start workers ({error})")

    def shutdown(self) -> None:
        """Kill every worker and fail every pending item with ``"pool closed"``."""
        for w in list(self.workers):
            if w.chunk is not None:
                self._fail(w.chunk, w.pos, "pool closed")
                w.chunk = None
            self._remove(w)
        while self.queue:
            self._fail(self.queue.popleft(), 0, "pool closed")
        self.spawn_needed = 0

    def _lost(self, w: Handle, error: str) -> None:
        """``w`` died or failed: fail its current item, requeue the rest, replace it."""
        if w.chunk is not None:
            self._fail(w.chunk.part(w.pos, w.pos + 1), 0, error)
            w.pos += 1
        if w.ready:
            self._replace(w)
        else:
            self._remove(w)
            self.start_failed(error)

    def _replace(self, w: Handle) -> None:
        self._remove(w)
        self.restarts += 1
        self.spawn_needed += 1

    def _remove(self, w: Handle) -> None:
        """Stop ``w`` and put its unstarted items back at the front of the queue."""
        if w.chunk is not None and w.pos < len(w.chunk.items):
            self.queue.appendleft(w.chunk.part(w.pos))
        w.chunk = None
        self.workers.remove(w)
        if w.stop():
            self.reaping.append(w.proc)

    def _fail(self, chunk: Chunk, start: int, error: str) -> None:
        self.outcomes.extend((f, ERROR, error) for f in chunk.futures[start:])
        self.failures += len(chunk.futures) - start
