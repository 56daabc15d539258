"""Text helpers for terminal tables (the CLI's and the demo's)."""

from __future__ import annotations

from typing import Any

__all__ = ["clip"]


def clip(text: Any, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    flat = " ".join(str("" if text is None else text).split())
    return flat if len(flat) <= width else flat[: max(width - 1, 0)] + "…"
