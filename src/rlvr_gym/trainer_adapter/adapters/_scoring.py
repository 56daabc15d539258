"""What the adapters share: one scorer, in-process or through the reward service.

Why one module: the adapters differ only in the call shape their framework fixes. What a
task is, which failures are masked and how a dead service is reported must not differ
between them, or the same run would be graded differently under TRL and verl.

Masking, for every adapter: a result is *masked* when its status is ``infra_error`` or
``timeout``; nobody computed that reward, so it must not be trained on as a zero. Remote
failures split by what a retry could fix:

- transient ones left after the client's own jittered retries (``UNAVAILABLE``,
  ``RESOURCE_EXHAUSTED``, ``DEADLINE_EXCEEDED``, ``INTERNAL``, ``UNKNOWN``, ``CANCELLED``,
  ``ABORTED``) mask the whole batch and log a warning, so training rides out a server
  restart instead of crashing hours in;
- refusals no retry can fix (``INVALID_ARGUMENT``, ``NOT_FOUND``, ``UNAUTHENTICATED``,
  ``PERMISSION_DENIED``, ``FAILED_PRECONDITION``, ...) raise
  :class:`~rlvr_gym.server.client.RemoteError`: a misconfigured run should stop at step
  one, not train for days on masked batches.

A task the adapter cannot build (an empty gold, a malformed inline code task) masks that
one sample and logs why, as ``rlvr-gym score`` does: the response is not at fault.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rlvr_gym.errors import ConfigError, RlvrGymError
from rlvr_gym.rewards.format import FormatConfig, format_reward
from rlvr_gym.rewards.types import RewardResult, Status

if TYPE_CHECKING:
    from rlvr_gym.scoring import BatchScorer
    from rlvr_gym.server.client import RewardClient
    from rlvr_gym.server.convert import TaskRef

__all__ = [
    "CODE_ENV_ID",
    "MASKED",
    "MATH_ENV_ID",
    "PROCESS",
    "Scorer",
    "Settings",
    "is_masked",
    "plain",
    "with_format",
]

MATH_ENV_ID = "rlvr_gym/Math-v0"
CODE_ENV_ID = "rlvr_gym/Code-v0"
MASKED = frozenset({Status.INFRA_ERROR, Status.TIMEOUT})
"""Statuses whose reward was never computed: masked, never trained on as a zero."""

_TRANSIENT = frozenset(
    {"UNAVAILABLE", "RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED", "INTERNAL", "UNKNOWN",
     "CANCELLED", "ABORTED"}
)  # fmt: skip
_LOCAL_OPTIONS = ("workers", "deadline_s", "data_path", "backend")
_REMOTE_OPTIONS = ("timeout_s", "retry", "tls", "max_message_bytes", "load_balancing")

log = logging.getLogger("rlvr_gym.trainer_adapter.adapters")


def is_masked(result: RewardResult) -> bool:
    """True when ``result``'s reward was not computed (``infra_error`` or ``timeout``)."""
    return result.status in MASKED


def _bad_task(why: str) -> RewardResult:
    return RewardResult(0.0, Status.INFRA_ERROR, None, {}, f"bad task: {why}")


def plain(value: Any) -> Any:
    """``value`` with numpy arrays and scalars turned into lists and Python numbers.

    Why: parquet columns read through pandas (verl's datasets) hold lists as numpy
    arrays, which the strict ``Code-v0`` task schema rightly rejects.
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and not isinstance(value, str | bytes):
        return plain(tolist())
    return value


def with_format(result: RewardResult, response: str, weight: float) -> float:
    """``result``'s reward plus ``weight`` times the R1 format reward of ``response``."""
    if weight == 0:
        return result.reward
    return result.reward + weight * format_reward(response, FormatConfig()).reward


def _gold_text(env_id: str, gold: Any) -> str:
    """A gold as the local scorers take it: a math answer, a task id or a task's JSON."""
    if isinstance(gold, Mapping):
        return json.dumps(plain(gold))
    if env_id != MATH_ENV_ID and not isinstance(gold, str):
        raise ConfigError(
            f"code tasks are given as a task id or a Code-v0 task (dict or JSON text), "
            f"got {type(gold).__name__}"
        )
    return str(gold)


def _task_ref(env_id: str, gold: Any) -> TaskRef:
    """A gold as the reward service takes it: ``MathGold``, ``TaskId`` or a ``CodeTask``."""
    from rlvr_gym.rewards.code.datasets import parse_code_task
    from rlvr_gym.rewards.code.tasks import CodeTask
    from rlvr_gym.server.convert import MathGold, TaskId

    if isinstance(gold, MathGold | TaskId | CodeTask):
        return gold
    if isinstance(gold, Mapping):
        return parse_code_task(plain(gold))
    text = str(gold)
    if env_id == MATH_ENV_ID:
        return MathGold(text)
    if text.lstrip().startswith("{"):
        return parse_code_task(json.loads(text))
    return TaskId(text)


def _release(local: dict[str, BatchScorer], clients: list[RewardClient]) -> None:
    """Close every live backend (worker pools, sandboxes, channels); never raises."""
    backends: list[BatchScorer | RewardClient] = [*local.values(), *clients]
    for backend in backends:
        try:
            backend.close()
        except Exception:  # closing at exit must not mask the real error
            log.debug("closing %r failed", backend, exc_info=True)
    local.clear()
    clients.clear()


class Scorer:
    """Scores responses against golds for an env id, in-process or on a reward server.

    Backends start on first use (a worker pool or sandbox per env id, or one gRPC
    channel), so building reward functions costs nothing and a pickled copy (Ray,
    multiprocessing) starts its own. Thread-safe. Closed by :meth:`close`, or at exit.

    Args:
        remote: ``host:port``, a list of them (round robin), or a gRPC target such as
            ``dns:///name:port``; ``None`` grades in this process.
        token: bearer token for the server.
        **options: local: ``workers``, ``deadline_s``, ``data_path``, ``backend`` (see
            :class:`~rlvr_gym.scoring.ScorerOptions`); remote: ``timeout_s``, ``retry``,
            ``tls``, ``max_message_bytes``, ``load_balancing`` (see
            :class:`~rlvr_gym.server.client.RewardClient`).

    Raises:
        ConfigError: an option that does not apply where the scoring happens.
    """

    def __init__(
        self, remote: str | Sequence[str] | None = None, *, token: str | None = None, **options: Any
    ) -> None:
        if remote is not None and not remote:
            raise ConfigError("remote is empty: give HOST:PORT (or several), or None to score here")
        allowed = _LOCAL_OPTIONS if remote is None else _REMOTE_OPTIONS
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            where = "local scoring" if remote is None else "remote scoring"
            raise ConfigError(
                f"unknown option(s) {', '.join(unknown)} for {where}; use {', '.join(allowed)}"
            )
        self.remote: str | list[str] | None = (
            remote if remote is None or isinstance(remote, str) else list(remote)
        )
        self.token = token
        self.options = dict(options)
        self._start()

    def _start(self) -> None:
        self._lock = threading.Lock()
        self._local: dict[str, BatchScorer] = {}
        self._clients: list[RewardClient] = []
        self._finalizer = weakref.finalize(self, _release, self._local, self._clients)

    def __getstate__(self) -> dict[str, Any]:
        return {"remote": self.remote, "token": self.token, "options": self.options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.remote, self.token, self.options = state["remote"], state["token"], state["options"]
        self._start()

    def score(
        self, env_id: str, golds: Sequence[Any], responses: Sequence[str]
    ) -> list[RewardResult]:
        """One result per response; failures on our side come back masked, never raised.

        Raises:
            ConfigError: ``golds`` and ``responses`` differ in length, or an unknown env id.
            RemoteError: the server refused the batch for a reason no retry can fix.
        """
        if len(golds) != len(responses):
            raise ConfigError(f"got {len(responses)} responses but {len(golds)} golds/tasks")
        out: list[RewardResult | None] = [None] * len(responses)
        todo: list[tuple[int, Any]] = []
        for i, gold in enumerate(golds):
            try:
                task = self._task(env_id, gold)
            except (RlvrGymError, ValueError) as exc:
                log.warning("masking sample %d of %s: unusable task: %s", i, env_id, exc)
                out[i] = _bad_task(str(exc))
            else:
                todo.append((i, task))
        if todo:
            chosen = [responses[i] for i, _ in todo]
            tasks = [t for _, t in todo]
            scored = (
                self._remote(env_id, tasks, chosen)
                if self.remote
                else self._here(env_id, tasks, chosen)
            )
            for (i, _), result in zip(todo, scored):
                out[i] = result
        return [r if r is not None else _bad_task("not scored") for r in out]

    def _task(self, env_id: str, gold: Any) -> Any:
        if gold is None or (isinstance(gold, str) and not gold.strip()):
            raise ConfigError("empty gold answer or task id")
        return _task_ref(env_id, gold) if self.remote else _gold_text(env_id, gold)

    def _here(self, env_id: str, golds: list[str], responses: list[str]) -> list[RewardResult]:
        with self._lock:
            scorer = self._local.get(env_id)
            if scorer is None:
                from rlvr_gym.scoring import ScorerOptions, resolve_scorer

                scorer = resolve_scorer(env_id)(ScorerOptions(**self.options))
                self._local[env_id] = scorer
        return scorer.score_batch(responses, golds)

    def _remote(
        self, env_id: str, tasks: list[TaskRef], responses: list[str]
    ) -> list[RewardResult]:
        from rlvr_gym.server.client import RemoteError, RewardClient

        with self._lock:
            if not self._clients:
                assert self.remote is not None
                self._clients.append(RewardClient(self.remote, token=self.token, **self.options))
            client = self._clients[0]
        try:
            return client.score_batch(env_id, tasks, responses)
        except RemoteError as exc:
            if exc.code.name not in _TRANSIENT:
                raise
            log.warning("reward service failed after retries; masking %d samples: %s",
                        len(responses), exc)  # fmt: skip
            failed = RewardResult(0.0, Status.INFRA_ERROR, None, {}, f"reward service: {exc}")
            return [failed] * len(responses)

    def close(self) -> None:
        """Close worker pools, sandboxes and channels; idempotent (next use restarts them)."""
        with self._lock:
            _release(self._local, self._clients)


@dataclass(frozen=True)
class Settings:
    """How the fixed-signature adapters (verl, OpenRLHF) score in this process.

    Attributes:
        remote: reward server (``host:port``, several, or a gRPC target); ``None``: local.
        token: bearer token for the server.
        env_id: env to grade with; ``None`` lets the adapter choose (verl: by
            ``data_source``; OpenRLHF: math).
        format_weight: weight of the R1 format reward added to accuracy (0: none).
        options: backend options, as :class:`Scorer` takes them.
    """

    remote: str | tuple[str, ...] | None = None
    token: str | None = None
    env_id: str | None = None
    format_weight: float = 0.0
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from the environment variables of this process.

        ``RLVR_GYM_REMOTE`` (``host:port``, comma-separated for several),
        ``RLVR_GYM_TOKEN``, ``RLVR_GYM_ENV`` and ``RLVR_GYM_FORMAT_WEIGHT``.

        Why environment variables: verl and OpenRLHF call the reward in worker processes
        (Ray actors) that inherit the environment but not the driver's Python state.

        Raises:
            ConfigError: ``RLVR_GYM_FORMAT_WEIGHT`` is not a number.
        """
        text = os.environ.get("RLVR_GYM_REMOTE", "").strip()
        remote: str | tuple[str, ...] | None = text or None
        if "," in text:
            remote = tuple(a.strip() for a in text.split(",") if a.strip())
        raw = os.environ.get("RLVR_GYM_FORMAT_WEIGHT", "").strip()
        try:
            weight = float(raw) if raw else 0.0
        except ValueError:
            raise ConfigError(f"RLVR_GYM_FORMAT_WEIGHT={raw!r} is not a number") from None
        return cls(remote=remote, token=os.environ.get("RLVR_GYM_TOKEN") or None,
                   env_id=os.environ.get("RLVR_GYM_ENV") or None, format_weight=weight)  # fmt: skip


class _Process:
    """The one scorer of a process, for adapters whose call signature has no room for one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._configured: Settings | None = None
        self._scorer: Scorer | None = None
        self._key: tuple[Any, ...] | None = None

    def configure(self, settings: Settings | None) -> None:
        """Use ``settings`` from now on (``None``: back to the environment variables)."""
        with self._lock:
            self._configured = settings
        self.close()

    def settings(self, **overrides: Any) -> Settings:
        """The configured settings (or the environment's), with per-call ``overrides``."""
        base = self._configured or Settings.from_env()
        known = {k: v for k, v in overrides.items() if k in ("remote", "token", "env_id",
                                                              "format_weight")}  # fmt: skip
        if not known:
            return base
        from dataclasses import replace

        if isinstance(known.get("remote"), list):
            known["remote"] = tuple(known["remote"])
        return replace(base, **known)

    def scorer(self, settings: Settings) -> Scorer:
        """The process's scorer for ``settings``; replaced (old one closed) when they change."""
        key = (settings.remote, settings.token, sorted(settings.options.items()))
        old = None
        with self._lock:
            if self._scorer is None or self._key != key:
                old, self._key = self._scorer, key
                self._scorer = Scorer(settings.remote, token=settings.token, **settings.options)
            scorer = self._scorer
        if old is not None:
            old.close()
        return scorer

    def close(self) -> None:
        """Close the scorer; the next call starts a new one."""
        with self._lock:
            scorer, self._scorer, self._key = self._scorer, None, None
        if scorer is not None:
            scorer.close()


PROCESS = _Process()
"""The process-wide scorer shared by the verl and OpenRLHF adapters."""
atexit.register(PROCESS.close)
