"""Start worker processes without making them re-import the caller's ``__main__``."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

_LOCK = threading.Lock()


@contextlib.contextmanager
def main_hidden() -> Iterator[None]:
    """Start processes without telling them about ``__main__``.

    multiprocessing makes every forkserver/spawn child (and the forkserver itself,
    when ``"__main__"`` is preloaded) re-import the parent's main module, found through
    ``__main__.__spec__`` or ``__main__.__file__``. A training script that creates a
    reward at module level would then create it again in each worker and fail with
    "An attempt has been made to start a new process before the current process has
    finished its bootstrapping phase". Hiding both while a process starts skips that.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    with _LOCK:
        saved: dict[str, Any] = {
            k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__
        }
        main.__dict__.pop("__file__", None)
        main.__dict__["__spec__"] = None
        try:
            yield
        finally:
            main.__dict__.pop("__spec__", None)
            main.__dict__.update(saved)
