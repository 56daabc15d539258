"""A batch's scores as columns (``ScoreColumns``), the compact form of a ``ScoreBatch`` reply.

Why a second form: one ``Score`` message per response costs the server a message to
build and encode and the client one to decode and walk, about 2.5 µs per response between
them. For cheap grading (a cached math answer takes tens of µs) that is a visible share
of the whole service, and a trainer wants the rewards as an array anyway. As columns,
rewards and statuses travel as packed arrays and every column is filled or read in one
call. Components are sent once per distinct set (a batch has a handful), and the scores
decoded from them share one read-only mapping per set.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from types import MappingProxyType

from rlvr_gym.errors import DataError
from rlvr_gym.proto.v1 import reward_service_pb2 as rpb
from rlvr_gym.rewards.types import RewardResult
from rlvr_gym.server.convert import STATUS_FROM_PROTO, STATUS_TO_PROTO, unknown_status

__all__ = ["columns_to_proto", "results_from_columns"]

_REWARD = attrgetter("reward")
_DETAIL = attrgetter("detail")


def _components_of(result: RewardResult) -> tuple[tuple[str, float], ...]:
    """The result's components as a hashable key (equal components, equal keys)."""
    return tuple(result.components.items())


def columns_to_proto(
    results: Sequence[RewardResult],
    into: rpb.ScoreColumns,
    queue_ms: float = 0.0,
    grading_ms: float = 0.0,
) -> None:
    """Write ``results`` into ``into``, a fresh ``ScoreColumns``; the batch's timing once."""
    to_proto = STATUS_TO_PROTO
    into.reward.extend(map(_REWARD, results))
    into.status.extend([to_proto[r.status] for r in results])
    into.extracted.extend([r.extracted or "" for r in results])
    into.detail.extend(map(_DETAIL, results))
    sets: dict[tuple[tuple[str, float], ...], int] = {}
    into.component_set.extend([sets.setdefault(k, len(sets)) for k in map(_components_of, results)])
    names: dict[str, int] = {}
    index: list[int] = []
    values: list[float] = []
    for components in sets:  # each distinct set once
        for name, value in components:
            index.append(names.setdefault(name, len(names)))
            values.append(value)
    into.component_names.extend(names)
    into.component_count.extend(map(len, sets))
    into.component_name.extend(index)
    into.component_value.extend(values)
    into.timing.queue_ms = queue_ms
    into.timing.grading_ms = grading_ms


def results_from_columns(columns: rpb.ScoreColumns) -> list[RewardResult]:
    """The reward results in ``columns``; an unknown status is ``infra_error``.

    Raises:
        DataError: the columns disagree in length, or an index (component set or name)
            is out of range: a broken server, better refused than misread as rewards.
    """
    rewards = list(columns.reward)
    statuses = list(columns.status)
    extracted = list(columns.extracted)
    details = list(columns.detail)
    sets = _component_sets(columns)
    try:
        components = [sets[j] for j in columns.component_set]
    except IndexError:
        raise DataError(f"score columns: a component_set beyond the {len(sets)} sets") from None
    n = len(rewards)
    if not len(statuses) == len(extracted) == len(details) == len(components) == n:
        lengths = f"{n}/{len(statuses)}/{len(extracted)}/{len(details)}/{len(components)}"
        raise DataError(f"score columns of unequal lengths (reward/status/extracted/detail/"
                        f"component_set: {lengths})")  # fmt: skip
    status_of, unchecked = STATUS_FROM_PROTO, RewardResult.unchecked
    out: list[RewardResult] = []
    append = out.append
    for reward, code, answer, detail, shared in zip(
        rewards, statuses, extracted, details, components
    ):
        status = status_of.get(code)
        if status is None:
            append(unknown_status(code, detail))
        else:
            append(unchecked(reward, status, answer or None, shared, detail))
    return out


def _component_sets(columns: rpb.ScoreColumns) -> list[MappingProxyType[str, float]]:
    """The batch's distinct component sets, each a read-only mapping its scores share.

    Why shared: a trainer's process holds a large heap, and one dict and proxy per
    response (most of them equal) cost far more in garbage collection than in building.
    """
    names = list(columns.component_names)
    values = list(columns.component_value)
    try:
        keys = [names[i] for i in columns.component_name]
    except IndexError:
        msg = f"score columns: a component_name index beyond the {len(names)} names"
        raise DataError(msg) from None
    counts = list(columns.component_count)
    if len(keys) != len(values) or sum(counts) != len(values):
        raise DataError(
            f"score columns: {sum(counts)} components counted, {len(keys)} names, "
            f"{len(values)} values"
        )
    sets = []
    at = 0
    for count in counts:
        sets.append(MappingProxyType(dict(zip(keys[at : at + count], values[at : at + count]))))
        at += count
    return sets
