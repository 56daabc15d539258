"""Running a worker pool's dispatch rounds as callbacks of an asyncio event loop.

Why: see :meth:`rlvr_gym.rewards.pool.WorkerPool.use_event_loop`. The pool decides what
a round does; this module only decides *when* one runs on the loop: when the pool's
selector has events (the loop watches its file descriptor), when the nearest deadline
comes (a loop timer), and when the pool asks (:meth:`LoopDriver.schedule`, from any
thread), coalescing requests so a burst of them costs one round.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable

__all__ = ["LoopDriver", "running"]

_log = logging.getLogger(__name__)


def running(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``loop`` is the event loop running in this thread."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class LoopDriver:
    """Runs ``round_fn`` on ``loop`` whenever the pool needs a round.

    Args:
        loop: The event loop; :meth:`start` must be called from its thread.
        fd: The pool's selector, readable whenever a round has work.
        round_fn: One round; returns the next deadline (``time.monotonic()`` seconds,
            ``inf`` for none), or ``None`` once the pool is closed.
        on_crash: Called with the exception if a round raises; it must close the pool.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        fd: int,
        round_fn: Callable[[], float | None],
        on_crash: Callable[[BaseException], None],
    ) -> None:
        self.loop = loop
        self._fd = fd
        self._round_fn = round_fn
        self._on_crash = on_crash
        self._due = False  # a round is already queued on the loop
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def start(self) -> None:
        """Watch the selector and run a first round (whatever is already waiting)."""
        self.loop.add_reader(self._fd, self._run)
        self._run()

    def schedule(self) -> None:
        """Run a round soon; callable from any thread, cheap when one is already due."""
        if self._due:
            return
        self._due = True
        if running(self.loop):
            self.loop.call_soon(self._run)
        else:
            try:
                self.loop.call_soon_threadsafe(self._run)
            except RuntimeError:  # the loop is closed: close() does what is left
                self._due = False

    def _run(self) -> None:
        self._due = False  # first: a request made during the round gets a round of its own
        try:
            deadline = self._round_fn()
        except BaseException as exc:  # as the dispatcher thread: fail callers, never strand
            _log.exception("a worker pool round on the event loop failed")
            self._on_crash(exc)
            raise
        if deadline is not None and deadline < self._timer_at:
            # only ever earlier: a timer that fires before the next deadline just runs a
            # round that finds nothing due, which is cheaper than re-arming every round
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = deadline
            delay = max(0.0, deadline - time.monotonic())
            self._timer = self.loop.call_at(self.loop.time() + delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, math.inf
        self._run()

    def leave(self, timeout: float) -> bool:
        """Stop watching the selector; True once the loop has let go of it.

        From another thread this waits for the loop to run the removal. A closed loop has
        already let go; one that does not run within ``timeout`` cannot, and the caller
        must then leave the selector open (the loop may still poll its number).
        """

        def let_go() -> None:
            self.loop.remove_reader(self._fd)
            if self._timer is not None:
                self._timer.cancel()

        if running(self.loop):
            let_go()
            return True
        if self.loop.is_closed():
            return True
        done = threading.Event()

        def let_go_and_tell() -> None:
            let_go()
            done.set()

        try:
            self.loop.call_soon_threadsafe(let_go_and_tell)
        except RuntimeError:  # closed meanwhile
            return True
        if done.wait(timeout):
            return True
        _log.warning("a worker pool's event loop did not run; its selector stays open")
        return False
