"""What travels to a worker and where its results go: :class:`Chunk` and the sinks.

Split from :mod:`._scheduler` (which decides *who* runs a chunk and *when* it ran out of
time) to keep both readable. A call's items are grouped into chunks by
:func:`plan_chunks`; each chunk remembers which items of the call it holds (``idxs``),
so results, in whatever order and however split they come back, land in the right place
of the call's :class:`Sink`: one results list per ``map``/``amap`` call (no future per
item: at ~16 000 items a second those cost more than the IPC), or one future per item for
``submit``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import Future, InvalidStateError
from multiprocessing.reduction import ForkingPickler
from typing import Any


class Sink:
    """Where the results of one call go: a results list, or one future per item."""

    __slots__ = ()

    def claim(self, idxs: list[int]) -> list[int] | None:
        """Positions in ``idxs`` still wanted now that a worker takes them; None: all."""
        raise NotImplementedError

    def deliver(self, idxs: Sequence[int], values: Sequence[Any]) -> None:
        """Store final results (called outside the pool's lock: callbacks may use it)."""
        raise NotImplementedError


class BatchSink(Sink):
    """Results of one ``map``/``amap`` call: a list and a countdown, no future per item.

    ``on_done`` runs once, on the thread that delivers the last result.
    """

    __slots__ = ("_lock", "_on_done", "_remaining", "cancelled", "results")

    def __init__(self, n: int, on_done: Callable[[], None]) -> None:
        self.results: list[Any] = [None] * n
        self.cancelled = False
        self._remaining, self._on_done, self._lock = n, on_done, threading.Lock()

    def claim(self, idxs: list[int]) -> list[int] | None:
        """Nothing once the caller gave up, else everything."""
        return [] if self.cancelled else None

    def deliver(self, idxs: Sequence[int], values: Sequence[Any]) -> None:
        """Store results; the last one completes the call."""
        results = self.results
        for i, value in zip(idxs, values):
            results[i] = value
        with self._lock:  # close() may deliver from another thread
            self._remaining -= len(idxs)
            last = self._remaining == 0
        if last:
            self._on_done()


class FutureSink(Sink):
    """Results of ``submit``: one future per item, each cancellable until it runs."""

    __slots__ = ("futures",)

    def __init__(self, futures: list[Future[Any]]) -> None:
        self.futures = futures

    def claim(self, idxs: list[int]) -> list[int] | None:
        """Mark the futures running, dropping those their owner cancelled."""
        futures = self.futures
        return [k for k, i in enumerate(idxs) if futures[i].set_running_or_notify_cancel()]

    def deliver(self, idxs: Sequence[int], values: Sequence[Any]) -> None:
        """Resolve the futures (each runs its callbacks)."""
        futures = self.futures
        for i, value in zip(idxs, values):
            try:  # noqa: SIM105 - once per item: cheaper than contextlib.suppress
                futures[i].set_result(value)
            except InvalidStateError:  # cancelled by its owner while still queued
                pass


Outcome = tuple[Sink, Sequence[int], "bytes | None", list[Any]]
"""``(sink, indices, codes, values)``; ``codes`` None means every item is ``OK``."""


class Chunk:
    """Items of one call that travel to a worker in one message.

    ``idxs`` are the items' indices in the call (``sink``); ``key`` is the ``key`` of
    (the first of) its items, so chunks of one key can go to the worker that already has
    it cached; ``flush_s`` is how long the worker may hold results before sending them
    (0: every result on its own); ``payload`` is the message, pickled ahead of time so an
    idle worker gets its next chunk without waiting for the pickling.
    """

    __slots__ = ("claimed", "deadline_s", "flush_s", "fn", "idxs", "items", "key", "payload",
                 "sink")  # fmt: skip

    def __init__(
        self,
        fn: Callable[[Any], Any],
        items: list[Any],
        sink: Sink,
        idxs: list[int],
        deadline_s: float,
        flush_s: float,
        key: Hashable = None,
        claimed: bool = False,
    ) -> None:
        self.fn, self.items, self.sink, self.idxs = fn, items, sink, idxs
        self.deadline_s, self.flush_s, self.claimed = deadline_s, flush_s, claimed
        self.key = key
        self.payload: bytes | memoryview | None = None

    def encode(self) -> bytes | memoryview:
        """The message for a worker (cached).

        Raises:
            Exception: The items cannot be pickled (any pickling error).
        """
        if self.payload is None:
            message = (self.fn, self.items, self.flush_s, self.deadline_s)
            self.payload = ForkingPickler.dumps(message)
        return self.payload

    def subset(self, positions: Iterable[int], flush_s: float | None = None) -> Chunk:
        """The items at ``positions``, already claimed (a worker took them once)."""
        ps = list(positions)
        return Chunk(
            self.fn,
            [self.items[p] for p in ps],
            self.sink,
            [self.idxs[p] for p in ps],
            self.deadline_s,
            self.flush_s if flush_s is None else flush_s,
            self.key,
            claimed=True,
        )

    def claim(self) -> Chunk:
        """Mark the items taken, dropping those their owner no longer wants."""
        if self.claimed:
            return self
        keep = self.sink.claim(self.idxs)
        if keep is None:
            self.claimed = True
            return self
        return self.subset(keep)


def plan_chunks(
    items: Sequence[Any], key: Callable[[Any], Hashable] | None, chunk_size: int, workers: int
) -> list[tuple[list[int], Hashable]]:
    """Group item indices into chunks; returns each chunk's indices and (first) key.

    Items with equal keys share a chunk (up to ``chunk_size``), so the worker's per-key
    cache (e.g. the parsed gold answer of a GRPO group) hits. Small groups are packed
    together, but only up to about a quarter of a worker's share, so every worker gets
    some of a short batch.
    """
    n = len(items)
    share = max(1, min(chunk_size, -(-n // (4 * workers))))
    if key is None:
        return [(list(range(i, min(i + share, n))), None) for i in range(0, n, share)]
    groups: dict[Hashable, list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(key(item), []).append(i)
    chunks: list[tuple[list[int], Hashable]] = []
    current: list[int] = []
    first: Hashable = None
    for k, group in groups.items():
        for start in range(0, len(group), chunk_size):
            part = group[start : start + chunk_size]
            if current and len(current) + len(part) > share:
                chunks.append((current, first))
                current = []
            if not current:
                first = k
            current.extend(part)
    if current:
        chunks.append((current, first))
    return chunks
