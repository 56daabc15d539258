"""Typed requests and results of the sandbox, converted to and from protocol messages.

Why separate from the protocol: callers (code rewards, the CLI, backends) work with frozen
dataclasses and ``bytes``; only backends see the wire dicts with base64 strings. Building a
request validates it here, on the trusted side, so a caller's mistake (a ``..`` file name,
a zero limit) fails fast with :class:`~rlvr_gym.errors.ConfigError` instead of travelling
to a sandbox. Results coming back are checked field by field: a malformed reply is the
sandbox's fault and becomes ``infra_error``, never a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Literal, cast

from rlvr_gym.errors import ConfigError
from rlvr_gym.sandbox import protocol

__all__ = [
    "CleanupReport",
    "ExecutionLimits",
    "ExecutionRequest",
    "ExecutionResponse",
    "RunResult",
    "RunStatus",
]

RunStatus = Literal[
    "ok",
    "runtime_error",
    "timeout",
    "memory_limit",
    "output_limit",
    "compile_error",
    "infra_error",
]
_MiB = 1024 * 1024


@dataclass(frozen=True)
class ExecutionLimits:
    """Resource limits of one program run (the compile step may have its own).

    Attributes:
        cpu_s: CPU seconds (RLIMIT_CPU; whole seconds, rounded up, at least 1).
        wall_s: wall-clock seconds, enforced by killing the process group.
        memory_bytes: address space (RLIMIT_AS); interpreters need tens of MB to start.
        nproc: processes/threads (RLIMIT_NPROC; only effective with a non-root ``uid``).
        fsize_bytes: largest file the program may write.
        output_bytes: bytes kept per stream (stdout, stderr); more is ``output_limit``.
        nofile: open file descriptors.
    """

    cpu_s: float = 2.0
    wall_s: float = 5.0
    memory_bytes: int = 512 * _MiB
    nproc: int = 64
    fsize_bytes: int = 16 * _MiB
    output_bytes: int = 1 * _MiB
    nofile: int = 64

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"ExecutionLimits.{f.name} must be a number, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"ExecutionLimits.{f.name} must be positive, got {value!r}")
        if self.memory_bytes < _MiB:
            raise ConfigError(
                f"ExecutionLimits.memory_bytes={self.memory_bytes} cannot start any program; "
                "give at least a few MB (Python needs about 30 MB)"
            )

    def to_wire(self) -> dict[str, float]:
        """The protocol's ``limits`` object."""
        return {key: getattr(self, key) for key in protocol.LIMIT_KEYS}


@dataclass(frozen=True)
class ExecutionRequest:
    """One program, compiled at most once, run once per stdin input.

    Attributes:
        run: argv of each run, resolved on the sandbox's ``PATH`` or relative to the work
            dir (``./main``).
        files: relative file name -> content, written into a fresh empty work dir.
        inputs: stdin of each run; a batch runs the program once per input.
        compile: argv of the compile step, or ``None``; if it fails nothing is run.
        limits: limits of each run.
        compile_limits: limits of the compile step (default: ``limits``); compilers need
            more memory and time than the programs they build.
        env: extra environment; keys that steer loaders/interpreters are dropped.
        uid: run as this uid (needs a root supervisor), ``None`` for the backend's default.
        stop_on_first_failure: skip the remaining inputs after a run that is not ``ok``.
    """

    run: Sequence[str]
    files: Mapping[str, bytes] = field(default_factory=dict)
    inputs: Sequence[bytes] = (b"",)
    compile: Sequence[str] | None = None
    limits: ExecutionLimits = field(default_factory=ExecutionLimits)
    compile_limits: ExecutionLimits | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    uid: int | None = None
    stop_on_first_failure: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "run", _argv(self.run, "run"))
        set_(self, "compile", None if self.compile is None else _argv(self.compile, "compile"))
        if isinstance(self.inputs, (bytes, str)) or not all(
            isinstance(item, bytes) for item in self.inputs
        ):
            raise ConfigError("ExecutionRequest.inputs must be a sequence of bytes (one per run)")
        set_(self, "inputs", tuple(self.inputs))
        for name, content in self.files.items():
            reason = protocol.check_file_name(name)
            if reason:
                raise ConfigError(f"ExecutionRequest.files: {reason}")
            if not isinstance(content, bytes):
                raise ConfigError(f"ExecutionRequest.files[{name!r}] must be bytes")
        set_(self, "files", MappingProxyType(dict(self.files)))
        for key, value in self.env.items():
            if not (isinstance(key, str) and isinstance(value, str)) or "=" in key or not key:
                raise ConfigError(f"ExecutionRequest.env entry {key!r} is not NAME -> str")
        set_(self, "env", MappingProxyType(dict(self.env)))
        if self.uid is not None and (isinstance(self.uid, bool) or not 0 < self.uid < 2**31):
            raise ConfigError(f"ExecutionRequest.uid must be a positive uid, got {self.uid!r}")

    @property
    def wall_budget_s(self) -> float:
        """Sum of the wall limits of every step: what a backstop deadline builds on."""
        runs = len(self.inputs) * self.limits.wall_s
        return runs + ((self.compile_limits or self.limits).wall_s if self.compile else 0.0)

    def to_wire(self, request_id: int | str, uid: int | None = None) -> dict[str, Any]:
        """The protocol's execute request; ``uid`` replaces ``self.uid`` when that is None."""
        return {
            "id": request_id,
            "files": {name: protocol.b64encode(data) for name, data in self.files.items()},
            "compile": None if self.compile is None else list(self.compile),
            "run": list(self.run),
            "inputs": [protocol.b64encode(data) for data in self.inputs],
            "limits": self.limits.to_wire(),
            "compile_limits": None
            if self.compile_limits is None
            else self.compile_limits.to_wire(),
            "env": dict(self.env),
            "uid": self.uid if self.uid is not None else uid,
            "stop_on_first_failure": self.stop_on_first_failure,
        }


@dataclass(frozen=True)
class RunResult:
    """What happened to one run: raw facts, no verdict on the answer.

    ``stdout``/``stderr`` are the captured bytes (at most ``output_bytes`` each); use
    :attr:`stdout_text` for text with invalid UTF-8 replaced. ``detail`` explains an
    ``infra_error`` (the sandbox failed, not the program: mask it, do not score it).
    """

    status: RunStatus
    exit_code: int | None = None
    signal: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    cpu_s: float = 0.0
    wall_s: float = 0.0
    max_rss_bytes: int = 0
    detail: str = ""

    @property
    def stdout_text(self) -> str:
        """``stdout`` decoded as UTF-8, invalid bytes replaced (never raises)."""
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def stderr_text(self) -> str:
        """``stderr`` decoded as UTF-8, invalid bytes replaced (never raises)."""
        return self.stderr.decode("utf-8", errors="replace")

    @classmethod
    def infra_error(cls, detail: str) -> RunResult:
        """A result for a run the sandbox could not carry out (or report)."""
        return cls(status="infra_error", detail=detail)

    @classmethod
    def from_wire(cls, message: object) -> RunResult:
        """Check and convert a protocol result.

        Raises:
            ValueError: a field is missing or has the wrong type (a sandbox fault).
        """
        if not isinstance(message, dict):
            raise ValueError(f"result must be an object, got {type(message).__name__}")
        status = message.get("status")
        if status not in protocol.STATUSES:
            raise ValueError(f"unknown result status {status!r}")
        return cls(
            status=cast(RunStatus, status),
            exit_code=_opt_int(message.get("exit_code"), "exit_code"),
            signal=_opt_int(message.get("signal"), "signal"),
            stdout=protocol.b64decode(message.get("stdout")),
            stderr=protocol.b64decode(message.get("stderr")),
            stdout_truncated=_bool(message.get("stdout_truncated"), "stdout_truncated"),
            stderr_truncated=_bool(message.get("stderr_truncated"), "stderr_truncated"),
            cpu_s=_number(message.get("cpu_s"), "cpu_s"),
            wall_s=_number(message.get("wall_s"), "wall_s"),
            max_rss_bytes=int(_number(message.get("max_rss_bytes"), "max_rss_bytes")),
        )


@dataclass(frozen=True)
class ExecutionResponse:
    """The outcome of one :class:`ExecutionRequest`.

    ``runs`` has one result per input actually run: fewer than the inputs when the compile
    step failed (then ``compile.status == "compile_error"`` and ``runs`` is empty) or
    ``stop_on_first_failure`` stopped the batch. ``clean`` is False when a leftover process
    or file could not be removed: the sandbox should be replaced.
    """

    compile: RunResult | None
    runs: tuple[RunResult, ...]
    leftover_processes_killed: int = 0
    clean: bool = True
    env_dropped: tuple[str, ...] = ()

    @classmethod
    def infra_error(cls, request: ExecutionRequest, detail: str) -> ExecutionResponse:
        """Every step of ``request`` reported as ``infra_error`` with ``detail``."""
        failed = RunResult.infra_error(detail)
        compiled = failed if request.compile is not None else None
        return cls(compiled, tuple(failed for _ in request.inputs), clean=False)

    @classmethod
    def from_wire(cls, message: dict[str, Any]) -> ExecutionResponse:
        """Check and convert a protocol response.

        Raises:
            ValueError: the reply is malformed (a sandbox fault).
        """
        runs = message.get("runs")
        if not isinstance(runs, list):
            raise ValueError("response 'runs' must be a list")
        compiled = message.get("compile")
        dropped = message.get("env_dropped", [])
        if not isinstance(dropped, list) or not all(isinstance(k, str) for k in dropped):
            raise ValueError("response 'env_dropped' must be a list of strings")
        return cls(
            compile=None if compiled is None else RunResult.from_wire(compiled),
            runs=tuple(RunResult.from_wire(run) for run in runs),
            leftover_processes_killed=int(
                _number(message.get("leftover_processes_killed", 0), "leftover")
            ),
            clean=_bool(message.get("clean", True), "clean"),
            env_dropped=tuple(dropped),
        )


@dataclass(frozen=True)
class CleanupReport:
    """Answer to a cleanup health check: processes killed, paths wiped, all clean?"""

    killed: int
    wiped: tuple[str, ...]
    clean: bool


def _argv(value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(f"ExecutionRequest.{what} must be an argv list, e.g. ['python3', 'x.py']")
    argv = tuple(value)
    if not argv or not argv[0] or not all(isinstance(a, str) and "\x00" not in a for a in argv):
        raise ConfigError(f"ExecutionRequest.{what} must be non-empty strings without NUL bytes")
    return argv


def _opt_int(value: object, what: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"result {what!r} must be an integer or null, got {value!r}")
    return value


def _bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what!r} must be a boolean, got {value!r}")
    return value


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what!r} must be a number, got {value!r}")
    return float(value)
