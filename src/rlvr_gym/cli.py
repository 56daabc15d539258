"""Command-line interface (placeholder until the CLI lands)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``rlvr-gym``."""
    return 0
