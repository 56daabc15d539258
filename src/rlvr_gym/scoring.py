"""Offline batch scoring of JSONL files: the engine behind ``rlvr-gym score`` and ``demo``.

Why a module of its own: the CLI should only parse arguments and print, while the rules
that make offline scoring trustworthy live here, where they can be tested and reused:

- **Streaming.** Input is read and scored ``batch_size`` lines at a time, so a file of a
  million responses never sits in memory at once, yet each batch is large enough for the
  reward's worker pool to stay busy.
- **One output line per input line, in input order.** Downstream joins (``paste``,
  ``zip`` in pandas) rely on line *i* of the output describing line *i* of the input.
  A line that cannot be scored — invalid JSON or UTF-8, not an object, a missing or
  non-string field, even a blank line — still yields an output line with
  ``status: "error"``, its 1-based ``line`` number and an ``error`` message, so nothing
  is silently lost and nothing aborts the run.
- **Our failures are not the model's.** If the scorer itself raises, every line of that
  batch is written with ``status: "infra_error"`` (mirroring
  :attr:`~rlvr_gym.rewards.types.Status.INFRA_ERROR`) and the run goes on; the summary
  reports it so the caller can tell bad data from a broken scorer.

Env ids map to scorers through a small registry (:func:`register_scorer`,
:func:`make_scorer`) so code environments can plug in later without touching the CLI.
"""

from __future__ import annotations

import json
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from rlvr_gym.errors import ConfigError, did_you_mean
from rlvr_gym.rewards.types import RewardResult

ERROR_STATUS = "error"
"""Status of an output line whose input line could not be scored (bad data)."""

_PIPELINE_DEPTH = 3
"""Batches in flight at once: enough to keep every worker busy while the parent reads."""

INFRA_ERROR_STATUS = "infra_error"
"""Status of an output line whose batch the scorer failed on (our fault, not the data's)."""


class BatchScorer(Protocol):
    """What the CLI needs from a reward: batch scoring, and a way to release workers."""

    def score_batch(self, responses: Sequence[str], golds: Sequence[str]) -> list[RewardResult]:
        """Score ``responses[i]`` against ``golds[i]`` for every ``i``."""
        ...

    def close(self) -> None:
        """Release worker processes; called exactly once when scoring ends."""
        ...


@dataclass(frozen=True)
class ScorerOptions:
    """Knobs the CLI passes to a scorer factory.

    Attributes:
        workers: Number of worker processes (sandbox containers for code), or ``None``
            for the reward's default.
        deadline_s: Per-response grading deadline in seconds, or ``None`` for the
            reward's default.
        data_path: The env's dataset file (code envs: where ``task_id`` is looked up).
        backend: Sandbox backend of code envs (``auto``, ``docker``, ``process``).
    """

    workers: int | None = None
    deadline_s: float | None = None
    data_path: str | None = None
    backend: str = "auto"


ScorerFactory = Callable[[ScorerOptions], BatchScorer]
"""Builds a ready-to-use scorer for one env id (workers may start here)."""


def _math_scorer(options: ScorerOptions) -> BatchScorer:
    # Imported lazily: `rlvr-gym --version` and `envs` should not pay for sympy.
    from rlvr_gym.rewards.math.config import MathConfig
    from rlvr_gym.rewards.math.reward import MathReward

    config = (
        MathConfig() if options.deadline_s is None else MathConfig(deadline_s=options.deadline_s)
    )
    return MathReward(config, workers=options.workers)


def _code_scorer(dataset: str) -> ScorerFactory:
    def factory(options: ScorerOptions) -> BatchScorer:
        from rlvr_gym.envs.code_env import load_dataset
        from rlvr_gym.rewards.code.reward import CodeReward
        from rlvr_gym.rewards.code.scorer import CodeScorer

        reward = CodeReward(backend=options.backend, pool_size=options.workers)
        return CodeScorer(reward, lambda: load_dataset(dataset, options.data_path))

    return factory


_SCORERS: dict[str, ScorerFactory] = {
    "rlvr_gym/Math-v0": _math_scorer,
    "rlvr_gym/HumanEval-v0": _code_scorer("humaneval"),
    "rlvr_gym/MBPP-v0": _code_scorer("mbpp"),
    "rlvr_gym/MBPPPlus-v0": _code_scorer("mbppplus"),
    "rlvr_gym/CodeContests-v0": _code_scorer("code_contests"),
    "rlvr_gym/Code-v0": _code_scorer("code_jsonl"),
}
CODE_ENV_IDS = frozenset(k for k in _SCORERS if k != "rlvr_gym/Math-v0")
"""Env ids whose lines name a task (``task_id``) or carry one (``task``)."""


def register_scorer(env_id: str, factory: ScorerFactory) -> None:
    """Make ``env_id`` scorable offline; later registrations replace earlier ones."""
    _SCORERS[env_id] = factory


def scorer_ids() -> list[str]:
    """Env ids that ``rlvr-gym score`` accepts, sorted."""
    return sorted(_SCORERS)


def resolve_scorer(env_id: str) -> ScorerFactory:
    """The scorer factory registered for ``env_id``.

    Raises:
        ConfigError: ``env_id`` has no scorer; the message suggests the closest id.
    """
    try:
        return _SCORERS[env_id]
    except KeyError:
        known = ", ".join(scorer_ids())
        raise ConfigError(
            f"unknown env id {env_id!r}{did_you_mean(env_id, _SCORERS)} "
            f"(scorable env ids: {known}; `rlvr-gym envs` lists them)"
        ) from None


def make_scorer(env_id: str, options: ScorerOptions | None = None) -> BatchScorer:
    """Build the scorer registered for ``env_id`` (its workers may start here).

    Raises:
        ConfigError: ``env_id`` has no scorer; the message suggests the closest id.
    """
    return resolve_scorer(env_id)(options or ScorerOptions())


@dataclass(frozen=True)
class Fields:
    """Names of the input fields holding the model response and the gold answer.

    ``alternatives`` are tried in order when ``answer`` is absent; with ``objects`` an
    object value is accepted and handed to the scorer as its JSON text (code envs: a
    line carries a ``task_id`` or an inline ``task``).
    """

    response: str = "response"
    answer: str = "answer"
    alternatives: tuple[str, ...] = ()
    objects: bool = False


@dataclass
class Summary:
    """Running totals of a scoring run, printed at the end.

    ``mean_reward`` averages over scored lines only: error lines carry no reward, and
    counting them as zero would blame the model for bad input.
    """

    count: int = 0
    scored: int = 0
    reward_sum: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    scorer_failures: int = 0
    started: float = field(default_factory=time.perf_counter)
    wall_s: float = 0.0

    def add(self, record: dict[str, Any]) -> None:
        """Count one output record."""
        self.count += 1
        status = str(record.get("status"))
        self.statuses[status] += 1
        reward = record.get("reward")
        if status not in (ERROR_STATUS, INFRA_ERROR_STATUS) and isinstance(reward, int | float):
            self.scored += 1
            self.reward_sum += float(reward)

    def finish(self) -> None:
        """Freeze the wall time."""
        self.wall_s = time.perf_counter() - self.started

    @property
    def mean_reward(self) -> float | None:
        """Mean reward over scored lines, or ``None`` when nothing was scored."""
        return self.reward_sum / self.scored if self.scored else None

    @property
    def records_per_s(self) -> float:
        """Throughput over the whole run, startup of the workers included."""
        return self.count / self.wall_s if self.wall_s > 0 else 0.0

    def format(self) -> str:
        """Human-readable multi-line summary."""
        mean = "n/a" if self.mean_reward is None else f"{self.mean_reward:.4f}"
        statuses = ", ".join(f"{k}={v}" for k, v in sorted(self.statuses.items())) or "none"
        lines = [
            f"records:     {self.count} ({self.scored} scored, "
            f"{self.statuses.get(ERROR_STATUS, 0)} bad lines)",
            f"mean reward: {mean}",
            f"statuses:    {statuses}",
            f"throughput:  {self.records_per_s:.1f} records/s",
            f"wall time:   {self.wall_s:.2f} s",
        ]
        if self.scorer_failures:
            lines.append(
                f"WARNING: the scorer failed on {self.scorer_failures} batch(es); "
                f"their lines are marked {INFRA_ERROR_STATUS!r}"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class _Pending:
    """A well-formed input line waiting for its score.

    ``text`` is the line as read, kept so the output can be the input text with the
    score fields spliced in instead of a re-serialisation of the whole record (the
    response dominates the line, and re-encoding it costs more than grading it).
    """

    record: dict[str, Any]
    response: str
    answer: str
    text: str = ""


def _error(lineno: int, message: str, record: dict[str, Any] | None = None) -> dict[str, Any]:
    out = dict(record) if record is not None else {}
    out.update({"status": ERROR_STATUS, "line": lineno, "error": message})
    return out


def parse_line(lineno: int, raw: bytes, fields: Fields) -> _Pending | dict[str, Any]:
    """Validate one raw input line: a pending score, or a finished error record."""
    try:
        text = raw.rstrip(b"\r\n").decode("utf-8")
    except UnicodeDecodeError as exc:
        return _error(lineno, f"line is not valid UTF-8 ({exc.reason} at byte {exc.start})")
    if not text.strip():
        return _error(lineno, "blank line (expected a JSON object)")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return _error(lineno, f"invalid JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(obj, dict):
        return _error(lineno, f"expected a JSON object, got {type(obj).__name__}")
    answer = next((n for n in (fields.answer, *fields.alternatives) if n in obj), fields.answer)
    values: list[str] = []
    for name in (fields.response, answer):
        if name not in obj:
            if name == fields.response:
                return _error(
                    lineno, f"missing field {name!r} (choose another with --response-field)", obj
                )
            names = " or ".join(repr(n) for n in (fields.answer, *fields.alternatives))
            return _error(
                lineno, f"missing field {names} (choose another with --answer-field)", obj
            )
        value = obj[name]
        if fields.objects and name == answer and isinstance(value, dict):
            value = json.dumps(value)
        if not isinstance(value, str):
            return _error(
                lineno,
                f"field {name!r} must be a string, got {type(value).__name__} "
                f"{json.dumps(value)[:40]} (quote it in the input)",
                obj,
            )
        values.append(value)
    return _Pending(obj, values[0], values[1], text)


def _score_pending(
    scorer: BatchScorer, slots: Sequence[_Pending | dict[str, Any]]
) -> tuple[list[RewardResult] | None, str]:
    """Score the well-formed lines of a batch; ``(None, why)`` if the scorer failed."""
    pending = [s for s in slots if isinstance(s, _Pending)]
    if not pending:
        return [], ""
    try:
        results = scorer.score_batch([p.response for p in pending], [p.answer for p in pending])
    except Exception as exc:  # any scorer bug must not lose lines
        return None, f"scorer failed: {type(exc).__name__}: {exc}"
    if len(results) != len(pending):
        return None, f"scorer returned {len(results)} results for {len(pending)} inputs"
    return results, ""


def _outcomes(
    lines: Sequence[tuple[int, bytes]],
    slots: Sequence[_Pending | dict[str, Any]],
    results: list[RewardResult] | None,
    failure: str,
) -> list[tuple[_Pending | None, dict[str, Any]]]:
    """Per input line, in order: the pending line (None for a bad line) and its fields.

    For a scored line the fields are the score to add to its record; for a bad line
    they are the whole error record.
    """
    scored = iter(results or [])
    out: list[tuple[_Pending | None, dict[str, Any]]] = []
    for (lineno, _), slot in zip(lines, slots, strict=True):
        if not isinstance(slot, _Pending):
            out.append((None, slot))
        elif results is None:
            out.append((slot, {"status": INFRA_ERROR_STATUS, "line": lineno, "error": failure}))
        else:
            out.append((slot, next(scored).to_dict()))
    return out


def _merge(
    lines: Sequence[tuple[int, bytes]],
    slots: Sequence[_Pending | dict[str, Any]],
    results: list[RewardResult] | None,
    failure: str,
) -> list[dict[str, Any]]:
    """One output record per input line, in input order."""
    return [
        {**p.record, **fields} if p is not None else fields
        for p, fields in _outcomes(lines, slots, results, failure)
    ]


def score_lines(
    scorer: BatchScorer, lines: Sequence[tuple[int, bytes]], fields: Fields
) -> tuple[list[dict[str, Any]], bool]:
    """Score one batch of numbered raw lines.

    Returns:
        One output record per input line, in input order, and whether the scorer
        itself failed on this batch.
    """
    slots = [parse_line(n, raw, fields) for n, raw in lines]
    results, failure = _score_pending(scorer, slots)
    return _merge(lines, slots, results, failure), bool(failure)


def iter_batches(stream: IO[bytes], batch_size: int) -> Iterator[list[tuple[int, bytes]]]:
    """Yield lists of up to ``batch_size`` ``(1-based line number, raw line)`` pairs.

    Raw lines keep their terminator so byte counts (for progress) stay exact.
    """
    batch: list[tuple[int, bytes]] = []
    for lineno, raw in enumerate(stream, start=1):
        batch.append((lineno, raw))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def dump_scored(pending: _Pending, scores: dict[str, Any]) -> bytes:
    """The output line of a scored input: its own text with ``scores`` appended.

    Falls back to re-serialising the merged record when the input already has one of
    the score keys (so no JSON object ever carries a duplicate key).
    """
    body = pending.text.rstrip()
    if body.endswith("}") and not scores.keys() & pending.record.keys():
        extra = json.dumps(scores, ensure_ascii=False)[1:]
        sep = ", " if pending.record else ""
        return (body[:-1].rstrip() + sep + extra + "\n").encode("utf-8")
    return dump({**pending.record, **scores})


def dump(record: dict[str, Any]) -> bytes:
    """One JSONL output line (UTF-8, newline-terminated)."""
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def score_stream(
    scorer: BatchScorer,
    source: IO[bytes],
    sink: IO[bytes],
    *,
    fields: Fields = Fields(),
    batch_size: int = 512,
    on_batch: Callable[[int, int], None] | None = None,
) -> Summary:
    """Score a JSONL byte stream into a JSONL byte stream, one batch at a time.

    Args:
        scorer: The batch scorer (not closed here).
        source: Input lines, one JSON object each.
        sink: Where output lines go; flushed after every batch so a crash of the
            caller loses at most the batch in flight.
        fields: Input field names.
        batch_size: Lines read and scored together.
        on_batch: Progress hook called with ``(lines, bytes)`` after each batch.

    Returns:
        The run's summary (wall time frozen).
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    summary = Summary()
    # Pipelined: while the workers grade batch k, this thread parses batch k+1 and
    # writes batch k-1, so the parent's JSON work does not leave the workers idle.
    inflight: deque[tuple[list[tuple[int, bytes]], list[Any], Future[Any]]] = deque()

    def drain_one() -> None:
        batch, slots, fut = inflight.popleft()
        results, failure = fut.result()
        outcomes = _outcomes(batch, slots, results, failure)
        summary.scorer_failures += bool(failure)
        sink.write(b"".join(dump_scored(p, f) if p else dump(f) for p, f in outcomes))
        sink.flush()
        for _, fields in outcomes:
            summary.add(fields)
        if on_batch is not None:
            on_batch(len(batch), sum(len(raw) for _, raw in batch))

    line_job = getattr(scorer, "line_job", None)
    if callable(line_job):
        _score_offloaded(line_job(), source, sink, fields, batch_size, summary, on_batch)
        summary.finish()
        return summary
    with ThreadPoolExecutor(max_workers=_PIPELINE_DEPTH, thread_name_prefix="score") as ex:
        for batch in iter_batches(source, batch_size):
            slots = [parse_line(n, raw, fields) for n, raw in batch]
            inflight.append((batch, slots, ex.submit(_score_pending, scorer, slots)))
            if len(inflight) >= _PIPELINE_DEPTH:
                drain_one()
        while inflight:
            drain_one()
    summary.finish()
    return summary


def _score_offloaded(
    job: Any,
    source: IO[bytes],
    sink: IO[bytes],
    fields: Fields,
    batch_size: int,
    summary: Summary,
    on_batch: Callable[[int, int], None] | None,
) -> None:
    """Pipelined scoring where workers parse and encode lines (see scoring_offload)."""
    from rlvr_gym.scoring_offload import score_raw_batch

    inflight: deque[tuple[list[tuple[int, bytes]], Future[Any]]] = deque()

    def drain_one() -> None:
        batch, fut = inflight.popleft()
        outcomes = fut.result()
        sink.write(b"".join(line for line, _ in outcomes))
        sink.flush()
        for _, counted in outcomes:
            summary.add(counted)
        if on_batch is not None:
            on_batch(len(batch), sum(len(raw) for _, raw in batch))

    with ThreadPoolExecutor(max_workers=_PIPELINE_DEPTH, thread_name_prefix="score") as ex:
        for batch in iter_batches(source, batch_size):
            inflight.append((batch, ex.submit(score_raw_batch, job, batch, fields)))
            if len(inflight) >= _PIPELINE_DEPTH:
                drain_one()
        while inflight:
            drain_one()
