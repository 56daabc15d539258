"""A Gymnasium space of arbitrary Unicode strings.

Why not :class:`gymnasium.spaces.Text`: ``Text`` is defined by an explicit character set
and ``contains`` rejects any character outside it. Problem statements and model
responses are open-ended Unicode (``’``, ``π``, ``≤``, CJK, emoji), so no finite
charset covers them, and a charset of every code point would make ``Text`` build a
million-entry index and print a million-character ``repr``. :class:`UnicodeText` accepts
any ``str`` within the length bounds and samples printable text, which is all an RL loop
or :func:`gymnasium.utils.env_checker.check_env` needs from a text space.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium.spaces import Space
from gymnasium.vector.utils import create_empty_array

from rlvr_gym.errors import ConfigError

# Sampling alphabet: printable ASCII plus the non-ASCII symbols that actually occur in
# math text, so sampled strings exercise the same code paths as real responses.
_EXTRA_SAMPLE_CHARS = "’“”–—…×÷±≤≥≠≈∞√∑∫πθαβγδλμσφω°²³½¼¾€£"
SAMPLE_ALPHABET: str = "".join(chr(c) for c in range(0x20, 0x7F)) + "\n\t" + _EXTRA_SAMPLE_CHARS


class UnicodeText(Space[str]):
    """Any Python ``str`` whose length lies in ``[min_length, max_length]``.

    ``sample`` draws from :data:`SAMPLE_ALPHABET` (printable ASCII, newline, tab and
    common math symbols) with a length uniform in ``[min_length, min(max_length,
    sample_max_length)]``. Sampling is capped because random actions exist for smoke
    tests and checkers: a 100k-character random "response" only slows the grader down
    without exercising anything new.

    Example:
        >>> space = UnicodeText(max_length=10, seed=0)
        >>> "π ≈ 3.14" in space
        True
        >>> "x" * 11 in space
        False
    """

    def __init__(
        self,
        max_length: int,
        *,
        min_length: int = 0,
        sample_max_length: int = 256,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        """Create the space.

        Args:
            max_length: Longest string in the space (inclusive).
            min_length: Shortest string in the space (inclusive).
            sample_max_length: Longest string ``sample`` draws (see class docstring).
            seed: Seed or generator for ``sample``.

        Raises:
            ConfigError: If the bounds are negative or inconsistent.
        """
        for label, value in (
            ("max_length", max_length),
            ("min_length", min_length),
            ("sample_max_length", sample_max_length),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ConfigError(f"{label} must be an int, got {type(value).__name__}")
            if value < 0:
                raise ConfigError(f"{label} must be >= 0, got {value}")
        if min_length > max_length:
            raise ConfigError(
                f"min_length ({min_length}) is greater than max_length ({max_length}); "
                "swap them or widen max_length"
            )
        self.min_length = int(min_length)
        self.max_length = int(max_length)
        self.sample_max_length = max(int(sample_max_length), self.min_length)
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        """Unbounded alphabets have no fixed-size numeric encoding."""
        return False

    def contains(self, x: Any) -> bool:
        """Return True for any ``str`` within the length bounds."""
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def sample(self, mask: Any | None = None, probability: Any | None = None) -> str:
        """Draw a random printable string.

        Args:
            mask: Optional ``(length, None)`` tuple fixing the length, mirroring
                :class:`gymnasium.spaces.Text`. Character masks are not supported because
                the alphabet is not enumerable.
            probability: Same form and meaning as ``mask``.

        Returns:
            A string contained in this space.

        Raises:
            ConfigError: If both masks are given, a character mask is given, or the
                requested length is out of bounds.
        """
        if mask is not None and probability is not None:
            raise ConfigError("pass at most one of mask and probability")
        chosen = mask if mask is not None else probability
        length: int | None = None
        if chosen is not None:
            if not (isinstance(chosen, tuple) and len(chosen) == 2):
                raise ConfigError(f"mask must be a (length, None) tuple, got {chosen!r}")
            raw_length, char_mask = chosen
            if char_mask is not None:
                raise ConfigError(
                    "UnicodeText has no enumerable charset, so character masks are not "
                    "supported; pass (length, None)"
                )
            if raw_length is not None:
                length = int(raw_length)
                if not self.min_length <= length <= self.max_length:
                    raise ConfigError(
                        f"sample length {length} is outside [{self.min_length}, {self.max_length}]"
                    )
        if length is None:
            upper = min(self.max_length, self.sample_max_length)
            length = int(self.np_random.integers(self.min_length, upper + 1))
        picks = self.np_random.integers(0, len(SAMPLE_ALPHABET), size=length)
        return "".join(SAMPLE_ALPHABET[i] for i in picks)

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, UnicodeText)
            and self.min_length == other.min_length
            and self.max_length == other.max_length
        )

    def __hash__(self) -> int:
        return hash((UnicodeText, self.min_length, self.max_length))


def _empty_text_batch(
    space: UnicodeText, n: int = 1, fn: Callable[..., Any] = np.zeros
) -> tuple[str, ...]:
    # Vector envs pre-allocate observation buffers through this single-dispatch hook;
    # registering it lets `gymnasium.make_vec` batch UnicodeText like it batches Text.
    return tuple("a" * space.min_length for _ in range(n))


create_empty_array.register(UnicodeText)(_empty_text_batch)
