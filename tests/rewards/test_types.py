"""RewardResult: frozen, and the same after crossing a process boundary (pickle)."""

from __future__ import annotations

import pickle

import pytest

from rlvr_gym.rewards.types import RewardResult, Status


@pytest.mark.parametrize("status", list(Status))
def test_pickle_round_trip_keeps_every_field(status: Status) -> None:
    result = RewardResult(0.5, status, "x", {"accuracy": 0.5, "format": 1.0}, "why")
    back = pickle.loads(pickle.dumps(result))
    assert back == result
    assert back.status is status
    with pytest.raises(TypeError):
        back.components["accuracy"] = 1.0  # type: ignore[index]
    with pytest.raises(AttributeError):
        back.reward = 1.0  # type: ignore[misc]


def test_a_pickle_with_an_unknown_status_is_refused() -> None:
    data = pickle.dumps(RewardResult(1.0, Status.CORRECT)).replace(b"correct", b"amazing")
    with pytest.raises(ValueError, match="amazing"):
        pickle.loads(data)


def test_a_status_given_as_text_becomes_the_enum() -> None:
    assert RewardResult(1.0, "correct").status is Status.CORRECT  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        RewardResult(1.0, "amazing")  # type: ignore[arg-type]


def test_unchecked_takes_the_components_it_is_given() -> None:
    result = RewardResult.unchecked(1.0, Status.CORRECT, "1", {"accuracy": 1.0}, "")
    assert result == RewardResult(1.0, Status.CORRECT, "1", {"accuracy": 1.0}, "")
    with pytest.raises(TypeError):
        result.components["accuracy"] = 0.0  # type: ignore[index]
