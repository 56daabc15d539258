"""The worker side of :mod:`rlvr_gym.rewards.pool`, and the wire protocol both sides speak.

Kept apart from the pool's public API and threads, and standard library only, so the
forkserver can preload it cheaply: a replacement worker forked from the server is serving
within milliseconds. The parent's bookkeeping lives in :mod:`._scheduler`.

Why the protocol looks like this: the math reward pushes tens of thousands of ~35 µs
items a second through the pool on machines with few cores, so every microsecond the
parent spends per item is taken from the workers. The parent's only per-item work is
(un)pickling: results come back in batches, and deadlines are tracked through shared
memory instead of a message per item.

Channels (three pipes and one shared-memory slot per worker):

* tasks, parent -> worker: one chunk per message, ``pickle((fn, items, flush_s,
  deadline_s))``.
* results, worker -> parent: frames ``<size: u64><kind: u8><count: u32><codes><body>``
  (little-endian). ``kind`` is :data:`READY` (body: pid, after rlimits and preload
  imports; work is sent only after it, so a slow import never counts against a
  deadline), :data:`FATAL` (start-up failed), :data:`CHUNK_FAILED` (the chunk could not
  be loaded) or :data:`BATCH`: results of the next ``count`` items of the chunk, in
  order, ``codes`` one status byte each (:data:`OK`, :data:`ERROR`, :data:`RECYCLE`,
  :data:`TIMEOUT`) and
  ``body`` one pickled list of return values / error messages. Codes travel outside the
  pickle so the parent knows how many items a batch held even if it cannot load it.
  A batch is flushed before starting an item once ``flush_s`` has passed since the last
  flush, and at the end of the chunk: cheap items share a message, a slow item's result
  still arrives when it is done.
* slot, shared memory ``[seq, start, seq]`` (doubles): before running an item the worker
  writes its sequence number (items this worker started before it) and its start time
  on ``time.monotonic()`` (system-wide on Linux). The parent computes deadlines from it
  without a message per item; writing ``seq`` on both sides of ``start`` lets it detect
  a read that raced with a write.
* alive: never written; EOF tells the worker that the parent died.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import os
import pickle
import resource
import signal
import struct
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

OK = 0
"""Item status: the value is the function's return value."""
ERROR = 1
"""Item status: the value is ``"ExcType: message"``; the worker stays healthy."""
RECYCLE = 2
"""Like ``ERROR`` (a ``MemoryError``); the worker exits, its heap may be fragmented."""
TIMEOUT = 3
"""Item status: it ran past its deadline; the value is the seconds it ran. Set by the
parent when it kills a worker, or by the worker for an item that ended late anyway, so
that a late result is never delivered, however fast the parent's timer fires."""

READY = 1
"""Message kind: the worker finished start-up; body is its pid."""
FATAL = 2
"""Message kind: start-up failed (bad preload, rlimit too small); body is the reason."""
CHUNK_FAILED = 3
"""Message kind: the chunk could not be loaded; body is the reason, for all its items."""
BATCH = 4
"""Message kind: results of the next ``count`` items of the current chunk."""

FRAME = struct.Struct("<QBI")
"""Frame header: size of everything after it, message kind, number of items."""
SLOT_SIZE = 3
"""Doubles in a worker's slot: ``[seq, start, seq]``."""

_MAX_MESSAGE = 2000
_PICKLE = pickle.HIGHEST_PROTOCOL


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


def slot_view(raw: Any) -> memoryview[float]:
    """A ``float`` view of a slot's shared memory (indexing it is ~20 ns, ctypes' ~60)."""
    return memoryview(raw).cast("B").cast("d")


def _write_message(fd: int, kind: int, codes: bytes, body: bytes) -> None:
    """Write one frame to the results pipe (blocking; a full pipe waits for the parent).

    Raises:
        OSError: The parent is gone.
    """
    head = FRAME.pack(len(codes) + len(body), kind, len(codes)) + codes
    data = memoryview(head + body if len(body) < 65536 else head)
    while data:
        data = data[os.write(fd, data) :]
    if len(body) >= 65536:  # large: not worth a copy to save one system call
        data = memoryview(body)
        while data:
            data = data[os.write(fd, data) :]


def _send(fd: int, kind: int, value: Any) -> None:
    _write_message(fd, kind, b"", pickle.dumps(value, _PICKLE))


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
    tasks: Connection,
    results: Connection,
    slot: Any,
    alive: Connection,
    preload: Sequence[str],
    memory_limit_mb: int | None,
) -> None:
    """Run chunks from ``tasks`` until the parent closes it (the worker process target).

    Args:
        tasks: Read end of the chunk pipe.
        results: Write end of the results pipe (written in frames, see the module doc).
        slot: This worker's shared ``RawArray('d', SLOT_SIZE)``.
        alive: Read end of this worker's liveness pipe; EOF means the parent died.
        preload: Modules to import before reporting ready.
        memory_limit_mb: ``RLIMIT_AS`` for this process, or ``None`` for no limit.
    """
    # Ctrl-C reaches the whole process group; shutting down is the parent's decision.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = results.fileno()
    try:
        try:
            _die_with_parent(alive)
            if memory_limit_mb is not None:
                _limit_memory(memory_limit_mb)
            for name in preload:
                importlib.import_module(name)
        except BaseException as exc:
            _send(out, FATAL, describe(exc))
            return
        _send(out, READY, os.getpid())
        view, seq = slot_view(slot), 0.0
        while True:
            try:
                data = tasks.recv_bytes()
            except (EOFError, OSError):
                return
            try:
                fn, items, flush_s, deadline_s = pickle.loads(data)
            except BaseException as exc:
                _send(out, CHUNK_FAILED, f"cannot load the task in the worker: {describe(exc)}")
                continue
            del data
            seq, healthy = _run_chunk(out, view, seq, fn, items, flush_s, deadline_s)
            if not healthy:
                return
    except OSError:  # the results pipe broke: the parent is gone
        return


def _run_chunk(
    out: int,
    slot: memoryview[float],
    seq: float,
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    flush_s: float,
    deadline_s: float,
) -> tuple[float, bool]:
    """Run ``items`` in order, sending results in batches.

    Returns:
        The next sequence number, and False when the worker must exit (``MemoryError``).

    Raises:
        OSError: The parent is gone.
    """
    codes = bytearray()
    values: list[Any] = []
    clock = time.monotonic
    last = now = clock()
    for item in items:
        if values and now - last >= flush_s:
            _flush(out, codes, values)  # may wait for the parent: not the item's time
            codes, values = bytearray(), []
            last = now = clock()
        slot[0] = seq  # seq on both sides of the start time: see the module docstring
        slot[1] = now
        slot[2] = seq
        seq += 1.0
        try:
            value, code = fn(item), OK
        except MemoryError as exc:
            values.append(describe(exc))
            codes.append(RECYCLE)
            break
        except BaseException as exc:  # SystemExit/KeyboardInterrupt from fn are item errors
            value, code = describe(exc), ERROR
        if (end := clock()) - now > deadline_s:  # the parent had no time to stop it
            value, code = end - now, TIMEOUT
        values.append(value)
        codes.append(code)
        now = end
    _flush(out, codes, values)
    return seq, not codes.endswith(bytes([RECYCLE]))


def _flush(out: int, codes: bytearray, values: list[Any]) -> None:
    """Send one batch; a value that cannot be pickled becomes that item's error."""
    if not values:
        return
    try:
        body = pickle.dumps(values, _PICKLE)
    except Exception:  # find the culprits; only this rare path pays per item
        for i, value in enumerate(values):
            try:
                pickle.dumps(value, _PICKLE)
            except Exception as exc:
                codes[i] = ERROR
                values[i] = f"result cannot be sent back: {describe(exc)}"
        try:
            body = pickle.dumps(values, _PICKLE)
        except Exception as exc:  # only together (e.g. too large): fail them all
            why = f"results cannot be sent back: {describe(exc)}"
            codes[:] = bytes([ERROR]) * len(values)
            body = pickle.dumps([why] * len(values), _PICKLE)
    _write_message(out, BATCH, bytes(codes), body)
