"""Offloaded JSONL scoring: workers parse, grade and encode whole lines.

Why: a math response is graded in ~50 µs, while decoding its JSON line and encoding
the output line costs the parent ~15 µs. Done in the parent, that work caps
``rlvr-gym score`` at roughly one core however many workers there are. A scorer that
offers a :class:`LineJob` lets each worker take raw lines and hand back finished output
lines, so the parent only reads, writes and keeps the summary. Lines the pool could
not grade (deadline, crashed worker) are parsed and answered in the parent, with the
scorer's own timeout / infra-error result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rlvr_gym.rewards.pool import TaskFailed, TaskTimeout, WorkerPool
from rlvr_gym.rewards.types import RewardResult
from rlvr_gym.scoring import ERROR_STATUS, Fields, _Pending, dump, dump_scored, parse_line

Grade = Callable[[str, str], RewardResult]
"""Picklable ``(response, gold) -> RewardResult`` run inside a worker."""

LineOutcome = tuple[bytes, dict[str, Any]]
"""An output line and the fields the summary counts (``status``, ``reward``)."""


@dataclass(frozen=True)
class LineJob:
    """What a scorer lends the offloaded path: its pool, grader and failure mapping."""

    pool: WorkerPool
    grade: Grade
    deadline_s: float
    on_failure: Callable[[TaskTimeout | TaskFailed], RewardResult]


class OffloadableScorer(Protocol):
    """A batch scorer that can also grade raw lines inside its workers."""

    def line_job(self) -> LineJob:
        """The pool, picklable grader, deadline and failure mapping to use."""
        ...


def score_line(item: tuple[int, bytes, Fields, Grade]) -> tuple[bytes, str, float | None]:
    """Worker entry point: one raw input line to ``(output line, status, reward)``."""
    lineno, raw, fields, grade = item
    slot = parse_line(lineno, raw, fields)
    if not isinstance(slot, _Pending):
        return dump(slot), ERROR_STATUS, None
    scores = grade(slot.response, slot.answer).to_dict()
    return dump_scored(slot, scores), scores["status"], scores["reward"]


def score_raw_batch(
    job: LineJob, batch: Sequence[tuple[int, bytes]], fields: Fields
) -> list[LineOutcome]:
    """Score a batch of numbered raw lines in the workers; output in input order."""
    items = [(lineno, raw, fields, job.grade) for lineno, raw in batch]
    done = job.pool.map(score_line, items, deadline_s=job.deadline_s)
    out: list[LineOutcome] = []
    for (lineno, raw), outcome in zip(batch, done, strict=True):
        if isinstance(outcome, tuple):
            line, status, reward = outcome
            out.append((line, {"status": status, "reward": reward}))
            continue
        slot = parse_line(lineno, raw, fields)  # rare: the worker could not finish it
        if not isinstance(slot, _Pending):
            out.append((dump(slot), slot))
            continue
        scores = job.on_failure(outcome).to_dict()
        out.append((dump_scored(slot, scores), scores))
    return out
