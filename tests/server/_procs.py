"""Helpers for tests that run `rlvr-gym serve` as a child process."""

from __future__ import annotations

import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path


def rlvr_gym() -> str:
    script = Path(sys.executable).parent / "rlvr-gym"
    found = str(script) if script.exists() else shutil.which("rlvr-gym")
    assert found, "the rlvr-gym console script is not installed (pip install -e '.[all,dev]')"
    return found


def first_line(proc: subprocess.Popen[str], timeout_s: float) -> str | None:
    """The process's first stdout line, '' at EOF, None when none came within the timeout."""
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout_s)
    except queue.Empty:
        return None
