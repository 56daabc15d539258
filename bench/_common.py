"""Helpers the benchmarks share: percentiles, ratios, the bar chart, container clean-up.

Why a module: every benchmark prints ratios against peers and draws the same chart; one
implementation keeps their numbers and pictures comparable. Imported by the scripts in
this directory (run as ``python bench/<name>.py``, so this directory is on ``sys.path``).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["bar_chart", "docker_ps", "percentile", "ratio", "remove_containers"]


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile ``q`` (0-100) of ``values``; nan when empty."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def ratio(a: float, b: float) -> float:
    """``a / b``, nan when ``b`` is zero (a peer that did nothing)."""
    return a / b if b else float("nan")


def bar_chart(
    values: Mapping[str, Mapping[str, float]], path: Path, title: str, ylabel: str
) -> bool:
    """Grouped bars, log scale: ``values[group][method]``; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "matplotlib is not installed (it is not a project dependency): "
            "`pip install matplotlib` to get the chart; skipping the plot",
            file=sys.stderr,
        )
        return False
    groups = list(values)
    methods = list(values[groups[0]]) if groups else []
    width = 0.8 / max(len(methods), 1)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, method in enumerate(methods):
        xs = [g + (i - (len(methods) - 1) / 2) * width for g in range(len(groups))]
        ys = [values[group][method] for group in groups]
        bars = ax.bar(xs, ys, width, label=method)
        ax.bar_label(bars, labels=[f"{y:.1f}" for y in ys], fontsize=8, padding=2)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def docker_ps(*filters: str) -> list[str]:
    """Names of containers matching every filter (running or not)."""
    argv = ["docker", "ps", "-a", "--format", "{{.Names}}"]
    for flt in filters:
        argv += ["--filter", flt]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout.split()


def remove_containers(*filters: str) -> None:
    """``docker rm -f`` every container matching the filters (e.g. a timed-out peer)."""
    found = docker_ps(*filters)
    if found:
        subprocess.run(["docker", "rm", "-f", *found], capture_output=True, timeout=120)
