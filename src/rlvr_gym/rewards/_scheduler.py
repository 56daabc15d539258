"""Parent-side bookkeeping of :mod:`rlvr_gym.rewards.pool`: workers, queue, deadlines.

No threads and no locks here: the pool calls :class:`Scheduler` under its lock from its
dispatcher thread (``submit`` only appends to the queue). The wire protocol is described
in :mod:`._worker`; this module is the parent's half of it.

Where an item is: a worker's chunk holds positions ``[0, received)`` whose results came
back, then items the worker may have finished but not yet flushed, the item it is
running (read from its shared-memory slot), and items it has not reached. When a worker
is killed or dies, the item it was running is the one that timed out or failed; the
unflushed results are lost, so those items go back to the front of the queue with the
unstarted rest of the chunk (they are re-run, not reported as failed).

A busy worker may also hold one chunk *ahead*: sent, waiting in its pipe, started the
moment the current one ends. Why: when the parent process is busy (a gRPC server's event
loop, a trainer), its dispatcher thread waits for the GIL before it can send the next
chunk, and a worker that must wait for that idles; with a chunk ahead it never does.
Chunks go ahead only while no worker is idle or starting, so a short batch is still
spread over every worker. A killed worker's chunk ahead goes back to the queue whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import math
import os
import pickle
import selectors
import time
from collections import deque
from collections.abc import Hashable
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any

from rlvr_gym.rewards._chunks import Chunk, Outcome
from rlvr_gym.rewards._worker import (
    BATCH,
    CHUNK_FAILED,
    ERROR,
    FATAL,
    FRAME,
    OK,
    READY,
    RECYCLE,
    SLOT_SIZE,
    TIMEOUT,
    describe,
    serve,
    slot_view,
)

CONN, EXIT, REAP, WAKE = range(4)
"""What a selector key watches (``key.data == (kind, object)``)."""

_READ_SIZE = 1 << 16  # larger reads cost more: each allocates its whole size
_PIPE_SIZE = 1 << 20
_WINDOW = 4  # queued chunks per worker considered for key affinity (bounds reordering)
_MAX_OWNED = 4096  # keys whose last worker is remembered


def _load(body: bytes) -> Any:
    try:
        return pickle.loads(body)
    except Exception as exc:
        return f"<cannot load the message: {describe(exc)}>"


def _enlarge(fd: int) -> int:
    """Grow a pipe's buffer so a whole message fits: fewer writes and context switches.

    Returns the buffer's size in bytes (0 where the platform does not say).
    """
    if (setsize := getattr(fcntl, "F_SETPIPE_SZ", None)) is not None:  # Linux
        with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size
            fcntl.fcntl(fd, setsize, _PIPE_SIZE)
    if (getsize := getattr(fcntl, "F_GETPIPE_SZ", None)) is not None:
        with contextlib.suppress(OSError):
            return int(fcntl.fcntl(fd, getsize))
    return 0


Message = tuple[int, bytes, bytes]
"""``(kind, codes, body)``, the body still pickled."""


class Handle:
    """Parent-side state of one worker process (the pool uses it under its lock).

    ``base`` is the sequence number of the chunk's first item, so the slot's ``seq``
    gives the position of the running item. ``since`` is when the last results arrived
    or the chunk was sent (before ``ready``: when the process started); it is the start
    of an item the slot does not show yet.
    """

    __slots__ = ("ahead", "alive", "base", "buf", "chunk", "done", "eof", "fd", "proc", "raw",
                 "ready", "received", "results", "room", "since", "slot", "tasks")  # fmt: skip

    def __init__(
        self,
        ctx: ForkServerContext,
        preload: tuple[str, ...],
        memory_limit_mb: int | None,
        name: str,
    ) -> None:
        self.raw = ctx.RawArray("d", SLOT_SIZE)  # kept: it owns the shared memory
        self.slot = slot_view(self.raw)
        self.slot[0] = self.slot[2] = -1.0  # no item started
        tasks_r, self.tasks = ctx.Pipe(duplex=False)
        self.results, results_w = ctx.Pipe(duplex=False)
        alive_r, self.alive = ctx.Pipe(duplex=False)  # own pipe: O_ASYNC is per open file
        args = (tasks_r, results_w, self.raw, alive_r, preload, memory_limit_mb)
        self.proc = ctx.Process(target=serve, args=args, name=name, daemon=True)
        try:
            self.proc.start()
        except BaseException:
            for conn in (self.tasks, self.results, self.alive):
                conn.close()
            raise
        finally:
            for conn in (tasks_r, results_w, alive_r):
                conn.close()
        self.fd = self.results.fileno()
        os.set_blocking(self.fd, False)
        _enlarge(self.results.fileno())  # a chunk or a batch in one write
        self.room = _enlarge(self.tasks.fileno())
        self.buf = bytearray()
        self.ready = self.eof = False
        self.chunk: Chunk | None = None
        self.ahead: Chunk | None = None  # sent, to run when ``chunk`` ends
        self.base = self.received = self.done = 0
        self.since = time.monotonic()

    def current(self) -> tuple[int, float]:
        """Position in the chunk of the item running now, and when it started."""
        assert self.chunk is not None
        slot = self.slot
        for _ in range(3):
            seq, start = slot[2], slot[1]
            if slot[0] == seq:
                pos = int(seq) - self.base
                if self.received <= pos < len(self.chunk.items):
                    return pos, start
                break
        # between items (its result already here) or not started the chunk yet
        return self.received, self.since

    def expires_at(self, start_timeout_s: float) -> float:
        """When the current item (or, before ``ready``, start-up) runs out of time."""
        if self.chunk is not None:
            return self.current()[1] + self.chunk.deadline_s
        return self.since + start_timeout_s if not self.ready else math.inf

    def send(self, chunk: Chunk) -> None:
        """Start ``chunk`` on this worker, now if it is idle, else when its chunk ends.

        Raises:
            OSError: The worker is gone; its sentinel will say how.
            Exception: The items cannot be pickled (any pickling error).
        """
        self.tasks.send_bytes(chunk.encode())
        if self.chunk is None:
            self.chunk, self.received, self.since = chunk, 0, time.monotonic()
        else:
            self.ahead = chunk

    def next_chunk(self, now: float, ran: int) -> None:
        """The current chunk ended after running ``ran`` items: the one ahead is current."""
        self.base += ran
        self.chunk, self.ahead, self.received, self.since = self.ahead, None, 0, now

    def can_wait(self, chunk: Chunk) -> bool:
        """Whether ``chunk`` fits in the tasks pipe beside the current one.

        Why: a send that does not fit blocks the dispatcher, and with it every deadline,
        until the busy worker reads it.
        """
        try:
            size = len(chunk.encode())
        except Exception:  # unpicklable: the send reports it
            return True
        current = self.chunk.payload if self.chunk is not None else None
        return size + (len(current) if current is not None else 0) <= self.room

    def owed(self) -> int:
        """Items sent to this worker whose results have not come back."""
        n = 0 if self.chunk is None else len(self.chunk.items) - self.received
        return n + (0 if self.ahead is None else len(self.ahead.items))

    def receive(self) -> list[Message]:
        """Return every message already waiting; sets ``eof`` when the pipe closed."""
        if self.eof:
            return []
        buf = self.buf
        try:
            while True:
                data = os.read(self.fd, _READ_SIZE)
                if not data:
                    self.eof = True
                    break
                buf += data
                if len(data) < _READ_SIZE:
                    break
        except BlockingIOError:
            pass
        except OSError:
            self.eof = True
        out: list[Message] = []
        pos, end, head = 0, len(buf), FRAME.size
        with memoryview(buf) as view:
            while end - pos >= head:
                size, kind, count = FRAME.unpack_from(buf, pos)
                stop = pos + head + size
                if stop > end:
                    break
                mid = pos + head + count
                out.append((kind, bytes(view[pos + head : mid]), bytes(view[mid:stop])))
                pos = stop
        if pos:
            del buf[:pos]
        return out

    def stop(self) -> bool:
        """Close the pipes and SIGKILL the process; True if it still has to be reaped."""
        self.eof = True
        for conn in (self.tasks, self.results, self.alive):
            conn.close()
        if self.proc.exitcode is not None:
            self.proc.close()
            return False
        self.proc.kill()
        return True


class Scheduler:
    """The pool's bookkeeping: queue, workers, deadlines, counters, watched descriptors.

    Outcomes and the number of workers to start pile up in ``outcomes`` and
    ``spawn_needed``; the pool acts on them after releasing its lock. ``selector``
    watches each worker's results pipe and process sentinel and each killed process
    being reaped; it is kept up to date here, so the dispatcher's wait costs one
    ``epoll_wait`` instead of building a selector per wake-up.
    """

    def __init__(
        self,
        max_tasks: int | None,
        start_timeout_s: float,
        max_start_failures: int,
    ) -> None:
        self.queue: deque[Chunk] = deque()
        self.workers: list[Handle] = []
        self.reaping: list[BaseProcess] = []  # killed, exit not yet reported
        self.outcomes: list[Outcome] = []
        self._pending: list[tuple[Chunk, int, bytes, bytes]] = []  # received, not loaded
        self.spawn_needed = 0
        self.broken: str | None = None  # why the pool cannot serve any more
        self.completed = self.timeouts = self.failures = self.restarts = 0
        self.selector = selectors.DefaultSelector()
        self._owner: dict[Hashable, Handle] = {}  # key -> the worker that ran it last
        self._max_tasks, self._start_timeout_s = max_tasks, start_timeout_s
        self._max_start_failures, self._start_failures = max_start_failures, 0

    def add(self, w: Handle) -> None:
        """Serve with a newly started worker."""
        self.workers.append(w)
        self.selector.register(w.fd, selectors.EVENT_READ, (CONN, w))
        self.selector.register(w.proc.sentinel, selectors.EVENT_READ, (EXIT, w))

    def next_deadline(self) -> float:
        """The nearest moment a worker must be checked (``inf``: nothing to watch)."""
        return min((w.expires_at(self._start_timeout_s) for w in self.workers), default=math.inf)

    def assign(self) -> None:
        """Send queued chunks to idle, ready workers, then one ahead to each busy one.

        Not ahead while a worker is starting (at start-up, or replacing a killed one): it
        will be idle in a moment, and the chunk should be its.
        """
        live = [w for w in self.workers if w.ready and not w.eof]
        self._send_to([w for w in live if w.chunk is None])
        if self.queue and not self.spawn_needed and len(live) == len(self.workers):
            self._send_to([w for w in live if w.chunk is not None and w.ahead is None])

    def _send_to(self, idle: list[Handle]) -> None:
        """Send each worker of ``idle`` one queued chunk, while there are any."""
        while idle and self.queue:
            w = idle[-1]
            budget = None if self._max_tasks is None else self._max_tasks - w.done - w.owed()
            if budget is not None and budget <= 0:  # it is replaced once those are done
                idle.pop()
                continue
            chunk = self._take(w).claim()
            if w.chunk is not None and not w.can_wait(chunk):
                self.queue.appendleft(chunk)  # too large to wait in the pipe: for an idle one
                idle.pop()
                continue
            budget = len(chunk.items) if budget is None else budget
            if len(chunk.items) > budget:
                self.queue.appendleft(chunk.subset(range(budget, len(chunk.items))))
                chunk = chunk.subset(range(budget))
            if not chunk.items:  # every item was cancelled while queued
                continue
            try:
                w.send(chunk)
            except OSError:  # the worker just died; its sentinel will say how
                self._closed_pipe(w)
                self.queue.appendleft(chunk)
            except Exception as exc:  # the items cannot be pickled: theirs, not the worker's
                self._fail(chunk, 0, f"cannot send the items to a worker: {describe(exc)}")
                continue
            else:
                if chunk.key is not None:
                    self._owner.pop(chunk.key, None)  # most recent last
                    self._owner[chunk.key] = w
                    if len(self._owner) > _MAX_OWNED:
                        del self._owner[next(iter(self._owner))]
            idle.pop()

    def _take(self, w: Handle) -> Chunk:
        """Pop the chunk ``w`` should run next from the first few queued.

        One whose key ``w`` ran last (its per-key cache, e.g. a parsed gold answer, is
        warm), else one whose key no live worker has, else the oldest. A group larger than
        a chunk then stays on one worker instead of being parsed again by every worker.
        """
        queue, owner = self.queue, self._owner
        fresh = None
        for i, chunk in enumerate(itertools.islice(queue, _WINDOW * len(self.workers))):
            last = owner.get(chunk.key) if chunk.key is not None else None
            if last is w:
                break
            if fresh is None and (last is None or last.eof):
                fresh = i
        else:
            i = fresh or 0
        if i == 0:
            return queue.popleft()
        chunk = queue[i]
        del queue[i]
        return chunk

    def receive(self, w: Handle) -> None:
        """Handle every message waiting on ``w``'s results pipe.

        Results are only counted here; :meth:`load` unpickles them after :meth:`assign`,
        so a worker that finished its chunk gets the next one without waiting for that.
        """
        if w not in self.workers:
            return
        messages = w.receive()
        if w.eof:
            self._closed_pipe(w)
        now = time.monotonic()
        for kind, codes, body in messages:
            if w not in self.workers:
                return
            if kind == READY:
                w.ready, w.since, self._start_failures = True, now, 0
            elif kind == FATAL:
                self._lost(w, f"worker failed to start: {_load(body)}")
            elif (chunk := w.chunk) is None:
                continue
            elif kind == CHUNK_FAILED:  # it ran none of them and went on to the next
                self._fail(chunk, w.received, str(_load(body)))
                w.next_chunk(now, 0)
            elif kind == BATCH:
                self._batch(w, chunk, codes, body, now)

    def _batch(self, w: Handle, chunk: Chunk, codes: bytes, body: bytes, now: float) -> None:
        """Results of the next ``len(codes)`` items of ``w``'s chunk arrived."""
        n, start = len(codes), w.received
        self._pending.append((chunk, start, codes, body))
        w.received, w.done, w.since = start + n, w.done + n, now
        if codes.endswith(bytes([RECYCLE])):  # MemoryError: the worker exits by itself
            self._replace(w)
        elif w.received == len(chunk.items):
            w.next_chunk(now, len(chunk.items))
            if self._max_tasks is not None and w.done >= self._max_tasks:
                self._replace(w)

    def load(self) -> bool:
        """Unpickle the results received so far; True if some items must run again.

        A batch the parent cannot load (e.g. a result class it cannot import) does not
        say which item is at fault, so its items run again, one result per message.
        """
        again = False
        for chunk, start, codes, body in self._pending:
            n = len(codes)
            try:
                values = pickle.loads(body)
            except Exception as exc:
                if n == 1:
                    self._fail(chunk.subset([start]), 0, f"cannot load the result: {describe(exc)}")
                else:
                    self.queue.appendleft(chunk.subset(range(start, start + n), flush_s=0.0))
                    again = True
                continue
            ok, late = codes.count(OK), codes.count(TIMEOUT)
            self.outcomes.append((chunk.sink, chunk.idxs[start : start + n],
                                  None if ok == n else codes, values))  # fmt: skip
            self.completed += ok
            self.timeouts += late
            self.failures += n - ok - late
        self._pending.clear()
        return again

    def prepare(self) -> None:
        """Pickle the chunks that workers will take next, while the workers are busy."""
        for chunk in itertools.islice(self.queue, 2 * len(self.workers)):
            if chunk.payload is None:
                with contextlib.suppress(Exception):  # reported when it is sent
                    chunk.encode()

    def exited(self, w: Handle) -> None:
        """``w``'s process ended on its own (its sentinel fired)."""
        self.receive(w)  # what it sent before dying still counts
        if w in self.workers:  # not retired by one of those messages
            self._lost(w, f"worker died (exit code {w.proc.exitcode})")

    def reaped(self, proc: BaseProcess) -> None:
        """A killed process's sentinel fired: the forkserver reaped it, release it."""
        if proc.exitcode is not None:
            self._unwatch(proc.sentinel)
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
            self.receive(w)  # results may have arrived just in time
            if w not in self.workers or (chunk := w.chunk) is None:
                continue
            pos, start = w.current()  # the worker may have moved on since it was read
            if now >= start + chunk.deadline_s:
                self.outcomes.append((chunk.sink, [chunk.idxs[pos]], bytes([TIMEOUT]),
                                      [now - start]))  # fmt: skip
                self.timeouts += 1
                self._replace(w, skip=pos)

    def abandon(self, sink: object) -> int:
        """Kill and replace the workers running items of ``sink`` (nobody waits for them).

        Returns how many workers were stopped. Their items of ``sink`` are dropped; their
        items of other calls go back to the queue (a running one is run again).
        """
        stopped = 0
        for w in list(self.workers):
            mine = [c is not None and c.sink is sink for c in (w.chunk, w.ahead)]
            if not any(mine):
                continue
            if mine[0]:
                w.chunk = None  # nothing of it goes back to the queue
            if mine[1]:
                w.ahead = None
            self._replace(w)
            stopped += 1
        return stopped

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
        self.load()  # results already here are delivered, not failed
        for w in list(self.workers):
            if w.chunk is not None:
                self._fail(w.chunk, w.received, "pool closed")
            if w.ahead is not None:
                self._fail(w.ahead, 0, "pool closed")
            w.chunk = w.ahead = None
            self._remove(w)
        while self.queue:
            self._fail(self.queue.popleft(), 0, "pool closed")
        self.spawn_needed = 0

    def _lost(self, w: Handle, error: str) -> None:
        """``w`` died or failed: fail its running item, requeue the rest, replace it."""
        skip = None
        if (chunk := w.chunk) is not None:
            skip = w.current()[0]
            self._fail(chunk.subset([skip]), 0, error)
        if w.ready:
            self._replace(w, skip)
        else:
            self._remove(w, skip)
            self.start_failed(error)

    def _replace(self, w: Handle, skip: int | None = None) -> None:
        self._remove(w, skip)
        self.restarts += 1
        self.spawn_needed += 1

    def _remove(self, w: Handle, skip: int | None = None) -> None:
        """Stop ``w``; put its items without a result, but ``skip``, back at the front."""
        if w.ahead is not None:
            self.queue.appendleft(w.ahead)
        if (chunk := w.chunk) is not None and w.received < len(chunk.items):
            rest = [p for p in range(w.received, len(chunk.items)) if p != skip]
            if rest:
                self.queue.appendleft(chunk.subset(rest))
        w.chunk = w.ahead = None
        self.workers.remove(w)
        self._closed_pipe(w)
        self._unwatch(w.proc.sentinel)
        if w.stop():
            self.reaping.append(w.proc)
            self.selector.register(w.proc.sentinel, selectors.EVENT_READ, (REAP, w.proc))

    def _closed_pipe(self, w: Handle) -> None:
        """Stop watching ``w``'s results pipe (at EOF it would be ready forever)."""
        w.eof = True
        self._unwatch(w.fd)

    def _unwatch(self, fd: int) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(fd)

    def _fail(self, chunk: Chunk, start: int, error: str) -> None:
        n = len(chunk.idxs) - start
        if n > 0:
            self.outcomes.append((chunk.sink, chunk.idxs[start:], bytes([ERROR]) * n, [error] * n))
            self.failures += n
