"""One context-manager mixin for everything that owns processes or containers.

Pools, rewards and sandboxes all follow the same rule: ``with x:`` guarantees
``x.close()``, so a worker process or container is never leaked by an exception.
"""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

_T = TypeVar("_T", bound="Closing")


class Closing:
    """Mixin: ``__enter__`` returns self, ``__exit__`` calls :meth:`close`."""

    def close(self) -> None:
        """Release what the object owns; subclasses override (must be idempotent)."""
        raise NotImplementedError

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
