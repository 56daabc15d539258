"""Run model-written programs in a locked-down sandbox (Docker, or a process fallback).

Use :class:`Sandbox` (``Sandbox(backend="auto").run(code, language="python")``); the
backends are :class:`~rlvr_gym.sandbox.docker_backend.DockerSandboxPool` (warm,
locked-down containers) and :class:`~rlvr_gym.sandbox.process_backend.ProcessSandbox`
(a local process, for machines without Docker). The image is built without a registry
by :mod:`rlvr_gym.sandbox.image`.

Threat model, in short. Covered (Docker backend): programs get no network, a read-only
root, size-capped tmpfs work dirs, cgroup memory and pids limits, no capabilities, no
privilege gain, a non-root uid, per-run CPU/wall/memory/output/file-size limits enforced
by the in-container supervisor and a wall-clock backstop enforced from outside through
the daemon; nothing a run leaves (files, processes) reaches the next run; verdicts are
decided outside the sandbox. A ``python3 main.py`` run is forked, without exec, from a
zygote that never holds request data, so a run finds nothing of other runs in its
memory. Not covered: kernel exploits (containers share the host
kernel; use gVisor/Kata for that), CPU timing side channels between neighbours, and
denial of service of the Docker daemon itself. The process backend isolates far less:
read its module docstring before using it on untrusted code.

Why the names are loaded lazily: ``import rlvr_gym`` must stay light, so nothing here
starts subprocesses or imports the backends until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlvr_gym.sandbox.api import LANGUAGES, ExecutionResult, Language, Sandbox
    from rlvr_gym.sandbox.types import ExecutionLimits

__all__ = ["LANGUAGES", "ExecutionLimits", "ExecutionResult", "Language", "Sandbox"]

_LAZY = {
    "LANGUAGES": "rlvr_gym.sandbox.api",
    "ExecutionResult": "rlvr_gym.sandbox.api",
    "Language": "rlvr_gym.sandbox.api",
    "Sandbox": "rlvr_gym.sandbox.api",
    "ExecutionLimits": "rlvr_gym.sandbox.types",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rlvr_gym.sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
