"""UnicodeText: any str within bounds is contained; samples are printable and seeded."""

from __future__ import annotations

import gymnasium as gym
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlvr_gym.envs.spaces import SAMPLE_ALPHABET, UnicodeText
from rlvr_gym.errors import ConfigError


@given(st.text(max_size=50))
def test_contains_any_unicode_within_bounds(text: str) -> None:
    assert text in UnicodeText(max_length=50)
    assert (text in UnicodeText(max_length=50, min_length=10)) == (len(text) >= 10)


@pytest.mark.parametrize("value", [None, 42, b"bytes", ["a"], "x" * 11])
def test_rejects_non_strings_and_overlong(value: object) -> None:
    assert value not in UnicodeText(max_length=10)


def test_text_space_would_reject_real_prompts() -> None:
    # Why UnicodeText exists: Gymnasium's Text refuses characters outside its charset.
    prompt = "Janet’s ducks lay 16 eggs"
    assert prompt not in gym.spaces.Text(max_length=100)
    assert prompt in UnicodeText(max_length=100)


@given(st.integers(0, 2**32))
def test_samples_are_members_and_seeded(seed: int) -> None:
    space = UnicodeText(max_length=300, min_length=2, seed=seed)
    samples = [space.sample() for _ in range(5)]
    assert all(s in space and set(s) <= set(SAMPLE_ALPHABET) for s in samples)
    assert all(len(s) <= space.sample_max_length for s in samples)
    again = UnicodeText(max_length=300, min_length=2, seed=seed)
    assert [again.sample() for _ in range(5)] == samples


def test_sample_length_mask() -> None:
    space = UnicodeText(max_length=20, seed=0)
    assert len(space.sample(mask=(7, None))) == 7
    assert len(space.sample(probability=(0, None))) == 0
    with pytest.raises(ConfigError, match="character masks"):
        space.sample(mask=(3, [1, 0]))
    with pytest.raises(ConfigError, match="outside"):
        space.sample(mask=(21, None))
    with pytest.raises(ConfigError, match="at most one"):
        space.sample(mask=(1, None), probability=(1, None))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_length": -1},
        {"max_length": 3, "min_length": 4},
        {"max_length": 2.5},
        {"max_length": True},
    ],
)
def test_bad_bounds(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        UnicodeText(**kwargs)  # type: ignore[arg-type]


def test_equality_and_repr() -> None:
    assert UnicodeText(5) == UnicodeText(5)
    assert UnicodeText(5) != UnicodeText(6)
    assert UnicodeText(5) != gym.spaces.Text(5)
    assert repr(UnicodeText(5, min_length=1)) == "UnicodeText(1, 5)"
    assert not UnicodeText(5).is_np_flattenable
