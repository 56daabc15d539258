"""One exception root, so callers can catch everything this package raises in one place.

Messages follow one rule: say what happened, why, and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RlvrGymError(Exception):
    """Root of every error raised by rlvr-gym."""


class ConfigError(RlvrGymError, ValueError):
    """A configuration value or argument is invalid."""


class DataError(RlvrGymError, ValueError):
    """A dataset file or record cannot be used as given."""


class WorkerPoolError(RlvrGymError, RuntimeError):
    """The worker pool cannot serve the request (closed, or workers fail to start)."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return a ``" — did you mean 'x'?"`` suffix for the closest choice, or ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" — did you mean {close[0]!r}?" if close else ""
