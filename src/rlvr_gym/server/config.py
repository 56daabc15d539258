"""Server settings: one frozen dataclass with embedded defaults, optionally from TOML.

Why TOML: the standard library reads it (``tomllib``), it has comments, and it maps onto
flat settings without surprises. Unknown keys are errors (a misspelt ``max_queue`` would
otherwise silently keep the default under load).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rlvr_gym.errors import ConfigError, did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["DEFAULT_ADDRESS", "ServerConfig", "load_config"]

DEFAULT_ADDRESS = "0.0.0.0:50051"


@dataclass(frozen=True)
class ServerConfig:
    """Everything ``rlvr-gym serve`` can be told.

    Attributes:
        address: ``HOST:PORT`` to listen on (port 0 picks a free port).
        metrics_address: ``HOST:PORT`` of the Prometheus ``/metrics`` endpoint; empty: off.
        envs: Env ids served (empty: every built-in env).
        data_paths: Dataset file per env id, for task ids (e.g. the HumanEval JSONL).
        math_workers: Math grader processes (``None``: the CPU count).
        math_deadline_s: Grading deadline per math response (counted from when a worker
            starts it, never from when the request arrived).
        sandbox_backend: ``auto`` (Docker when usable), ``docker`` or ``process``.
        sandbox_pool_size: Sandbox containers (``None``: the CPU count).
        max_inflight: Responses graded at once; more wait in the admission queue.
        max_queue: Responses allowed to wait; beyond it requests get
            ``RESOURCE_EXHAUSTED`` (never a silently wrong reward).
        max_batch: Most responses in one ``ScoreBatch``.
        max_message_bytes: Largest request or response message.
        auth_tokens: Bearer tokens accepted (empty: no authentication).
        tls_cert: PEM certificate chain; with ``tls_key`` the server speaks TLS only.
        tls_key: PEM private key.
        session_ttl_s: An env session idle this long is closed.
        max_sessions: Open env sessions at most; ``Reset`` beyond it is refused.
        shutdown_grace_s: On SIGTERM, in-flight requests get this long to finish.
        log_format: ``json`` (one object per line) or ``text``.
        log_level: ``debug``, ``info``, ``warning`` or ``error``.
    """

    address: str = DEFAULT_ADDRESS
    metrics_address: str = "0.0.0.0:9464"
    envs: tuple[str, ...] = ()
    data_paths: dict[str, str] = field(default_factory=dict)
    math_workers: int | None = None
    math_deadline_s: float = 5.0
    sandbox_backend: str = "auto"
    sandbox_pool_size: int | None = None
    max_inflight: int = 256
    max_queue: int = 4096
    max_batch: int = 1024
    max_message_bytes: int = 64 * 1024 * 1024
    auth_tokens: tuple[str, ...] = ()
    tls_cert: str | None = None
    tls_key: str | None = None
    session_ttl_s: float = 600.0
    max_sessions: int = 1024
    shutdown_grace_s: float = 30.0
    log_format: str = "json"
    log_level: str = "info"

    def __post_init__(self) -> None:
        positive = ("max_inflight", "max_queue", "max_batch", "max_message_bytes",
                    "max_sessions", "session_ttl_s", "math_deadline_s")  # fmt: skip
        for name in positive:
            if not getattr(self, name) > 0:
                raise ConfigError(f"server config: {name} must be > 0, got {getattr(self, name)}")
        for name in ("math_workers", "sandbox_pool_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"server config: {name} must be >= 1, got {value}")
        if self.shutdown_grace_s < 0:
            raise ConfigError("server config: shutdown_grace_s must be >= 0")
        if self.sandbox_backend not in ("auto", "docker", "process"):
            raise ConfigError(
                f"server config: sandbox_backend {self.sandbox_backend!r}; "
                "use 'auto', 'docker' or 'process'"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("server config: give both tls_cert and tls_key, or neither")
        if self.log_format not in ("json", "text"):
            raise ConfigError(f"server config: log_format {self.log_format!r}; 'json' or 'text'")
        if self.log_level not in ("debug", "info", "warning", "error"):
            raise ConfigError(f"server config: log_level {self.log_level!r} is not a level")
        if any(not token for token in self.auth_tokens):
            raise ConfigError("server config: auth_tokens holds an empty token")


_TUPLES = {"envs", "auth_tokens"}


def load_config(path: str | os.PathLike[str] | None = None, **overrides: Any) -> ServerConfig:
    """The embedded defaults, then the TOML file at ``path``, then ``overrides``.

    ``RLVR_GYM_AUTH_TOKENS`` (comma-separated) adds tokens without writing them to a file.

    Raises:
        ConfigError: unreadable file, bad TOML, an unknown key or a bad value.
    """
    values: dict[str, Any] = {}
    if path is not None:
        try:
            values = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read server config {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"server config {path} is not valid TOML: {exc}") from None
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {spec.name for spec in fields(ServerConfig)}
    for key in values:
        if key not in known:
            raise ConfigError(f"server config: unknown key {key!r}{did_you_mean(key, known)}")
    for key in _TUPLES & values.keys():
        if not isinstance(values[key], list | tuple) or not all(
            isinstance(v, str) for v in values[key]
        ):
            raise ConfigError(f"server config: {key} must be a list of strings")
        values[key] = tuple(values[key])
    if env_tokens := os.environ.get("RLVR_GYM_AUTH_TOKENS", "").strip():
        extra = tuple(t.strip() for t in env_tokens.split(",") if t.strip())
        values["auth_tokens"] = tuple(values.get("auth_tokens", ())) + extra
    try:
        return replace(ServerConfig(), **values)
    except TypeError as exc:
        raise ConfigError(f"server config: {exc}") from None
