"""The public face of the sandbox: ``Sandbox.run(code, language=..., stdin=...)``.

Why a thin layer over the backends: callers (code rewards, the CLI) think in *programs
and languages*, backends in *argv and files*. The language table turns one into the
other, and :class:`ExecutionResult` flattens a backend's response into the fields a
reward needs, with output decoded safely (invalid UTF-8 replaced, raw bytes kept).

Backend choice: ``"docker"`` (a warm pool of locked-down containers, the only one meant
for model-written code at scale), ``"process"`` (the supervisor as a local process: see
:mod:`rlvr_gym.sandbox.process_backend` for what it does not protect against) or
``"auto"``: Docker when a daemon is reachable, else the process backend with a loud
warning, because silently losing isolation is worse than failing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from rlvr_gym._closing import Closing
from rlvr_gym.errors import ConfigError
from rlvr_gym.sandbox.types import (
    ExecutionLimits,
    ExecutionRequest,
    ExecutionResponse,
    RunResult,
    RunStatus,
)

__all__ = ["LANGUAGES", "ExecutionResult", "Language", "Sandbox", "SandboxBackend"]

_log = logging.getLogger(__name__)
BackendName = Literal["auto", "docker", "process"]


@dataclass(frozen=True)
class Language:
    """How to build and run a program in one language inside the sandbox.

    Attributes:
        file_name: the main source file the code is written to.
        compile: argv of the compile step (run once per request), or ``None``.
        run: argv of each run, resolved on the sandbox's ``PATH`` or relative to the work
            dir (``./main``).
        compile_cpu_s: CPU seconds the compile step gets at least (compilers are slow).
        compile_wall_s: wall seconds the compile step gets at least.
    """

    file_name: str
    compile: tuple[str, ...] | None
    run: tuple[str, ...]
    compile_cpu_s: float = 10.0
    compile_wall_s: float = 20.0


# No ``-I`` for Python: it would drop the script's dir from sys.path, breaking programs
# split over several files; the supervisor already strips PYTHON* variables.
LANGUAGES: dict[str, Language] = {
    "python": Language("main.py", None, ("python3", "main.py")),
    "cpp": Language(
        "main.cpp", ("g++", "-O2", "-std=c++17", "-o", "main", "main.cpp"), ("./main",)
    ),
}


@dataclass(frozen=True)
class ExecutionResult:
    """One run of a program: what a reward needs, output decoded and raw.

    Attributes:
        status: ``ok``, ``runtime_error``, ``timeout``, ``memory_limit``, ``output_limit``,
            ``compile_error`` or ``infra_error`` (the sandbox failed: mask, never score).
        exit_code: the exit code, or ``None`` when killed by a signal or never run.
        signal: the killing signal number, or ``None``.
        stdout: standard output decoded as UTF-8 with invalid bytes replaced.
        stderr: standard error, decoded likewise (the compiler's for ``compile_error``).
        stdout_bytes: the raw captured standard output (at most the output limit).
        stderr_bytes: the raw captured standard error.
        stdout_truncated: more was written than the output limit kept.
        stderr_truncated: likewise for standard error.
        cpu_s: CPU seconds used.
        wall_s: wall-clock seconds.
        peak_memory_bytes: peak resident memory.
        detail: why, for ``infra_error``.
    """

    status: RunStatus
    exit_code: int | None
    signal: int | None
    stdout: str
    stderr: str
    stdout_bytes: bytes
    stderr_bytes: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    cpu_s: float
    wall_s: float
    peak_memory_bytes: int
    detail: str = ""

    @classmethod
    def from_run(cls, run: RunResult, status: RunStatus | None = None) -> ExecutionResult:
        """Convert a backend's :class:`RunResult` (optionally overriding its status)."""
        return cls(
            status=status or run.status,
            exit_code=run.exit_code,
            signal=run.signal,
            stdout=run.stdout_text,
            stderr=run.stderr_text,
            stdout_bytes=run.stdout,
            stderr_bytes=run.stderr,
            stdout_truncated=run.stdout_truncated,
            stderr_truncated=run.stderr_truncated,
            cpu_s=run.cpu_s,
            wall_s=run.wall_s,
            peak_memory_bytes=run.max_rss_bytes,
            detail=run.detail,
        )

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (text output, no raw bytes)."""
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "stdout_truncated": self.stdout_truncated,
            "stderr_truncated": self.stderr_truncated,
            "cpu_s": self.cpu_s,
            "wall_s": self.wall_s,
            "peak_memory_bytes": self.peak_memory_bytes,
            "detail": self.detail,
        }


class SandboxBackend(Protocol):
    """What :class:`Sandbox` needs from a backend (Docker pool or process sandbox)."""

    def execute(self, request: ExecutionRequest) -> ExecutionResponse:
        """Run one request; sandbox failures come back as ``infra_error`` results."""
        ...

    def close(self) -> None:
        """Release everything the backend holds (containers, processes)."""
        ...


def _open_backend(
    backend: BackendName, pool_size: int | None, limits: ExecutionLimits
) -> tuple[SandboxBackend, str]:
    if backend not in ("auto", "docker", "process"):
        raise ConfigError(f"unknown sandbox backend {backend!r}; use 'auto', 'docker' or 'process'")
    if backend in ("auto", "docker"):
        from rlvr_gym.sandbox.docker_backend import DockerSandboxPool, docker_available
        from rlvr_gym.sandbox.errors import DockerUnavailableError

        if backend == "docker" or docker_available():
            try:
                return DockerSandboxPool(pool_size, limits=limits), "docker"
            except DockerUnavailableError:
                if backend == "docker":
                    raise
        message = (
            "no Docker daemon reachable: the sandbox falls back to the PROCESS backend, "
            "which does not isolate untrusted code like containers do (see "
            "rlvr_gym.sandbox.process_backend); start dockerd or pass backend='process' "
            "to acknowledge"
        )
        _log.warning("%s", message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    from rlvr_gym.sandbox.process_backend import ProcessSandbox

    return ProcessSandbox(), "process"


class Sandbox(Closing):
    """Runs programs in a sandbox backend; thread-safe, with sync and asyncio entry points.

    Args:
        backend: ``"docker"``, ``"process"`` or ``"auto"`` (Docker when reachable, else the
            process backend with a warning).
        pool_size: containers in the Docker pool (default: the CPU count); the process
            backend runs one request at a time.
        limits: default limits of each run; with Docker also the largest a call may ask
            for (the containers are sized by them).

    Raises:
        ConfigError: an unknown backend.
        DockerUnavailableError: ``backend="docker"`` and Docker is not usable.
    """

    def __init__(
        self,
        backend: BackendName = "auto",
        pool_size: int | None = None,
        limits: ExecutionLimits | None = None,
    ) -> None:
        self.limits = limits or ExecutionLimits()
        self._backend, self.backend_name = _open_backend(backend, pool_size, self.limits)
        self._lock = threading.Lock()

    @property
    def backend(self) -> SandboxBackend:
        """The backend object (a ``DockerSandboxPool`` or a ``ProcessSandbox``)."""
        return self._backend

    def run(
        self,
        code: str | Mapping[str, str | bytes],
        *,
        language: str | Language = "python",
        stdin: bytes | str = b"",
        limits: ExecutionLimits | None = None,
    ) -> ExecutionResult:
        """Compile (if the language needs it) and run ``code`` once on ``stdin``.

        Args:
            code: the main file's source, or file name -> content (must hold the
                language's main file, e.g. ``main.py``).
            language: a key of :data:`LANGUAGES`, or a :class:`Language`.
            stdin: standard input (text is UTF-8 encoded).
            limits: this run's limits (default: the sandbox's).

        Raises:
            ConfigError: unknown language, bad file names, limits above the pool's.
        """
        return self.run_batch(code, [stdin], language=language, limits=limits)[0]

    def run_batch(
        self,
        code: str | Mapping[str, str | bytes],
        inputs: Sequence[bytes | str],
        *,
        language: str | Language = "python",
        limits: ExecutionLimits | None = None,
        stop_on_first_failure: bool = False,
    ) -> list[ExecutionResult]:
        """Compile once and run ``code`` on every input, in one round trip.

        Each input runs in a fresh copy of the work dir. Returns one result per input, in
        order; if compilation fails, every result is the compiler's ``compile_error``.
        With ``stop_on_first_failure`` the list ends at the first run that is not ``ok``
        (the rest were not run).

        Raises:
            ConfigError: unknown language, bad file names, limits above the pool's.
        """
        request = self._request(code, inputs, language, limits or self.limits)
        if stop_on_first_failure:
            request = replace(request, stop_on_first_failure=True)
        response = self._backend.execute(request)
        return _results(response, len(request.inputs), stop_on_first_failure)

    async def arun(
        self,
        code: str | Mapping[str, str | bytes],
        *,
        language: str | Language = "python",
        stdin: bytes | str = b"",
        limits: ExecutionLimits | None = None,
    ) -> ExecutionResult:
        """:meth:`run` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(
            self.run, code, language=language, stdin=stdin, limits=limits
        )

    async def arun_batch(
        self,
        code: str | Mapping[str, str | bytes],
        inputs: Sequence[bytes | str],
        *,
        language: str | Language = "python",
        limits: ExecutionLimits | None = None,
        stop_on_first_failure: bool = False,
    ) -> list[ExecutionResult]:
        """:meth:`run_batch` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(
            self.run_batch,
            code,
            inputs,
            language=language,
            limits=limits,
            stop_on_first_failure=stop_on_first_failure,
        )

    def close(self) -> None:
        """Tear the backend down (containers removed, supervisor stopped); idempotent."""
        with self._lock:
            self._backend.close()

    @staticmethod
    def _request(
        code: str | Mapping[str, str | bytes],
        inputs: Sequence[bytes | str],
        language: str | Language,
        limits: ExecutionLimits,
    ) -> ExecutionRequest:
        lang = language if isinstance(language, Language) else LANGUAGES.get(language)
        if lang is None:
            raise ConfigError(
                f"unknown language {language!r}; known: {', '.join(sorted(LANGUAGES))} "
                "(add one to rlvr_gym.sandbox.api.LANGUAGES)"
            )
        if isinstance(code, str):
            files = {lang.file_name: code.encode("utf-8")}
        else:
            files = {k: v.encode("utf-8") if isinstance(v, str) else v for k, v in code.items()}
            if lang.file_name not in files:
                raise ConfigError(f"the code must include its main file {lang.file_name!r}")
        if isinstance(inputs, (str, bytes)):
            raise ConfigError("inputs must be a list of stdin values, one per run")
        data = [x.encode("utf-8") if isinstance(x, str) else x for x in inputs]
        compile_limits = None
        if lang.compile is not None:
            compile_limits = replace(
                limits,
                cpu_s=max(limits.cpu_s, lang.compile_cpu_s),
                wall_s=max(limits.wall_s, lang.compile_wall_s),
            )
        return ExecutionRequest(
            run=lang.run,
            files=files,
            inputs=data,
            compile=lang.compile,
            limits=limits,
            compile_limits=compile_limits,
        )


def _results(response: ExecutionResponse, count: int, may_stop: bool) -> list[ExecutionResult]:
    compiled = response.compile
    if compiled is not None and compiled.status != "ok":
        status: RunStatus = "infra_error" if compiled.status == "infra_error" else "compile_error"
        return [ExecutionResult.from_run(compiled, status) for _ in range(count)]
    results = [ExecutionResult.from_run(run) for run in response.runs]
    if may_stop and results and results[-1].status not in ("ok", "infra_error"):
        return results  # stopped at the first failure, as asked
    skipped = RunResult.infra_error("not run: the batch stopped early")
    results += [ExecutionResult.from_run(skipped) for _ in range(count - len(results))]
    return results
