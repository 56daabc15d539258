"""Bounded admission: how many responses are graded at once, and how many may wait.

Why count responses, not requests: a ``ScoreBatch`` of a GRPO group costs G gradings, so
admitting "one request" would let a burst of large groups past any bound. Why a bounded
queue: under overload the honest answer is ``RESOURCE_EXHAUSTED`` right away (the client
backs off or tries another replica), not a request that waits until its deadline, and
never a reward computed in a hurry. Waiting is FIFO, so a large batch is not starved by a
stream of small ones.

Runs on the server's event loop only (no locks): every method is called from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator

from rlvr_gym.errors import RlvrGymError

__all__ = ["Admission", "OverloadedError"]


class OverloadedError(RlvrGymError):
    """The admission queue is full; the caller should back off and retry."""


class Admission:
    """``max_inflight`` responses graded at once, at most ``max_queue`` waiting."""

    def __init__(self, max_inflight: int, max_queue: int) -> None:
        self.max_inflight, self.max_queue = max_inflight, max_queue
        self.inflight = 0
        self.waiting = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    @contextlib.asynccontextmanager
    async def admit(self, count: int) -> AsyncIterator[float]:
        """Hold ``count`` grading slots for the block; yields the seconds spent waiting.

        A batch larger than ``max_inflight`` takes all of them (it still runs, alone).

        Raises:
            OverloadedError: the queue cannot take ``count`` more responses.
        """
        weight = max(1, min(count, self.max_inflight))
        started = time.perf_counter()
        if self._waiters or self.inflight + weight > self.max_inflight:
            if self.waiting + count > self.max_queue:
                raise OverloadedError(
                    f"server overloaded: {self.waiting} responses already wait for a grader "
                    f"(max_queue {self.max_queue}); retry with backoff"
                )
            await self._wait(weight, count)
        else:
            self.inflight += weight
        try:
            yield time.perf_counter() - started
        finally:
            self.inflight -= weight
            self._wake()

    async def _wait(self, weight: int, count: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (weight, future)
        self._waiters.append(entry)
        self.waiting += count
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # admitted just as we were cancelled
                self.inflight -= weight
                self._wake()
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(entry)
                self._wake()  # we may have been the head that blocked smaller waiters
            raise
        finally:
            self.waiting -= count

    def _wake(self) -> None:
        while self._waiters:
            weight, future = self._waiters[0]
            if future.done():  # cancelled while queued
                self._waiters.popleft()
                continue
            if self.inflight + weight > self.max_inflight:
                return
            self._waiters.popleft()
            self.inflight += weight
            future.set_result(None)
