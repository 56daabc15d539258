"""Cancellation that reaches the work itself: worker processes and sandbox containers.

Why: a gRPC request whose deadline passed, or whose client went away, must stop costing
CPU. Cancelling an ``asyncio`` task only stops the *waiting*; the program keeps running in
its container and the sympy call in its worker. A :class:`CancelToken` is set for the
duration of a grading call (a :mod:`contextvars` variable, so it follows the call into the
thread that runs it), and the layers that start work register how to stop it: the Docker
pool kills the container running the request (and replaces it), the sandbox refuses to
start new runs once the token is cancelled.

Callbacks run on the thread that calls :meth:`CancelToken.cancel`, so they must be quick
and must not block (start a thread for anything slow, such as ``docker kill``).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator

__all__ = ["CancelToken", "CancelledError", "cancel_scope", "current_token"]


class CancelledError(Exception):
    """The work was cancelled by its caller (deadline passed or client gone)."""


class CancelToken:
    """A one-shot, thread-safe cancellation flag with stop callbacks."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._next = 0

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def cancel(self) -> None:
        """Cancel: run every registered stop callback once; idempotent."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = list(self._callbacks.values()), {}
        for callback in callbacks:
            with contextlib.suppress(Exception):  # one failing stop must not skip the others
                callback()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`CancelledError` when cancelled (call before starting work)."""
        if self._event.is_set():
            raise CancelledError("cancelled by the caller")

    @contextlib.contextmanager
    def on_cancel(self, callback: Callable[[], None]) -> Iterator[None]:
        """Run ``callback`` if the token is cancelled while the block runs.

        If the token is already cancelled, ``callback`` runs at once.
        """
        with self._lock:
            key = self._next
            self._next += 1
            if not self._event.is_set():
                self._callbacks[key] = callback
                registered = True
            else:
                registered = False
        if not registered:
            callback()
        try:
            yield
        finally:
            with self._lock:
                self._callbacks.pop(key, None)


_CURRENT: contextvars.ContextVar[CancelToken | None] = contextvars.ContextVar(
    "rlvr_gym_cancel_token", default=None
)


def current_token() -> CancelToken | None:
    """The token of the grading call in progress on this context, if any."""
    return _CURRENT.get()


@contextlib.contextmanager
def cancel_scope(token: CancelToken) -> Iterator[CancelToken]:
    """Make ``token`` the current one for the block (and threads run with its context)."""
    reset = _CURRENT.set(token)
    try:
        yield token
    finally:
        _CURRENT.reset(reset)
