"""TRL adapter: reward functions for ``trl.GRPOTrainer``, graded here or by the service.

::

    from trl import GRPOConfig, GRPOTrainer
    from rlvr_gym.trainer_adapter.adapters.trl import reward_funcs

    funcs = reward_funcs("rlvr_gym/Math-v0", format_weight=0.2)  # remote="host:50051"
    GRPOTrainer(model=..., reward_funcs=funcs, args=GRPOConfig(...), train_dataset=ds)

Dataset columns (TRL passes every column to reward functions): ``answer`` (the gold) for
``rlvr_gym/Math-v0``; for code envs ``task_id`` (looked up in the env's dataset) or
``task`` (an inline ``Code-v0`` task, a dict or its JSON text); ``column=`` names another.
Remote scoring sends one ``ScoreBatch`` per TRL call: the whole batch, a task each.

Masking: a reward function may return ``None`` for a sample; ``GRPOTrainer`` turns it into
NaN and is NaN-aware (``trl/trainer/grpo_trainer.py``, ``_calculate_rewards`` and the
advantage code: ``nanmean``/``nanstd`` per group, ``nansum`` across functions). A sample
for which *every* function returned ``None`` is "unscorable": excluded from its group's
mean and std, its advantage forced to 0 (huggingface/trl#5902). A sample for which only
*some* functions returned ``None`` is trained on the others' sum, so ``None`` from the
accuracy function alone would leave the format reward standing: a correct answer lost to
a sandbox crash would be graded "well formatted, wrong". That is why the format function
made here returns ``None`` wherever the accuracy function does (they share one scoring of
the batch), so a masked sample is masked whole.

Failures are returned, not raised, because an exception in a reward function ends the
``trainer.train()`` call; see :mod:`._scoring` for which remote errors still raise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from rlvr_gym.errors import ConfigError
from rlvr_gym.rewards.format import FormatConfig, format_reward
from rlvr_gym.rewards.math.reward import completion_text
from rlvr_gym.rewards.types import RewardResult
from rlvr_gym.trainer_adapter.adapters._scoring import MATH_ENV_ID, Scorer, is_masked

__all__ = ["AccuracyReward", "FormatReward", "reward_funcs", "trl_reward_func"]

RewardFunc = Callable[..., list[float | None]]


class _Batch:
    """Scores one TRL batch once for every function that asks (accuracy, then format).

    Why keyed on the ``completions`` object: GRPOTrainer hands the same list to each
    reward function of a step, and keeping a reference makes a stale hit impossible.
    """

    def __init__(self, scorer: Scorer, env_id: str, columns: tuple[str, ...]) -> None:
        self.scorer, self.env_id, self.columns = scorer, env_id, columns
        self._fresh()

    def _fresh(self) -> None:
        self._lock = threading.Lock()
        self._completions: object = None
        self._results: list[RewardResult] = []

    def results(self, completions: Sequence[Any], columns: dict[str, Any]) -> list[RewardResult]:
        with self._lock:
            if completions is not self._completions:
                texts = [completion_text(c) for c in completions]
                self._results = self.scorer.score(self.env_id, self._golds(columns), texts)
                self._completions = completions
            return self._results

    def _golds(self, columns: dict[str, Any]) -> list[Any]:
        """Each row's gold from the first of the columns that has one (``task_id``, ``task``)."""
        present = [list(columns[n]) for n in self.columns if columns.get(n) is not None]
        if present:
            return [next((c[i] for c in present if c[i] is not None), None)
                    for i in range(len(present[0]))]  # fmt: skip
        given = sorted(k for k in columns if k not in ("trainer_state", "log_extra", "log_metric"))
        raise ConfigError(
            f"{self.env_id} needs a dataset column {' or '.join(map(repr, self.columns))} "
            f"(the gold answer or task); the batch has {given}"
        )

    def __getstate__(self) -> dict[str, Any]:
        return {"scorer": self.scorer, "env_id": self.env_id, "columns": self.columns}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.scorer, self.env_id, self.columns = state["scorer"], state["env_id"], state["columns"]
        self._fresh()


class AccuracyReward:
    """TRL reward function: the env's accuracy reward, ``None`` where it was not computed."""

    def __init__(self, batch: _Batch, name: str) -> None:
        self._batch = batch
        self.__name__ = name  # TRL logs ``rewards/<__name__>/mean``

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        """One reward per completion; ``None`` masks an ``infra_error``/``timeout``."""
        results = self._batch.results(completions, columns)
        log_metric = columns.get("log_metric")  # recent TRL: scalar metrics from rewards
        if callable(log_metric) and results:
            masked = sum(is_masked(r) for r in results) / len(results)
            log_metric(f"rewards/{self.__name__}/masked_frac", masked)
        return [None if is_masked(r) else r.reward for r in results]

    def close(self) -> None:
        """Release the scorer's workers or channel (shared with the format function)."""
        self._batch.scorer.close()


class FormatReward:
    """TRL reward function: ``weight`` x the R1 format reward, masked with the accuracy."""

    __name__ = "r1_format"

    def __init__(self, batch: _Batch, weight: float, config: FormatConfig | None = None) -> None:
        self._batch, self.weight, self.config = batch, weight, config or FormatConfig()

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        """One reward per completion; ``None`` wherever the accuracy reward is masked."""
        results = self._batch.results(completions, columns)
        return [None if is_masked(r) else self.weight * self._format(c)
                for r, c in zip(results, completions)]  # fmt: skip

    def _format(self, completion: Any) -> float:
        return format_reward(completion_text(completion), self.config).reward


def _columns(env_id: str, column: str | None) -> tuple[str, ...]:
    if column is not None:
        return (column,)
    return ("answer",) if env_id == MATH_ENV_ID else ("task_id", "task")


def _name(env_id: str) -> str:
    """``rlvr_gym/Math-v0`` -> ``math_accuracy``: the name TRL logs the reward under."""
    base = env_id.rsplit("/", 1)[-1].split("-v", 1)[0].lower() or "env"
    return f"{base}_accuracy"


def reward_funcs(
    env_id: str = MATH_ENV_ID,
    *,
    remote: str | Sequence[str] | None = None,
    token: str | None = None,
    format_weight: float | None = None,
    format_config: FormatConfig | None = None,
    column: str | None = None,
    **reward_kwargs: Any,
) -> list[RewardFunc]:
    """TRL reward functions for ``env_id``: accuracy, plus the R1 format reward if weighted.

    Args:
        env_id: a scorable env (``rlvr_gym/Math-v0``, ``rlvr_gym/Code-v0``,
            ``rlvr_gym/HumanEval-v0``, ...).
        remote: reward server ``host:port`` (or several, or a gRPC target); ``None``
            grades in this process.
        token: bearer token for the server.
        format_weight: add a format function returning ``format_weight`` x the R1 format
            reward (``None``: accuracy only). Weighting here, not with
            ``GRPOConfig.reward_weights``, keeps the list's length independent of it.
        format_config: what counts as well formatted (default: ``<think>…</think>`` then
            a non-empty answer).
        column: the dataset column holding golds or tasks (default: ``answer`` for math,
            ``task_id`` then ``task`` for code).
        **reward_kwargs: scorer options: locally ``workers``, ``deadline_s``, ``data_path``
            (code datasets), ``backend`` (sandbox); remotely ``timeout_s``, ``retry``,
            ``tls``.

    Returns:
        The functions, sharing one scorer: workers or the channel start on the first
        call; ``funcs[0].close()`` releases them (they are also released at exit).

    Raises:
        ConfigError: an option that does not apply where the scoring happens.
    """
    scorer = Scorer(remote, token=token, **reward_kwargs)
    batch = _Batch(scorer, env_id, _columns(env_id, column))
    funcs: list[RewardFunc] = [AccuracyReward(batch, _name(env_id))]
    if format_weight is not None:
        funcs.append(FormatReward(batch, format_weight, format_config))
    return funcs


def trl_reward_func(
    env_id: str = MATH_ENV_ID, *, remote: str | Sequence[str] | None = None, **kwargs: Any
) -> AccuracyReward:
    """The accuracy function alone (``reward_funcs(...)[0]``), for ``reward_funcs=fn``."""
    if "format_weight" in kwargs:
        raise ConfigError("trl_reward_func is accuracy only; use reward_funcs(format_weight=...)")
    func = reward_funcs(env_id, remote=remote, **kwargs)[0]
    assert isinstance(func, AccuracyReward)
    return func
