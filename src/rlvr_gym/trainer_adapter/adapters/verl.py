"""verl adapter: ``compute_score`` for verl's ``custom_reward_function``.

Point verl at it (``reward.custom_reward_function`` in recent verl, top-level
``custom_reward_function`` in older releases)::

    custom_reward_function.path=pkg://rlvr_gym.trainer_adapter.adapters.verl
    custom_reward_function.name=compute_score

verl releases without ``pkg://`` (``verl.utils.import_utils.load_module``) load a file:
give ``python -c "import rlvr_gym.trainer_adapter.adapters.verl as m; print(m.__file__)"``.
With ``reward_manager=batch`` use ``name=compute_score_batch`` (one call, and one
``ScoreBatch``, per chunk instead of per response).

What is graded, by ``data_source``: ``rlvr_gym/<Env>-v<N>`` names the env; a source that
looks like code (``code``, ``apps``, ``taco``, ``humaneval``, ``mbpp``, ``leetcode``,
``livecodebench``, ``primeintellect`` in its name) is ``rlvr_gym/Code-v0`` with
``ground_truth`` a task id or an inline task (dict or JSON text); everything else
(``openai/gsm8k``, ``lighteval/MATH``, ``math500``, ...) is ``rlvr_gym/Math-v0`` with
``ground_truth`` the gold answer. ``solution_str`` is the decoded response alone.

Settings (verl fixes the signature, and calls it in Ray worker processes), first found
wins: ``custom_reward_function.reward_kwargs`` (verl passes them to every call: ``remote``,
``token``, ``env_id``, ``format_weight``); :func:`configure` in the worker process; the
environment variables ``RLVR_GYM_REMOTE``, ``RLVR_GYM_TOKEN``, ``RLVR_GYM_ENV``,
``RLVR_GYM_FORMAT_WEIGHT`` (set them in Ray's ``runtime_env`` so workers inherit them).
One scorer per process, started on first call and closed at exit.

Return value: always a dict with the same keys, because verl gathers every key of every
sample into per-key lists (``reward_extra_info``) that must line up with the batch:
``score`` (the reward), ``acc`` (1.0 when correct), ``status``, ``masked``, ``extracted``.
None is never returned as a value: verl's validation metrics average every non-string
key (``verl/trainer/ppo/metric_utils.py``, ``process_validation_metrics``).

Masking: verl has no per-sample mask for rule-based rewards. Its reward managers
(``verl/workers/reward_manager/naive.py``, ``verl/experimental/reward_loop/``) take
``score`` (or ``result["score"]``) as a number and write it into the token-level reward
tensor, so ``None`` fails and NaN flows into GRPO's group mean and std, poisoning every
advantage of the group. A masked sample (``infra_error``/``timeout``) therefore comes back
with ``score`` 0.0, ``masked`` True and its ``status``: it is trained on as a zero, which
the ``masked`` mean in verl's logs makes visible; filter on it in a custom reward
manager, or keep the rate at zero by sizing the reward service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rlvr_gym.rewards.types import RewardResult, Status
from rlvr_gym.trainer_adapter.adapters._scoring import (
    CODE_ENV_ID,
    MATH_ENV_ID,
    PROCESS,
    Settings,
    is_masked,
    with_format,
)

__all__ = ["compute_score", "compute_score_batch", "configure", "env_for"]

_EXTRACTED_CHARS = 256  # kept per sample in verl's batch: a program need not be, whole
_CODE_HINTS = (
    "code", "apps", "taco", "humaneval", "mbpp", "leetcode", "livecodebench", "primeintellect",
)  # fmt: skip


def configure(
    *,
    remote: str | Sequence[str] | None = None,
    token: str | None = None,
    env_id: str | None = None,
    format_weight: float = 0.0,
    **options: Any,
) -> None:
    """Set how :func:`compute_score` grades in this process (instead of the env vars).

    Args:
        remote: reward server ``host:port`` (or several); ``None`` grades in-process.
        token: bearer token for the server.
        env_id: grade every sample with this env, whatever its ``data_source``.
        format_weight: add this weight times the R1 format reward to the score.
        **options: scorer options (locally ``workers``, ``deadline_s``, ``data_path``,
            ``backend``; remotely ``timeout_s``, ``retry``, ``tls``).
    """
    target = remote if remote is None or isinstance(remote, str) else tuple(remote)
    PROCESS.configure(Settings(target, token, env_id, format_weight, dict(options)))


def env_for(data_source: str) -> str:
    """The env id that grades samples of ``data_source`` (see the module docstring)."""
    if data_source.startswith("rlvr_gym/"):
        return data_source
    lowered = data_source.lower()
    return CODE_ENV_ID if any(hint in lowered for hint in _CODE_HINTS) else MATH_ENV_ID


def _entry(result: RewardResult, response: str, weight: float) -> dict[str, Any]:
    masked = is_masked(result)
    return {
        "score": 0.0 if masked else float(with_format(result, response, weight)),
        "acc": 1.0 if result.status is Status.CORRECT else 0.0,
        "status": result.status.value,
        "masked": masked,
        "extracted": (result.extracted or "")[:_EXTRACTED_CHARS],
    }


def compute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Score a chunk, verl's batch contract (``reward_manager=batch``): a dict per response.

    Samples are grouped by env, and each group is one scoring call (one ``ScoreBatch``
    when remote).

    Raises:
        RemoteError: the server refused the batch for a reason no retry can fix.
    """
    settings = PROCESS.settings(**kwargs)
    scorer = PROCESS.scorer(settings)
    envs = [settings.env_id or env_for(str(source)) for source in data_sources]
    out: list[dict[str, Any] | None] = [None] * len(solution_strs)
    for env_id in dict.fromkeys(envs):
        chosen = [i for i, e in enumerate(envs) if e == env_id]
        responses = [str(solution_strs[i]) for i in chosen]
        results = scorer.score(env_id, [ground_truths[i] for i in chosen], responses)
        for i, result, response in zip(chosen, results, responses):
            out[i] = _entry(result, response, settings.format_weight)
    return [entry for entry in out if entry is not None]


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Score one response, verl's ``compute_score(data_source, solution_str, ...)`` contract.

    ``kwargs`` are verl's ``custom_reward_function.reward_kwargs`` (``remote``,
    ``token``, ``env_id``, ``format_weight``); others verl adds are ignored.

    Raises:
        RemoteError: the server refused the request for a reason no retry can fix.
    """
    return compute_score_batch([data_source], [solution_str], [ground_truth], [extra_info],
                               **kwargs)[0]  # fmt: skip
