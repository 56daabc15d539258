"""OpenRLHF adapter: ``reward_func`` for ``--remote_rm_url <file>.py``.

OpenRLHF loads the file given to ``--remote_rm_url`` (any path ending in ``.py``) and
calls its ``reward_func(queries, prompts, labels)``; give it this module's file::

    RM=$(python -c "import rlvr_gym.trainer_adapter.adapters.openrlhf as m; print(m.__file__)")
    ... --remote_rm_url "$RM" --label_key answer

``queries`` are prompt + response decoded together (special tokens kept), ``prompts`` the
prompts as generated from, ``labels`` the ``--label_key`` column: the math gold, or for
code a task id or an inline task's JSON. The env is ``rlvr_gym/Math-v0`` unless
:func:`configure` or ``RLVR_GYM_ENV`` says otherwise; ``RLVR_GYM_REMOTE`` (and
``RLVR_GYM_TOKEN``, ``RLVR_GYM_FORMAT_WEIGHT``) grade through the reward service. One
scorer per process (thread-safe: recent OpenRLHF calls ``reward_func`` from threads, one
sample per call), started on first call and closed at exit.

Return value: OpenRLHF's dict form (``examples/python/reward_func.py``,
``openrlhf/trainer/ppo_utils/experience_maker.py`` and ``samples_generator.py``):
``rewards`` (a float tensor, one per query, used for the advantages; accuracy plus the
weighted format reward), ``scores`` (the accuracy alone, in [0, 1], used by dynamic
filtering) and ``extra_logs`` (per-sample tensors, logged). Releases old enough to
expect a bare tensor from ``reward_func`` are not supported.

Masking: OpenRLHF has no per-sample mask; a reward must be a number. A masked sample
(``infra_error``/``timeout``) gets ``rewards`` 0.0 (finite: NaN there would poison the
advantages of the whole group) and ``scores`` NaN. With dynamic filtering on
(``--dynamic_filtering``, ``algo.dynamic_filtering_enable`` in newer releases) a group is
kept only when ``min_r < mean(scores) < max_r`` (``ppo_utils/dynamic_filtering.py``), which
is false for a NaN mean, so a group holding a masked sample is dropped and replaced,
never trained on. Without it the sample trains as a zero; ``extra_logs["rlvr_masked"]``
(1.0 when masked) shows how often.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rlvr_gym.errors import ConfigError
from rlvr_gym.rewards.types import Status
from rlvr_gym.trainer_adapter.adapters._scoring import (
    MATH_ENV_ID,
    PROCESS,
    Settings,
    is_masked,
    with_format,
)

if TYPE_CHECKING:
    import torch

__all__ = ["configure", "response_of", "reward_func"]

_END_MARKERS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "</s>",
                "<｜end▁of▁sentence｜>")  # fmt: skip


def configure(
    *,
    remote: str | Sequence[str] | None = None,
    token: str | None = None,
    env_id: str = MATH_ENV_ID,
    format_weight: float = 0.0,
    **options: Any,
) -> None:
    """Set how :func:`reward_func` grades in this process (instead of the env vars).

    Args:
        remote: reward server ``host:port`` (or several); ``None`` grades in-process.
        token: bearer token for the server.
        env_id: the env grading every sample.
        format_weight: add this weight times the R1 format reward to the reward.
        **options: scorer options (locally ``workers``, ``deadline_s``, ``data_path``,
            ``backend``; remotely ``timeout_s``, ``retry``, ``tls``).
    """
    target = remote if remote is None or isinstance(remote, str) else tuple(remote)
    PROCESS.configure(Settings(target, token, env_id, format_weight, dict(options)))


def response_of(query: str, prompt: str) -> str:
    """The response in ``query``: the text after ``prompt``, end-of-text markers removed.

    ``query`` is the prompt and response tokens decoded together, which usually starts
    with the prompt text; when decoding added something before it (a BOS token) the text
    after the prompt's first occurrence is taken (a response repeating the question must
    not cut itself short), and when the prompt cannot be found at all the whole query is
    graded (the graders read the final answer, at the end).
    """
    if prompt and query.startswith(prompt):
        response = query[len(prompt) :]
    elif prompt and prompt in query:
        response = query[query.index(prompt) + len(prompt) :]
    else:
        response = query
    response = response.rstrip()
    stripped = True
    while stripped:
        stripped = False
        for marker in _END_MARKERS:
            if response.endswith(marker):
                response, stripped = response[: -len(marker)].rstrip(), True
    return response


def reward_func(
    queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any], **kwargs: Any
) -> dict[str, Any]:
    """OpenRLHF's ``reward_func(queries, prompts, labels)``: rewards, scores and logs.

    Raises:
        RemoteError: the server refused the request for a reason no retry can fix.
    """
    import torch

    if not len(queries) == len(prompts) == len(labels):
        raise ConfigError(
            f"got {len(queries)} queries, {len(prompts)} prompts and {len(labels)} labels"
        )
    settings = PROCESS.settings()
    responses = [response_of(q, p) for q, p in zip(queries, prompts)]
    results = PROCESS.scorer(settings).score(settings.env_id or MATH_ENV_ID, labels, responses)
    masked = [is_masked(r) for r in results]
    rewards = [0.0 if m else with_format(r, text, settings.format_weight)
               for r, m, text in zip(results, masked, responses)]  # fmt: skip

    def tensor(values: Sequence[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.float32)

    return {
        "rewards": tensor(rewards),
        "scores": tensor([float("nan") if m else r.reward for r, m in zip(results, masked)]),
        "extra_logs": {
            "rlvr_accuracy": tensor([1.0 if r.status is Status.CORRECT else 0.0 for r in results]),
            "rlvr_masked": tensor([1.0 if m else 0.0 for m in masked]),
        },
    }
